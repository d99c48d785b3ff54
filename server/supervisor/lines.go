package supervisor

import (
	"bufio"
	"io"
	"strings"
	"unicode/utf8"
)

// MaxLine caps one output line. Longer lines are cut there and marked, so a
// child printing without newlines cannot grow our memory.
const MaxLine = 64 * 1024

// Truncated marks a line cut at MaxLine.
const Truncated = "…"

// ScanLines calls fn for each line of r until EOF, without line endings.
// Invalid UTF-8 is replaced, so every line is safe to send as JSON.
func ScanLines(r io.Reader, max int, fn func(string)) {
	br := bufio.NewReaderSize(r, 16*1024)
	var line []byte
	cut := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !cut {
			room := max - len(line)
			if len(chunk) > room {
				line = append(line, chunk[:room]...)
				cut = true
			} else {
				line = append(line, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if len(line) > 0 || err == nil {
			s := strings.TrimRight(string(line), "\r\n")
			if cut {
				s = strings.ToValidUTF8(trimPartialRune(s), "\uFFFD") + Truncated
			} else {
				s = strings.ToValidUTF8(s, "\uFFFD")
			}
			fn(s)
		}
		line, cut = line[:0], false
		if err != nil {
			return
		}
	}
}

// trimPartialRune drops a rune cut in half at the end of s.
func trimPartialRune(s string) string {
	for i := 0; i < utf8.UTFMax && len(s) > 0; i++ {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != utf8.RuneError || size != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}
