package session

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
)

// Fuzz targets for the frame and message handling: the tolerant framer
// (stream, validate) and a whole session fed arbitrary bytes.

func fzFrame(body string) []byte {
	return []byte(fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body))
}

func fzSeeds(f *testing.F) {
	for _, s := range [][]byte{
		fzFrame(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`),
		fzFrame(`{"jsonrpc":"2.0","method":"initialized","params":{}}`),
		fzFrame(`{"jsonrpc":"2.0","id":2,"method":"runserver/status"}`),
		fzFrame(`[{"jsonrpc":"2.0","id":3,"method":"runserver/status"},{"jsonrpc":"2.0","method":"x"}]`),
		fzFrame(`{"jsonrpc":"2.0","id":4,"method":"runserver/start","params":{"folder":42}}`),
		fzFrame(`{"jsonrpc":"2.0","id":5,"method":"shutdown"}`),
		fzFrame(`{"jsonrpc":"2.0","method":"exit"}`),
		fzFrame(`{"jsonrpc":"2.0","id":6,"method":"runserver/status","params":` + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + `}`),
		fzFrame("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"\xff\xfe\"}"),
		[]byte("Content-Length: 9\r\n\r\n{\"broken\""),
		[]byte("Content-Length: 99999999999999999999\r\n\r\n{}"),
		[]byte("Content-Length: 67108865\r\n\r\n"),
		[]byte("Content-Length: -1\r\n\r\n"),
		[]byte("Content-Type: text/plain\r\n\r\n"),
		[]byte("Content-Length: 40\r\n\r\n{\"jsonrpc\":\"2.0\","),
		[]byte("\r\n\r\n\r\nContent-Length:2\n\n{}"),
		append([]byte("X-Long: "), bytes.Repeat([]byte("x"), 20000)...),
	} {
		f.Add(s)
	}
}

// FuzzStreamFrames reads arbitrary bytes through the tolerant framer: it
// never panics, every frame it returns is a valid JSON-RPC message, every
// rejection it writes is a well-formed error response, and it ends only at
// the end of the input.
func FuzzStreamFrames(f *testing.F) {
	fzSeeds(f)
	old := maxFrame
	maxFrame = 1 << 20 // keep each run small; the logic is the same
	f.Cleanup(func() { maxFrame = old })
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		s := newStream(io.NopCloser(bytes.NewReader(data)), nopCloser{&out})
		for i := 0; ; i++ {
			if i > len(data)+1 {
				t.Fatalf("more frames than input bytes")
			}
			body, n, err := s.ReadFrame(context.Background())
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, io.EOF) {
					t.Fatalf("read ended with %v, want EOF", err)
				}
				break
			}
			if n <= 0 || int(n) > len(data) {
				t.Fatalf("frame of %d bytes counted from %d bytes of input", n, len(data))
			}
			if perr := validate(body); perr != nil {
				t.Fatalf("returned a frame that validate rejects: %v", perr)
			}
		}
		fzCheckResponses(t, out.Bytes(), true)
	})
}

// fzCheckResponses parses what the backend wrote: Content-Length frames
// of JSON. With rejections, every frame must be an error response.
func fzCheckResponses(t *testing.T, out []byte, rejections bool) int {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(out))
	n := 0
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF && line == "" {
			return n
		}
		if err != nil {
			t.Fatalf("output ends inside a header: %q", line)
		}
		v, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "Content-Length: ")
		if !ok {
			t.Fatalf("output header %q", line)
		}
		size, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("output length %q", v)
		}
		if blank, _ := r.ReadString('\n'); blank != "\r\n" {
			t.Fatalf("no blank line after the header: %q", blank)
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(r, body); err != nil {
			t.Fatalf("output body cut short: %v", err)
		}
		if !json.Valid(body) {
			t.Fatalf("output body is not JSON: %q", body)
		}
		if rejections {
			var resp struct {
				ID    any             `json:"id"`
				Error *jsonrpc2.Error `json:"error"`
			}
			if err := json.Unmarshal(body, &resp); err != nil || resp.Error == nil || resp.ID != nil {
				t.Fatalf("a rejection that is not an error response with id null: %s", body)
			}
		}
		n++
	}
}

// FuzzValidate: validate never panics, and what it accepts, jsonrpc2
// decodes.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"m","params":{}}`, `{"jsonrpc":"2.0","id":"x","result":null}`,
		`{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}}`, `[{"jsonrpc":"2.0","method":"m"}]`,
		`[]`, `{}`, `{"jsonrpc":1}`, `{"jsonrpc":"2.0","method":7}`, `  [ {"jsonrpc":"2.0","id":null,"method":"m"} ]`,
		`{"jsonrpc":"2.0","id":1.5,"method":"m"}`, `{"jsonrpc":"2.0","id":{"a":1},"method":"m"}`, "\"\xff\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if perr := validate(body); perr != nil {
			if perr.Code != jsonrpc2.ParseError && perr.Code != jsonrpc2.InvalidRequest {
				t.Fatalf("code %d", perr.Code)
			}
			return
		}
		if strings.HasPrefix(strings.TrimSpace(string(body)), "[") {
			if _, err := jsonrpc2.ParseRequests(body); err != nil {
				t.Fatalf("accepted a batch jsonrpc2 cannot parse: %v", err)
			}
			return
		}
		if _, err := jsonrpc2.DecodeMessage(body); err != nil {
			t.Fatalf("accepted a message jsonrpc2 cannot decode: %v", err)
		}
	})
}

// FuzzSession feeds arbitrary bytes to a whole session, then closes its
// input: it never panics, answers only in well-formed frames, and returns
// promptly (it never hangs).
func FuzzSession(f *testing.F) {
	fzSeeds(f)
	init := fzFrame(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"workspaceFolders":[{"uri":"file:///nonexistent/fuzz-ws","name":"ws"}]}}`)
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":2,"method":"runserver/status"}`,
		`{"jsonrpc":"2.0","id":2,"method":"runserver/start","params":{"folder":"file:///nonexistent/fuzz-ws"}}`,
		`{"jsonrpc":"2.0","method":"textDocument/didSave","params":{"textDocument":{"uri":"file:///nonexistent/fuzz-ws/x.py"}}}`,
		`{"jsonrpc":"2.0","method":"workspace/didChangeConfiguration","params":{"settings":{"djangoRunserver":{"args":1,"env":[]}}}}`,
		`{"jsonrpc":"2.0","method":"workspace/didChangeWorkspaceFolders","params":{"event":{"added":[{"uri":"relative"}],"removed":[{"uri":"http://x"}]}}}`,
	} {
		f.Add(append(append([]byte{}, init...), fzFrame(s)...))
	}
	old := maxFrame
	maxFrame = 1 << 20
	f.Cleanup(func() { maxFrame = old })
	f.Fuzz(func(t *testing.T, data []byte) {
		inR, inW := io.Pipe()
		outR, outW := io.Pipe()
		done := make(chan int, 1)
		go func() {
			done <- Serve(context.Background(), inR, outW, log.New(io.Discard, "", 0))
			outW.Close()
		}()
		var out bytes.Buffer
		read := make(chan struct{})
		go func() { _, _ = io.Copy(&out, outR); close(read) }()
		go func() { _, _ = inW.Write(data); inW.Close() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("the session did not end within 20 s of its input closing")
		}
		<-read
		inR.Close()
		fzCheckResponses(t, out.Bytes(), false)
	})
}
