package session

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
)

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func TestStreamAnswersBadFramesAndGoesOn(t *testing.T) {
	defer func(old int) { maxFrame = old }(maxFrame)
	maxFrame = 64
	good := `{"jsonrpc":"2.0","id":1,"method":"runserver/status"}`
	input := strings.Join([]string{
		"Content-Length: 5\r\n\r\n{nope",
		"Content-Length: 13\r\n\r\n{\"jsonrpc\":1}",
		"Content-Length: 100\r\n\r\n" + strings.Repeat("x", 100),
		"Content-Length: -3\r\n\r\n",
		"no colon here\r\nContent-Length: 2\r\n\r\n{}",
		"\r\nContent-Length: " + strconv.Itoa(len(good)) + "\r\n\r\n" + good,
	}, "")
	var out bytes.Buffer
	s := newStream(io.NopCloser(strings.NewReader(input)), nopCloser{&out})
	body, _, err := s.ReadFrame(context.Background())
	if err != nil || string(body) != good {
		t.Fatalf("ReadFrame = %q, %v; want the good frame after the bad ones", body, err)
	}
	replies := strings.Count(out.String(), `"id":null,"error":{`)
	if replies != 5 {
		t.Errorf("%d error replies, want 5, one per bad frame:\n%s", replies, out.String())
	}
	for _, want := range []string{`"code":-32700`, `"code":-32600`, "larger than the 64 byte limit", "malformed header line"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("replies lack %s:\n%s", want, out.String())
		}
	}
	if _, _, err := s.ReadFrame(context.Background()); err != io.EOF {
		t.Errorf("at the end: %v, want EOF", err)
	}
}
