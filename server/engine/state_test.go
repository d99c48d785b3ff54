package engine

import (
	"os"
	"strings"
	"testing"

	"github.com/django-runserver/django-runserver/protocol"
)

// A move outside the table is rejected: the lookup says so, the engine
// reports it to its badMove hook (the rig's fails the test), and in
// production the report is a warning in the server's log.
func TestMoveOutsideTheTableIsRejected(t *testing.T) {
	if _, err := next(protocol.StateStopped, evReady); err == nil {
		t.Fatal("stopped --ready--> running is allowed; the table says a stopped server has no process to be ready")
	}
	if _, err := next(protocol.StateStopping, evFail); err == nil {
		t.Fatal("stopping --fail--> failed is allowed; a stop wins over a failure")
	}
	if to, err := next(protocol.StateRunning, evReload); err != nil || to != protocol.StateReloading {
		t.Fatalf("running --reload--> = %s, %v; want reloading", to, err)
	}

	r := newRig(t, nil, nil)
	var reported []error
	call(r.e, func() bool {
		r.e.badMove = func(err error) { reported = append(reported, err) }
		r.e.transition(evReady) // from stopped
		return true
	})
	if len(reported) != 1 || !strings.Contains(reported[0].Error(), "from stopped on ready") {
		t.Fatalf("reported %v, want the move from stopped on ready", reported)
	}

	// Production: a warning that says what happened and what to do.
	call(r.e, func() bool {
		r.e.badMove = r.e.reportBadMove
		r.e.transition(evStop)  // from running, which the bad move left
		r.e.transition(evReady) // from stopping
		return true
	})
	if got := r.rec.texts(); !strings.Contains(got, "internal error: the engine moved from stopping on ready to running, a move its state table does not allow. Please report it") {
		t.Errorf("messages: %s", got)
	}
}

// Every event leads to one state, each state appears, and docs/design.md
// shows the table as the code has it.
func TestDesignShowsTheMachine(t *testing.T) {
	seen := map[protocol.State]bool{}
	for _, m := range machine {
		seen[m.to] = true
		for _, s := range m.from {
			seen[s] = true
		}
	}
	for _, s := range []protocol.State{protocol.StateStopped, protocol.StateStarting, protocol.StateRunning, protocol.StateReloading, protocol.StateStopping, protocol.StateFailed} {
		if !seen[s] {
			t.Errorf("the state table never mentions %s", s)
		}
	}
	doc, err := os.ReadFile("../../docs/design.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- state table: begin (TestDesignShowsTheMachine) -->\n```\n", "```\n<!-- state table: end -->"
	_, rest, ok := strings.Cut(string(doc), begin)
	block, _, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		t.Fatalf("docs/design.md has no state table between %q and %q", begin, end)
	}
	if want := renderMachine(); block != want {
		t.Errorf("docs/design.md's state table differs from the engine's (state.go); replace it with:\n%s", want)
	}
}
