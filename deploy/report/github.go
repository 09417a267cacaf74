package report

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
)

// githubWriter is the text format for a GitHub Actions log. The runner reads a line that starts
// with "::" as a workflow command, so text deploystep does not write (a task's log lines, AWS's
// messages, a service's events) could set outputs, masks or annotations. Before its first line it
// stops workflow commands with a random token (GitHub's "Stopping and starting workflow
// commands"); each failure (a failed check, the result of a run that did not succeed) resumes
// them for one ::error annotation, escaped as the runner reads it, and stops them again with a
// new token.
type githubWriter struct {
	mu    sync.Mutex
	w     io.Writer
	token string // commands are stopped with it ("": not yet)
}

// Report writes e as text, and a failure also as an ::error annotation.
func (r *githubWriter) Report(e Event) {
	if e.Level == "" {
		e.Level = levelOf(e)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	if r.token == "" {
		r.token = newToken()
		fmt.Fprintf(&b, "::stop-commands::%s\n", r.token)
	}
	b.WriteString(FormatText(e))
	if e.Level == LevelError {
		title := "deploystep"
		if s := e.Summary; s != nil {
			title = fmt.Sprintf("deploystep: %s (exit %d)", s.Result, s.ExitCode)
		}
		next := newToken()
		fmt.Fprintf(&b, "::%s::\n::error title=%s::%s\n::stop-commands::%s\n", r.token, escapeProperty(title), escapeData(e.Message), next)
		r.token = next
	}
	io.WriteString(r.w, b.String()) //nolint:errcheck // nowhere to report a broken log
}

// newToken is a token no output can guess.
func newToken() string {
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	return "deploystep-" + hex.EncodeToString(b)
}

// escapeData escapes a workflow command's message as the runner unescapes it.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
