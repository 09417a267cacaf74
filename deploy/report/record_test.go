package report

import (
	"strings"
	"testing"
)

// A record longer than GitHub's 1 MiB job summary is cut at a line, saying so, within the bound.
func TestRecordIsClippedToTheSummaryLimit(t *testing.T) {
	rec := strings.Repeat("| api | ecs-svc/7305418237069157375 | COMPLETED |\n", 100)
	if got := clipRecord(rec, len(rec)); got != rec {
		t.Fatal("a record within the bound was changed")
	}
	got := clipRecord(rec, 1000)
	if len(got) > 1000 || !strings.HasSuffix(got, "has all of it.*\n") || !strings.Contains(got, "COMPLETED |\n\n*The record is cut here at 1000 bytes") {
		t.Fatalf("clipped to %d bytes:\n%s", len(got), got)
	}
}
