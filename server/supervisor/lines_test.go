package supervisor

import (
	"strings"
	"testing"
)

func TestScanLinesCapsLongLines(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	input := "short\r\n" + long + "\nbad \xff byte\nlast without newline"
	var got []string
	ScanLines(strings.NewReader(input), 51, func(s string) { got = append(got, s) })
	if len(got) != 4 {
		t.Fatalf("lines = %q", got)
	}
	if got[0] != "short" {
		t.Errorf("line 1 = %q", got[0])
	}
	if !strings.HasSuffix(got[1], Truncated) || len(got[1]) > 51+len(Truncated) || strings.ContainsRune(got[1], '\uFFFD') {
		t.Errorf("long line = %q (%d bytes), want it cut at a rune boundary and marked", got[1], len(got[1]))
	}
	if got[2] != "bad \uFFFD byte" || got[3] != "last without newline" {
		t.Errorf("lines 3-4 = %q %q", got[2], got[3])
	}
}

func TestScanLinesHugeLineStaysBounded(t *testing.T) {
	var n, longest int
	ScanLines(strings.NewReader(strings.Repeat("x", 5<<20)+"\nok\n"), MaxLine, func(s string) {
		n++
		longest = max(longest, len(s))
	})
	if n != 2 || longest > MaxLine+len(Truncated) {
		t.Errorf("%d lines, longest %d bytes", n, longest)
	}
}
