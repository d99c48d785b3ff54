package fakeeditor

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/django-runserver/django-runserver/protocol"
)

// A fake backend for the editor's own tests: "test/emit" sends the given
// statuses, "test/ask" asks the user and replies with the title chosen,
// "test/quit" ends the session with exit code 7.
const (
	methodEmit = "test/emit"
	methodAsk  = "test/ask"
	methodQuit = "test/quit"
)

func fakeServe(ctx context.Context, r io.ReadCloser, w io.WriteCloser, logger *log.Logger) int {
	conn := jsonrpc2.NewConn(jsonrpc2.NewHeaderStream(pipe{r, w}))
	code := make(chan int, 1)
	conn.Go(ctx, func(ctx context.Context, req *jsonrpc2.Request) (any, error) {
		params := append(json.RawMessage(nil), req.Params()...)
		switch req.Method() {
		case methodEmit:
			var sts []protocol.Status
			if err := json.Unmarshal(params, &sts); err != nil {
				return nil, err
			}
			for _, st := range sts {
				_ = conn.Notify(ctx, protocol.MethodDidChangeStatus, st)
			}
			return nil, nil
		case methodAsk:
			jsonrpc2.Async(ctx) // it calls the editor back
			var item *protocol.MessageActionItem
			if _, err := conn.Call(ctx, protocol.MethodShowMessageRequest, protocol.ShowMessageRequestParams{
				Type: protocol.MessageError, Message: "Port 8000 is in use.",
				Actions: []protocol.MessageActionItem{{Title: "Use port 8001"}, {Title: "Cancel"}},
			}, &item); err != nil {
				return nil, err
			}
			if item == nil {
				return "", nil
			}
			return item.Title, nil
		case methodQuit:
			logger.Print("quitting")
			code <- 7
			return nil, nil
		case protocol.MethodShutdown:
			return nil, nil
		case protocol.MethodExit:
			code <- 0
		}
		return nil, nil
	})
	c := <-code
	conn.Close()
	return c
}

func emit(t *testing.T, ed *Editor, sts ...protocol.Status) {
	t.Helper()
	if err := ed.Call(methodEmit, sts, nil); err != nil {
		t.Fatal(err)
	}
}

func TestAwaitIsMetByALaterMessage(t *testing.T) {
	env := New(t, fakeServe)
	from := env.Mark()
	emit(t, env.Editor, protocol.Status{State: protocol.StateStarting})
	// The running status comes while the test waits, or before: either way
	// the wait sees it.
	go func() {
		_ = env.Editor.Call(methodEmit, []protocol.Status{{State: protocol.StateRunning, PID: 42}}, nil)
	}()
	if st := env.AwaitState(from, "", protocol.StateRunning); st.PID != 42 {
		t.Errorf("found %+v, want the running status with pid 42", st)
	}
	if got := env.States(from, ""); len(got) != 2 {
		t.Errorf("states since the mark = %v, want starting and running", got)
	}
}

func TestAwaitStopsOnAFailure(t *testing.T) {
	ed := InProcess(fakeServe)
	defer ed.Shutdown(10 * time.Second)
	from := ed.Mark()
	emit(t, ed, protocol.Status{State: protocol.StateStarting}, protocol.Status{State: protocol.StateFailed, Error: &protocol.Error{Code: protocol.CodeStartupFailed, Message: "SyntaxError"}})
	began := time.Now()
	err := ed.Await(time.Minute, from, State("", protocol.StateRunning, nil))
	if err == nil || !strings.Contains(err.Error(), "cannot happen") || !strings.Contains(err.Error(), "SyntaxError") {
		t.Fatalf("err = %v, want state running unmeetable, naming the failure", err)
	}
	if time.Since(began) > 10*time.Second {
		t.Errorf("a failure took %s to end the wait", time.Since(began))
	}
	// Through failures, the same wait is merely unmet.
	if err := ed.Await(100*time.Millisecond, from, StateThrough("", protocol.StateRunning, nil)); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("err = %v, want a timeout", err)
	}
}

func TestAwaitEndsWhenTheBackendExits(t *testing.T) {
	ed := InProcess(fakeServe)
	defer ed.Shutdown(10 * time.Second)
	go func() { _ = ed.Notify(methodQuit, nil) }()
	err := ed.Await(time.Minute, 0, State("", protocol.StateRunning, nil))
	if err == nil || !strings.Contains(err.Error(), "the backend exited") {
		t.Fatalf("err = %v, want the backend exited", err)
	}
	if code, ok := ed.Exited(time.Second); !ok || code != 7 {
		t.Errorf("exit code %d (%v), want 7", code, ok)
	}
	if !strings.Contains(ed.Stderr(), "quitting") || !strings.Contains(ed.Trace(100), "quitting") {
		t.Errorf("the backend's log is missing from stderr or the trace:\n%s", ed.Trace(100))
	}
}

func TestAnswersShowMessageRequest(t *testing.T) {
	env := New(t, fakeServe)
	var title string
	env.Call(methodAsk, nil, &title)
	if title != "" {
		t.Errorf("with no answer set, the user chose %q", title)
	}
	env.Answer(func(p protocol.ShowMessageRequestParams) string { return p.Actions[0].Title })
	env.Call(methodAsk, nil, &title)
	if title != "Use port 8001" {
		t.Errorf("chosen %q, want the first action", title)
	}
	if got := env.Texts(0, protocol.MethodShowMessageRequest); len(got) != 2 || got[0] != "Port 8000 is in use." {
		t.Errorf("recorded requests = %q", got)
	}
	trace := env.Trace(100)
	for _, want := range []string{"-> test/ask", "<- window/showMessageRequest", "answer Use port 8001"} {
		if !strings.Contains(trace, want) {
			t.Errorf("trace lacks %q:\n%s", want, trace)
		}
	}
}
