package session

import (
	"context"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/engine"
	"github.com/django-runserver/django-runserver/server/fileuri"
)

// showDocumentTimeout bounds how long the backend waits for the editor to
// say whether it opened a file.
const showDocumentTimeout = 30 * time.Second

// notifier sends an engine's reports to the editor.
type notifier struct{ s *Session }

func (n *notifier) Status(st protocol.Status) { n.s.notify(protocol.MethodDidChangeStatus, st) }

func (n *notifier) Log(p protocol.LogParams) { n.s.notify(protocol.MethodLog, p) }

func (n *notifier) Diagnostics(uri string, diags []protocol.Diagnostic) {
	n.s.notify(protocol.MethodPublishDiagnostics, protocol.PublishDiagnosticsParams{URI: uri, Diagnostics: diags})
}

// ShowMessage sends m's neutral text: the editor points to a setting from
// the Setting of the failed status that carries it.
func (n *notifier) ShowMessage(m engine.Message) { n.s.showMessage(m.Type, m.Text) }

func (n *notifier) LogMessage(m engine.Message) {
	n.s.logger.Print(m.Text)
	n.s.notify(protocol.MethodLogMessage, protocol.ShowMessageParams{Type: m.Type, Message: m.Text})
}

func (n *notifier) Ask(ctx context.Context, typ protocol.MessageType, msg string, actions ...string) string {
	params := protocol.ShowMessageRequestParams{Type: typ, Message: msg}
	for _, a := range actions {
		params.Actions = append(params.Actions, protocol.MessageActionItem{Title: a})
	}
	var chosen *protocol.MessageActionItem
	if _, err := n.s.conn.Call(ctx, protocol.MethodShowMessageRequest, params, &chosen); err != nil || chosen == nil {
		return ""
	}
	return chosen.Title
}

func (n *notifier) DebugReady(p protocol.DebugReadyParams) { n.s.notify(protocol.MethodDebugReady, p) }

func (n *notifier) DebugGone(p protocol.DebugGoneParams) { n.s.notify(protocol.MethodDebugGone, p) }

// OpensFiles: a page's click opens the frame in the editor, if it declared
// window/showDocument.
func (n *notifier) OpensFiles() bool {
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	return n.s.showDocument
}

// OpenFile asks the editor to show path at line, focused, without waiting
// for its answer: the caller is a process's reader or a page's request.
func (n *notifier) OpenFile(path string, line int) {
	s := n.s
	at := protocol.Position{Line: line - 1}
	params := protocol.ShowDocumentParams{URI: fileuri.FromPath(path), TakeFocus: true, Selection: &protocol.Range{Start: at, End: at}}
	s.calls.Add(1)
	go func() {
		defer s.calls.Done()
		ctx, cancel := context.WithTimeout(s.callsCtx, showDocumentTimeout)
		defer cancel()
		var res protocol.ShowDocumentResult
		if _, err := s.conn.Call(ctx, protocol.MethodShowDocument, params, &res); err != nil {
			s.logger.Printf("cannot open %s, line %d, in the editor: %v", path, line, err)
		} else if !res.Success {
			s.logger.Printf("the editor did not open %s, line %d", path, line)
		}
	}()
}
