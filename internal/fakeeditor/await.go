package fakeeditor

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
)

// Verdict is what an expectation makes of the messages so far.
type Verdict int

// The verdicts.
const (
	// Unmet: not yet; wait for more messages.
	Unmet Verdict = iota
	// Met: the expectation holds.
	Met
	// Unmeetable: it never will; stop waiting.
	Unmeetable
)

// An Expectation is a condition on the messages received since a mark.
// Check is run again on each message that arrives.
type Expectation struct {
	Check       func(msgs []Message) Verdict
	Description string
}

// Mark is a position in the messages received, to wait for what comes after.
func (ed *Editor) Mark() int {
	ed.mu.Lock()
	defer ed.mu.Unlock()
	return len(ed.msgs)
}

// Since returns the messages received since the mark from.
func (ed *Editor) Since(from int) []Message {
	ed.mu.Lock()
	defer ed.mu.Unlock()
	return append([]Message(nil), ed.msgs[from:]...)
}

// Await waits up to timeout until every expectation is met by the messages
// received since from. It checks them again on each message that arrives,
// so it neither polls nor sleeps; it gives up when one is unmeetable, when
// the time is out, or when the backend has exited.
func (ed *Editor) Await(timeout time.Duration, from int, exps ...Expectation) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		ed.mu.Lock()
		msgs, arrived := ed.msgs[from:len(ed.msgs):len(ed.msgs)], ed.arrived
		ed.mu.Unlock()
		unmet, err := check(msgs, exps)
		if err != nil || len(unmet) == 0 {
			return err
		}
		var why string
		select {
		case <-arrived:
			continue
		case <-deadline.C:
			why = fmt.Sprintf("timed out after %s", timeout)
		case <-ed.done:
			// The last messages may still be in the pipe: read them to its
			// end, then look once more.
			select {
			case <-ed.conn.Done():
			case <-time.After(time.Second):
			}
			if unmet, err := check(ed.Since(from), exps); err != nil || len(unmet) == 0 {
				return err
			}
			why = "the backend exited"
		}
		return fmt.Errorf("%s waiting for %s; states since: %s", why, strings.Join(unmet, " and "), Summary(msgs))
	}
}

// check returns the descriptions of the expectations msgs has not met yet,
// or an error for one it never will.
func check(msgs []Message, exps []Expectation) (unmet []string, err error) {
	for _, e := range exps {
		switch e.Check(msgs) {
		case Met:
		case Unmeetable:
			return nil, fmt.Errorf("%s cannot happen now; states since: %s", e.Description, Summary(msgs))
		default:
			unmet = append(unmet, e.Description)
		}
	}
	return unmet, nil
}

// Statuses decodes the statuses among msgs; of folder only, unless folder
// is "".
func Statuses(msgs []Message, folder string) []protocol.Status {
	var out []protocol.Status
	for _, m := range msgs {
		if m.Method != protocol.MethodDidChangeStatus {
			continue
		}
		var st protocol.Status
		if json.Unmarshal(m.Params, &st) != nil {
			continue
		}
		if folder == "" || st.Folder == fileuri.FromPath(folder) {
			out = append(out, st)
		}
	}
	return out
}

// Summary lists the states among msgs, each failure with its code, for a
// failure message.
func Summary(msgs []Message) string { return Describe(Statuses(msgs, "")) }

// Describe lists the states of sts, each failure with its code and message.
func Describe(sts []protocol.Status) string {
	var out []string
	for _, st := range sts {
		s := string(st.State)
		if st.Error != nil {
			s += "(" + string(st.Error.Code) + ": " + st.Error.Message + ")"
		}
		out = append(out, s)
	}
	return "[" + strings.Join(out, " ") + "]"
}

// LogLines decodes the runserver/log lines among msgs: Django's output.
func LogLines(msgs []Message) []protocol.LogParams {
	var out []protocol.LogParams
	for _, m := range msgs {
		if m.Method == protocol.MethodLog {
			var p protocol.LogParams
			if json.Unmarshal(m.Params, &p) == nil {
				out = append(out, p)
			}
		}
	}
	return out
}

// Texts decodes the message texts among msgs of method:
// window/showMessage, window/logMessage or window/showMessageRequest.
func Texts(msgs []Message, method string) []string {
	var out []string
	for _, m := range msgs {
		if m.Method == method {
			var p protocol.ShowMessageParams
			if json.Unmarshal(m.Params, &p) == nil {
				out = append(out, p.Message)
			}
		}
	}
	return out
}

// Diagnostics returns the latest diagnostics among msgs for the file uri,
// and whether there were any.
func Diagnostics(msgs []Message, uri string) ([]protocol.Diagnostic, bool) {
	var latest []protocol.Diagnostic
	found := false
	for _, m := range msgs {
		if m.Method != protocol.MethodPublishDiagnostics {
			continue
		}
		var p protocol.PublishDiagnosticsParams
		if json.Unmarshal(m.Params, &p) == nil && p.URI == uri {
			latest, found = p.Diagnostics, true
		}
	}
	return latest, found
}

// StatusWhere expects a status of folder ("" for any) that satisfies cond,
// through failures. If found is not nil, it receives the first such status.
func StatusWhere(folder, what string, cond func(protocol.Status) bool, found *protocol.Status) Expectation {
	return statusExpectation(folder, what, cond, found, false)
}

// Reach is StatusWhere for a server that must not fail first: a failure
// before the status makes it unmeetable.
func Reach(folder, what string, cond func(protocol.Status) bool, found *protocol.Status) Expectation {
	return statusExpectation(folder, what, cond, found, true)
}

func statusExpectation(folder, what string, cond func(protocol.Status) bool, found *protocol.Status, failFast bool) Expectation {
	return Expectation{
		Description: what,
		Check: func(msgs []Message) Verdict {
			for _, st := range Statuses(msgs, folder) {
				if cond(st) {
					if found != nil {
						*found = st
					}
					return Met
				}
				if failFast && st.State == protocol.StateFailed {
					return Unmeetable
				}
			}
			return Unmet
		},
	}
}

// State expects a status of folder ("" for any) in state; unless state is
// failed, a failure before it makes it unmeetable.
func State(folder string, state protocol.State, found *protocol.Status) Expectation {
	is := func(st protocol.Status) bool { return st.State == state }
	if state == protocol.StateFailed {
		return StatusWhere(folder, "state "+string(state), is, found)
	}
	return Reach(folder, "state "+string(state), is, found)
}

// StateThrough is State that waits through failures: for a server that
// recovers.
func StateThrough(folder string, state protocol.State, found *protocol.Status) Expectation {
	return StatusWhere(folder, "state "+string(state)+" (through failures)", func(st protocol.Status) bool { return st.State == state }, found)
}

// DiagnosticsWhere expects the latest diagnostics for the file uri since
// the mark to satisfy cond.
func DiagnosticsWhere(uri, what string, cond func([]protocol.Diagnostic) bool) Expectation {
	return Expectation{
		Description: "diagnostics on " + uri + ": " + what,
		Check: func(msgs []Message) Verdict {
			if d, ok := Diagnostics(msgs, uri); ok && cond(d) {
				return Met
			}
			return Unmet
		},
	}
}

// LogContains expects a line of Django's output that contains text.
func LogContains(text string) Expectation {
	return Expectation{
		Description: fmt.Sprintf("Django's output to say %q", text),
		Check: func(msgs []Message) Verdict {
			for _, l := range LogLines(msgs) {
				if strings.Contains(l.Text, text) {
					return Met
				}
			}
			return Unmet
		},
	}
}

// Count expects at least n messages of method.
func Count(method string, n int) Expectation {
	return Expectation{
		Description: fmt.Sprintf("%d messages %s", n, method),
		Check: func(msgs []Message) Verdict {
			for _, m := range msgs {
				if m.Method == method {
					if n--; n <= 0 {
						return Met
					}
				}
			}
			return Unmet
		},
	}
}

// AnyStatus expects a status of folder ("" for any).
func AnyStatus(folder string) Expectation {
	return StatusWhere(folder, "a status", func(protocol.Status) bool { return true }, nil)
}

// TextContains expects a message of method (window/showMessage and the
// like) whose text contains text.
func TextContains(method, text string) Expectation {
	return Expectation{
		Description: fmt.Sprintf("%s saying %q", method, text),
		Check: func(msgs []Message) Verdict {
			for _, s := range Texts(msgs, method) {
				if strings.Contains(s, text) {
					return Met
				}
			}
			return Unmet
		},
	}
}

// ErrorCode is the JSON-RPC error code of a reply's err, or 0.
func ErrorCode(err error) int64 {
	var e *jsonrpc2.Error
	if errors.As(err, &e) {
		return int64(e.Code)
	}
	return 0
}

// NamesSetting reports whether e says which setting it concerns: by its
// "setting" field, or, where the wire has none, by naming
// djangoRunserver.NAME in its message.
func NamesSetting(e *protocol.Error, name string) bool {
	if e == nil {
		return false
	}
	var fields struct {
		Setting string `json:"setting"`
	}
	if b, err := json.Marshal(e); err == nil && json.Unmarshal(b, &fields) == nil && fields.Setting != "" {
		return fields.Setting == name
	}
	return strings.Contains(e.Message, protocol.SettingsSection+"."+name)
}
