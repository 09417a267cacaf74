package failure

import "strings"

// FirstLine is an error's first line, for a one-line message.
func FirstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// Clip shortens hostile values before they go into a message.
func Clip(s string) string { return ClipTo(s, 64) }

// ClipTo shortens s to at most n bytes, marked with "...".
func ClipTo(s string, n int) string {
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}

// ShortARN is an ARN's last part, after its last "/" (a service's name, a task's id).
func ShortARN(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// FirstPhrase is the start of an SDK error, which can run to hundreds of characters.
func FirstPhrase(err error) string {
	s := FirstLine(err)
	if i := strings.Index(s, ", "); i > 0 && i < 160 {
		s = s[:i]
	}
	return ClipTo(s, 160)
}
