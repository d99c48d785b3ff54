package session

import (
	"context"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/engine"
)

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
