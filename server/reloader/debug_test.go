package reloader

import "testing"

func TestDebugLines(t *testing.T) {
	for line, want := range map[string]int{
		"django-runserver: debugpy adapter listening on 127.0.0.1:5678": 5678,
		"django-runserver: debugpy adapter listening on 127.0.0.1:x":    0,
		"django-runserver: debugpy adapter listening on 127.0.0.1:0":    0,
		"debugpy adapter listening on 127.0.0.1:5678":                   0,
	} {
		host, port, ok := DebugListening(line)
		if ok != (want != 0) || port != want || ok && host != "127.0.0.1" {
			t.Errorf("DebugListening(%q) = %q, %d, %v", line, host, port, ok)
		}
	}
	if !DebugNotAttached("django-runserver: no debugger attached within 15 s") || DebugNotAttached("no debugger attached") {
		t.Error("DebugNotAttached misreads the bootstrap's line")
	}
}
