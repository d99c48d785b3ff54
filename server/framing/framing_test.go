package framing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func frame(body string) string { return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body) }

// A relay passes each frame on as it came: the header's own lines, in their
// own case and spacing, and the blank lines before it.
func TestReadKeepsTheHeaderAsItCame(t *testing.T) {
	header := "\r\ncontent-length:  2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n"
	r := NewReader(strings.NewReader(header+"{}"+frame("[]")), 64)
	h, body, err := r.Read()
	if err != nil || string(h) != header || string(body) != "{}" {
		t.Fatalf("Read = %q, %q, %v; want %q, \"{}\"", h, body, err, header)
	}
	if _, body, err := r.Read(); err != nil || string(body) != "[]" {
		t.Fatalf("second Read = %q, %v; want the second frame", body, err)
	}
	if _, _, err := r.Read(); err != io.EOF {
		t.Fatalf("at the end: %v, want EOF", err)
	}
}

// Each bad frame is skipped as a whole, with an *Error that says what was
// wrong, and the frame after it is read.
func TestReadSkipsBadFrames(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Content-Length: x\r\n\r\n", `invalid Content-Length "x"`},
		{"Content-Length: -1\r\n\r\n", `invalid Content-Length "-1"`},
		{"Content-Length: 0\r\n\r\n", "missing or zero Content-Length header"},
		{"Content-Type: text/plain\r\n\r\n", "missing or zero Content-Length header"},
		{"no colon here\r\nContent-Length: 2\r\n\r\n{}", `malformed header line "no colon here"`},
		{"Content-Length: 65\r\n\r\n" + strings.Repeat("x", 65), "frame of 65 bytes is larger than the 64 byte limit"},
		{"X-Long: " + strings.Repeat("x", MaxHeader) + "\r\nContent-Length: 2\r\n\r\n{}", "header longer than 65536 bytes"},
	} {
		r := NewReader(strings.NewReader(tc.in+frame(`"next"`)), 64)
		_, _, err := r.Read()
		var fe *Error
		if !errors.As(err, &fe) || fe.Msg != tc.want {
			t.Errorf("Read(%q) = %v, want the error %q", tc.in, err, tc.want)
			continue
		}
		if _, body, err := r.Read(); err != nil || string(body) != `"next"` {
			t.Errorf("after %q: Read = %q, %v; want the next frame", tc.in, body, err)
		}
	}
}

func TestReadEnds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"", io.EOF},
		{"\r\n\r\n", io.EOF}, // blank lines between frames are no frame
		{"Content-Le", io.ErrUnexpectedEOF},
		{"Content-Length: 2\r\n", io.ErrUnexpectedEOF},
		{"Content-Length: 50\r\n\r\n{\"jsonrpc\"", io.ErrUnexpectedEOF},
		{"Content-Length: 999999999999\r\n\r\n", io.EOF}, // too large, and its body missing
	} {
		if _, _, err := NewReader(strings.NewReader(tc.in), 64).Read(); err != tc.want {
			t.Errorf("Read(%q) = %v, want %v", tc.in, err, tc.want)
		}
	}
}

// FuzzRead: arbitrary bytes never make Read panic or loop; every frame it
// returns is a header and a body that stood in the input in that order, and
// it ends only at the end of the input.
func FuzzRead(f *testing.F) {
	for _, s := range []string{
		frame(`{"seq":1}`), frame("{}") + "\r\n" + frame("[]"), "Content-Length: 9\r\n\r\n{\"broken\"",
		"Content-Length: 99999999999999999999\r\n\r\n{}", "Content-Length: 1025\r\n\r\n", "\r\n\r\n\r\nContent-Length:2\n\n{}",
		"X-Long: " + strings.Repeat("x", 70000) + "\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), 1024)
		rest := data
		for i := 0; ; i++ {
			if i > len(data)+1 {
				t.Fatalf("more frames than input bytes")
			}
			header, body, err := r.Read()
			var fe *Error
			switch {
			case errors.As(err, &fe):
				continue
			case err == io.EOF || err == io.ErrUnexpectedEOF:
				return
			case err != nil:
				t.Fatalf("read ended with %v, want EOF", err)
			}
			at := bytes.Index(rest, append(append([]byte{}, header...), body...))
			if at < 0 || len(body) == 0 || len(body) > 1024 {
				t.Fatalf("frame %q + %q (%d bytes) is not the rest of the input %q", header, body, len(body), rest)
			}
			rest = rest[at+len(header)+len(body):]
		}
	})
}
