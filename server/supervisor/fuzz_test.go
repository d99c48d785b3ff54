package supervisor

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzScanLines: whatever a child prints, each line is valid UTF-8 with no
// newline, at most max bytes plus the cut mark, and lines that were not cut
// join back into the input.
func FuzzScanLines(f *testing.F) {
	f.Add([]byte("one\ntwo\r\nthree"), 8)
	f.Add([]byte(strings.Repeat("x", 100)+"\n"), 16)
	f.Add([]byte("\xff\xfe\n\xe2\x82"), 3)
	f.Add([]byte(strings.Repeat("ü", 40)), 7)
	f.Add([]byte("\n\n\r\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 1 || max > 1<<16 {
			max = 64
		}
		var lines []string
		ScanLines(bytes.NewReader(data), max, func(s string) { lines = append(lines, s) })
		cut := false
		for _, l := range lines {
			if !utf8.ValidString(l) {
				t.Fatalf("invalid UTF-8 line %q", l)
			}
			if strings.Contains(l, "\n") {
				t.Fatalf("line holds a newline: %q", l)
			}
			body, wasCut := strings.CutSuffix(l, Truncated)
			if wasCut && len(body) <= max {
				cut = true
			}
			if len(l) > max*3+len(Truncated) { // U+FFFD replacements may grow a byte to three
				t.Fatalf("line of %d bytes, cap %d", len(l), max)
			}
		}
		if !cut && utf8.Valid(data) && !bytes.Contains(data, []byte("\r")) {
			want := strings.TrimSuffix(string(data), "\n")
			if got := strings.Join(lines, "\n"); got != want && !(len(data) == 0 && len(lines) == 0) {
				t.Fatalf("lines %q do not join back to %q", lines, data)
			}
		}
	})
}
