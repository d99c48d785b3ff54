// Package framing reads Content-Length framed messages: the base protocol
// of the JSON-RPC the editor speaks to the backend (LSP's framing) and of
// the Debug Adapter Protocol the debugger relay passes on.
//
// A frame is header lines ("Name: value"), a blank line, and a body of
// Content-Length bytes. A bad frame (a malformed header line, a missing,
// invalid or too large Content-Length, a header too long) is skipped as a
// whole and reported as an *Error, after which reading can go on with the
// next frame; the body of an oversized frame is skipped without being held
// in memory. Anything else (the end of the input, a body cut short) ends the
// stream.
package framing

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/django-runserver/django-runserver/server/internal/text"
)

// MaxHeader bounds one frame's header, every line of it, blank lines
// before it included: real headers hold one or two short lines.
const MaxHeader = 64 << 10

// Error is a bad frame that the reader skipped: the next Read starts at
// the frame after it.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// Reader reads frames from a stream.
type Reader struct {
	in     *bufio.Reader
	max    int
	header []byte
	body   []byte
	// overflow is set once a frame's header outgrew MaxHeader.
	overflow bool
}

// NewReader reads frames of at most max body bytes from r.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{in: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Read returns the next frame: its header as it came (blank lines before
// it included, so that a relay can pass every byte on), and its body. Both
// are valid until the next Read. It returns io.EOF at the end of the input
// between frames, io.ErrUnexpectedEOF inside one, and an *Error for a bad
// frame it skipped.
func (r *Reader) Read() (header, body []byte, err error) {
	r.header, r.overflow = r.header[:0], false
	length, started := -1, false
	var bad string
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF && (started || line != "") {
				return nil, nil, io.ErrUnexpectedEOF
			}
			return nil, nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if !started {
				if r.overflow { // a flood of blank lines: keep none of it
					r.header, r.overflow = r.header[:0], false
				}
				continue // a stray blank line between frames
			}
			break
		}
		started = true
		name, value, ok := strings.Cut(line, ":")
		switch {
		case !ok:
			bad = fmt.Sprintf("malformed header line %q", text.Truncate(line, 80))
		case strings.EqualFold(strings.TrimSpace(name), "Content-Length"):
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n < 0 {
				bad = fmt.Sprintf("invalid Content-Length %q", text.Truncate(strings.TrimSpace(value), 40))
			} else {
				length = n
			}
		}
		if r.overflow {
			bad = fmt.Sprintf("header longer than %d bytes", MaxHeader)
		}
	}
	switch {
	case bad != "":
		if length > 0 && length <= r.max {
			if _, err := r.in.Discard(length); err != nil {
				return nil, nil, err
			}
		}
		return nil, nil, &Error{bad}
	case length <= 0:
		return nil, nil, &Error{"missing or zero Content-Length header"}
	case length > r.max:
		if _, err := r.in.Discard(length); err != nil {
			return nil, nil, err
		}
		return nil, nil, &Error{fmt.Sprintf("frame of %d bytes is larger than the %d byte limit", length, r.max)}
	}
	if cap(r.body) < length {
		r.body = make([]byte, length)
	}
	body = r.body[:length]
	if _, err := io.ReadFull(r.in, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, nil, err
	}
	return r.header, body, nil
}

// maxLine bounds what is parsed of one header line.
const maxLine = 8 << 10

// readLine reads one header line, keeps it in r.header while that is
// within MaxHeader (else it sets r.overflow), and returns its first maxLine
// bytes. A stream of junk costs no memory.
func (r *Reader) readLine() (string, error) {
	var line []byte
	for {
		chunk, err := r.in.ReadSlice('\n')
		if len(r.header)+len(chunk) <= MaxHeader {
			r.header = append(r.header, chunk...)
		} else {
			r.overflow = true
		}
		if len(line) < maxLine {
			line = append(line, chunk[:min(len(chunk), maxLine-len(line))]...)
		}
		if err != bufio.ErrBufferFull {
			return string(line), err
		}
	}
}
