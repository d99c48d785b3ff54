package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncateCountsCharacters(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 5, "hello"},
		{"hello!", 5, "hell…"},
		{"héllo wörld", 6, "héllo…"},
		{"ééé", 3, "ééé"},
		{"éééé", 3, "éé…"},
		{"", 3, ""},
		{"abc", 0, ""},
		{"abc", 1, "…"},
	} {
		got := Truncate(tc.in, tc.n)
		if got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
		if utf8.RuneCountInString(got) > max(tc.n, 0) {
			t.Errorf("Truncate(%q, %d) = %q: longer than %d characters", tc.in, tc.n, got, tc.n)
		}
	}
}

// A holder's command line comes NUL-separated from /proc, and its
// arguments may hold newlines: it is shown on one line, shortened.
func TestOneLine(t *testing.T) {
	cmd := "python\x00-c\x00import socket\nimport time\r\n\ts = socket.socket()\x00\x00"
	got := OneLine(cmd, 200)
	if want := "python -c import socket import time s = socket.socket()"; got != want {
		t.Errorf("OneLine = %q, want %q", got, want)
	}
	long := OneLine(strings.Repeat("arg\n", 100), 40)
	if strings.ContainsAny(long, "\n\r\x00") || utf8.RuneCountInString(long) != 40 || !strings.HasSuffix(long, Ellipsis) {
		t.Errorf("OneLine(long) = %q (%d characters), want 40 on one line, ending in %q", long, utf8.RuneCountInString(long), Ellipsis)
	}
}

func TestFirstAndLastLineDropCarriageReturns(t *testing.T) {
	out := "\r\nMicrosoft Windows 6.1.7601\r\n(c) Microsoft\r\nlast words\r\n"
	if got := FirstLine(out, 200); got != "Microsoft Windows 6.1.7601" {
		t.Errorf("FirstLine = %q", got)
	}
	if got := LastLine(out, 200); got != "last words" {
		t.Errorf("LastLine = %q", got)
	}
	if got := FirstLine("single\r", 200); got != "single" {
		t.Errorf("FirstLine(single) = %q", got)
	}
	if got := LastLine("", 200); got != "" {
		t.Errorf("LastLine(\"\") = %q", got)
	}
	if got := FirstLine(strings.Repeat("x", 300), 10); got != "xxxxxxxxx…" {
		t.Errorf("FirstLine(long) = %q", got)
	}
}
