package session

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.lsp.dev/jsonrpc2"

	"github.com/django-runserver/django-runserver/server/internal/text"
)

// maxFrame bounds one message. A bigger frame is answered with an error and
// its body skipped without being held in memory.
var maxFrame = 64 << 20

// stream is LSP Content-Length framing that survives bad input: a frame
// with a broken header or a body that is not a JSON-RPC message is answered
// with an error response (id null), and reading goes on. jsonrpc2's own
// framer ends the connection on such input.
type stream struct {
	in  *bufio.Reader
	out jsonrpc2.Stream // writes, serialized by jsonrpc2's header stream
	rc  io.Closer
	buf []byte
}

func newStream(r io.ReadCloser, w io.WriteCloser) *stream {
	return &stream{
		in:  bufio.NewReaderSize(r, 64*1024),
		out: jsonrpc2.NewHeaderStream(writeOnly{w}),
		rc:  r,
	}
}

// writeOnly adapts a writer to the io.ReadWriteCloser jsonrpc2 wants; the
// session never reads through it.
type writeOnly struct{ io.WriteCloser }

func (writeOnly) Read([]byte) (int, error) { return 0, io.EOF }

// ReadFrame returns the next well-formed JSON-RPC frame.
func (s *stream) ReadFrame(ctx context.Context) ([]byte, int64, error) {
	for {
		body, n, err := s.readFrame()
		if err == nil {
			if perr := validate(body); perr != nil {
				s.reject(ctx, perr)
				continue
			}
			return body, n, nil
		}
		var fe *frameError
		if !errors.As(err, &fe) {
			return nil, 0, err
		}
		s.reject(ctx, jsonrpc2.NewError(jsonrpc2.ParseError, fe.Error()))
	}
}

// frameError is a bad frame the stream can recover from.
type frameError struct{ msg string }

func (e *frameError) Error() string { return e.msg }

func (s *stream) readFrame() ([]byte, int64, error) {
	length, consumed := -1, 0
	var bad string
	for {
		line, err := s.readHeaderLine()
		consumed += len(line)
		if err != nil {
			if err == io.EOF && consumed > 0 {
				return nil, 0, io.ErrUnexpectedEOF
			}
			return nil, 0, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if consumed <= 2 {
				consumed = 0 // a stray blank line between frames
				continue
			}
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			bad = fmt.Sprintf("malformed header line %q", text.Truncate(line, 80))
			continue
		}
		if strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n < 0 {
				bad = fmt.Sprintf("invalid Content-Length %q", text.Truncate(strings.TrimSpace(value), 40))
				continue
			}
			length = n
		}
	}
	switch {
	case bad != "":
		if length > 0 && length <= maxFrame {
			if _, err := s.in.Discard(length); err != nil {
				return nil, 0, err
			}
		}
		return nil, 0, &frameError{bad}
	case length <= 0:
		return nil, 0, &frameError{"missing or zero Content-Length header"}
	case length > maxFrame:
		if _, err := s.in.Discard(length); err != nil {
			return nil, 0, err
		}
		return nil, 0, &frameError{fmt.Sprintf("frame of %d bytes is larger than the %d byte limit", length, maxFrame)}
	}
	if cap(s.buf) < length {
		s.buf = make([]byte, length)
	}
	body := s.buf[:length]
	if _, err := io.ReadFull(s.in, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, 0, err
	}
	return body, int64(consumed + length), nil
}

// maxHeaderLine bounds a header line; the rest of a longer one is skipped.
const maxHeaderLine = 8 << 10

func (s *stream) readHeaderLine() (string, error) {
	var line []byte
	for {
		chunk, err := s.in.ReadSlice('\n')
		if len(line) < maxHeaderLine {
			line = append(line, chunk[:min(len(chunk), maxHeaderLine-len(line))]...)
		}
		if err != bufio.ErrBufferFull {
			return string(line), err
		}
	}
}

// validate checks that body is one JSON-RPC message or a batch of them.
func validate(body []byte) *jsonrpc2.Error {
	if !json.Valid(body) {
		return jsonrpc2.NewError(jsonrpc2.ParseError, "the frame's body is not valid JSON")
	}
	trimmed := strings.TrimSpace(string(body[:min(len(body), 16)]))
	if strings.HasPrefix(trimmed, "[") {
		if _, err := jsonrpc2.ParseRequests(body); err != nil {
			return jsonrpc2.NewError(jsonrpc2.InvalidRequest, "the batch is not a JSON-RPC batch: "+err.Error())
		}
		return nil
	}
	if _, err := jsonrpc2.DecodeMessage(body); err != nil {
		return jsonrpc2.NewError(jsonrpc2.InvalidRequest, "the frame is not a JSON-RPC 2.0 message: "+err.Error())
	}
	return nil
}

func (s *stream) reject(ctx context.Context, e *jsonrpc2.Error) {
	_, _ = s.out.Write(ctx, jsonrpc2.NewResponse(jsonrpc2.ID{}, nil, e))
}

// Read implements jsonrpc2.Stream.
func (s *stream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	body, n, err := s.ReadFrame(ctx)
	if err != nil {
		return nil, 0, err
	}
	msg, err := jsonrpc2.DecodeMessage(body)
	return msg, n, err
}

// Write implements jsonrpc2.Stream.
func (s *stream) Write(ctx context.Context, msg jsonrpc2.Message) (int64, error) {
	return s.out.Write(ctx, msg)
}

// WriteFrame writes an encoded body as one frame (for batch replies).
func (s *stream) WriteFrame(ctx context.Context, data []byte) (int64, error) {
	type frameWriter interface {
		WriteFrame(context.Context, []byte) (int64, error)
	}
	return s.out.(frameWriter).WriteFrame(ctx, data)
}

// Close implements jsonrpc2.Stream.
func (s *stream) Close() error {
	err := s.out.Close()
	if rerr := s.rc.Close(); err == nil {
		err = rerr
	}
	return err
}
