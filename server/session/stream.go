package session

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"go.lsp.dev/jsonrpc2"

	"github.com/django-runserver/django-runserver/server/framing"
)

// maxFrame bounds one message. A bigger frame is answered with an error and
// its body skipped without being held in memory.
var maxFrame = 64 << 20

// stream is the editor's JSON-RPC connection, read so that it survives bad
// input: a frame with a broken header or a body that is not a JSON-RPC
// message is answered with an error response (id null), and reading goes
// on. jsonrpc2's own framer ends the connection on such input.
type stream struct {
	in  *framing.Reader
	out jsonrpc2.Stream // writes, serialized by jsonrpc2's header stream
	rc  io.Closer
}

func newStream(r io.ReadCloser, w io.WriteCloser) *stream {
	return &stream{
		in:  framing.NewReader(r, maxFrame),
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
		header, body, err := s.in.Read()
		if err == nil {
			if perr := validate(body); perr != nil {
				s.reject(ctx, perr)
				continue
			}
			return body, int64(len(header) + len(body)), nil
		}
		var fe *framing.Error
		if !errors.As(err, &fe) {
			return nil, 0, err
		}
		s.reject(ctx, jsonrpc2.NewError(jsonrpc2.ParseError, fe.Error()))
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
