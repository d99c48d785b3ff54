package session

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
	"github.com/django-runserver/django-runserver/server/portcheck"
)

// mysiteOnAHeldPort copies mysite and picks a free port, which another
// process then holds on host: it returns the copy, the port and the
// holder's pid.
func mysiteOnAHeldPort(t *testing.T, host string) (dir string, port, holder int) {
	t.Helper()
	dir = testenv.Project(t, "mysite")
	port = testenv.FreePort(t)
	return dir, port, holdPort(t, host, port)
}

// holdPort starts another process listening on host:port and returns its pid.
func holdPort(t *testing.T, host string, port int) int {
	t.Helper()
	family := "AF_INET"
	if strings.Contains(host, ":") {
		family = "AF_INET6"
	}
	script := fmt.Sprintf(`import socket, sys, time
s = socket.socket(socket.%s)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((%q, %d))
s.listen()
print("listening", flush=True)
time.sleep(600)
`, family, host, port)
	cmd := exec.Command(testenv.Python(t), "-c", script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.Contains(line, "listening") {
		t.Fatalf("the port holder did not start: %q %v", line, err)
	}
	return cmd.Process.Pid
}

func TestPortHeldByAnotherProcess(t *testing.T) {
	for _, tc := range []struct{ name, host, address string }{
		{"ipv4", "127.0.0.1", "127.0.0.1:%d"},
		{"ipv6", "::1", "[::1]:%d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, port, holder := mysiteOnAHeldPort(t, tc.host)
			c := fakeeditor.New(t, Serve)
			address := fmt.Sprintf(tc.address, port)
			c.Initialize(settings(t, port, "address", address, "onPortConflict", "fail"), dir)
			var st protocol.Status
			c.Call(protocol.MethodStart, nil, &st)
			e := st.Error
			if st.State != protocol.StateFailed || e == nil || e.Code != protocol.CodePortInUse || st.PID != 0 {
				t.Fatalf("start = %s %+v pid %d, want failed port-in-use before spawning", st.State, e, st.PID)
			}
			if e.Holder == nil || e.Holder.PID != holder || !strings.Contains(e.Holder.Command, "python") {
				t.Errorf("holder = %+v, want pid %d running python", e.Holder, holder)
			}
			suggested, err := portcheck.Parse(e.SuggestedAddress)
			if err != nil || suggested.Port <= port || suggested.Host != tc.host {
				t.Errorf("suggestedAddress = %q, want %s on a port above %d", e.SuggestedAddress, tc.host, port)
			} else if portcheck.Probe(suggested) != nil {
				t.Errorf("suggested %s is not free", e.SuggestedAddress)
			}
			want := fmt.Sprintf("Port %d is in use by PID %d (", port, holder)
			if !strings.HasPrefix(e.Message, want) || !strings.Contains(e.Message, fmt.Sprintf("Use port %d", suggested.Port)) {
				t.Errorf("message %q, want it to start %q and offer port %d", e.Message, want, suggested.Port)
			}
			manage := fileuri.FromPath(filepath.Join(dir, "manage.py"))
			d := c.AwaitDiagnostics(manage, "the bind error", func(d []protocol.Diagnostic) bool { return len(d) == 1 })[0]
			if d.Range.Start.Line != 0 || d.Severity != protocol.SeverityError || d.Code != "port-in-use" || d.Source != "runserver" {
				t.Errorf("diagnostic = %+v, want an Error on manage.py line 1", d)
			}
		})
	}
}

// TestBindErrorNamesTheAddressSetting: the backend speaks to any editor, so
// it puts a bind error on manage.py line 1 and says which setting it
// concerns; an editor moves it to the line that sets the address (the VS
// Code extension does, shown by its own tests).
func TestBindErrorNamesTheAddressSetting(t *testing.T) {
	dir, port, _ := mysiteOnAHeldPort(t, "127.0.0.1")
	settingsJSON := filepath.Join(dir, ".vscode", "settings.json")
	os.MkdirAll(filepath.Dir(settingsJSON), 0o755)
	os.WriteFile(settingsJSON, []byte(fmt.Sprintf("{\n  \"editor.tabSize\": 4,\n  \"djangoRunserver.address\": \"127.0.0.1:%d\"\n}\n", port)), 0o644)
	c := fakeeditor.New(t, Serve)
	c.Initialize(settings(t, port, "onPortConflict", "fail"), dir)
	c.Call(protocol.MethodStart, nil, nil)
	manage := fileuri.FromPath(filepath.Join(dir, "manage.py"))
	d := c.AwaitDiagnostics(manage, "the bind error", func(d []protocol.Diagnostic) bool { return len(d) == 1 })[0]
	if d.Range.Start.Line != 0 || d.Data == nil || d.Data.Setting != "address" {
		t.Errorf("diagnostic = %+v, want manage.py line 1 with data.setting \"address\"", d)
	}
}

func TestNextFreeStartsOnTheSuggestedPort(t *testing.T) {
	dir, port, _ := mysiteOnAHeldPort(t, "127.0.0.1")
	c := fakeeditor.New(t, Serve)
	c.Initialize(settings(t, port, "onPortConflict", "nextFree"), dir)
	from := c.Mark()
	var st protocol.Status
	c.Call(protocol.MethodStart, nil, &st)
	running := c.AwaitState(from, "", protocol.StateRunning)
	a, _ := portcheck.Parse(running.Address)
	if a.Port <= port {
		t.Fatalf("running on %s, want a port above the held %d", running.Address, port)
	}
	testenv.WaitBody(t, running.URL, "Django Runserver sample")
	msgs := strings.Join(c.Texts(from, protocol.MethodShowMessage), "\n")
	if !strings.Contains(msgs, fmt.Sprintf("Port %d is in use", port)) || !strings.Contains(msgs, fmt.Sprintf("Starting on port %d instead", a.Port)) {
		t.Errorf("showMessage = %q, want it to say the port was taken and which is used", msgs)
	}
}

func TestAskOffersTheSuggestedPort(t *testing.T) {
	dir, port, _ := mysiteOnAHeldPort(t, "127.0.0.1")
	c := fakeeditor.New(t, Serve)
	asked := make(chan protocol.ShowMessageRequestParams, 1)
	c.Answer(func(p protocol.ShowMessageRequestParams) string {
		asked <- p
		for _, a := range p.Actions {
			if strings.HasPrefix(a.Title, "Use port ") {
				return a.Title
			}
		}
		return ""
	})
	c.Initialize(settings(t, port), dir) // onPortConflict defaults to ask
	from := c.Mark()
	c.Call(protocol.MethodStart, nil, nil)
	var p protocol.ShowMessageRequestParams
	select {
	case p = <-asked:
	case <-time.After(30 * time.Second):
		t.Fatal("no window/showMessageRequest")
	}
	if p.Type != protocol.MessageError || !strings.Contains(p.Message, fmt.Sprintf("Port %d is in use by PID", port)) {
		t.Errorf("request = %+v, want an Error naming the port and its holder", p)
	}
	running := c.AwaitStateThrough(from, "", protocol.StateRunning)
	a, _ := portcheck.Parse(running.Address)
	if fmt.Sprintf("Use port %d", a.Port) != p.Actions[0].Title {
		t.Errorf("running on %s after choosing %q", running.Address, p.Actions[0].Title)
	}
	testenv.WaitBody(t, running.URL, "Django Runserver sample")
}

// A port taken after our probe but before Django binds is reported from
// Django's own message.
func TestPortTakenAfterTheProbe(t *testing.T) {
	dir := testenv.Project(t, "mysite")
	port := testenv.FreePort(t)
	c := fakeeditor.New(t, Serve)
	c.Initialize(settings(t, port, "onPortConflict", "fail"), dir)
	from := c.Mark()
	var st protocol.Status
	c.Call(protocol.MethodStart, nil, &st)
	if st.State != protocol.StateStarting {
		t.Fatalf("start = %s, want starting", st.State)
	}
	// Django is importing the project and running its checks: take the
	// port now, before it binds.
	ln, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	failed := c.AwaitState(from, "", protocol.StateFailed)
	e := failed.Error
	if e == nil || e.Code != protocol.CodePortInUse || e.Holder == nil || e.Holder.PID != os.Getpid() {
		t.Fatalf("error = %+v, want port-in-use held by this test (pid %d)", e, os.Getpid())
	}
	var logs []string
	for _, l := range c.LogLines(from) {
		logs = append(logs, l.Text)
	}
	log := strings.Join(logs, "\n")
	if !strings.Contains(log, "Error: That port is already in use.") {
		t.Errorf("Django's own message was not seen; the log was:\n%s", log)
	}

	// Freeing the port and starting again clears the diagnostic.
	ln.Close()
	from = c.Mark()
	c.Call(protocol.MethodStart, nil, nil)
	c.AwaitState(from, "", protocol.StateRunning)
	c.AwaitDiagnostics(fileuri.FromPath(filepath.Join(dir, "manage.py")), "cleared", func(d []protocol.Diagnostic) bool { return len(d) == 0 })
}

func TestAddressNotOnThisMachine(t *testing.T) {
	dir := testenv.Project(t, "mysite")
	c := fakeeditor.New(t, Serve)
	c.Initialize(settings(t, 0, "address", "192.0.2.1:8000"), dir)
	var st protocol.Status
	c.Call(protocol.MethodStart, nil, &st)
	if st.State != protocol.StateFailed || st.Error == nil || st.Error.Code != protocol.CodeAddressUnavailable {
		t.Fatalf("start = %s %+v, want failed address-unavailable", st.State, st.Error)
	}
	if !strings.Contains(st.Error.Message, "192.0.2.1") || !fakeeditor.NamesSetting(st.Error, "address") {
		t.Errorf("message %q should name the address and the setting", st.Error.Message)
	}
}

func TestInvalidAddressesNeverSpawnPython(t *testing.T) {
	dir := testenv.Project(t, "mysite")
	marker := filepath.Join(t.TempDir(), "python-ran")
	python := filepath.Join(t.TempDir(), "python")
	os.WriteFile(python, []byte("#!/bin/sh\ntouch "+marker+"\nexec "+testenv.Python(t)+" \"$@\"\n"), 0o755)
	c := fakeeditor.New(t, Serve)
	c.Initialize(map[string]any{"python": python}, dir)
	for _, address := range []string{"abc", "8000x", "[::1", "127.0.0.1:", ":8000", "1.2.3.4.5:80", "127.0.0.1:70000", "0", "[zz]:80", "localhost:8000:1", "http://127.0.0.1:8000", "999.1.1.1:80"} {
		var st protocol.Status
		c.Call(protocol.MethodStart, protocol.StartParams{Address: address}, &st)
		if st.State != protocol.StateFailed || st.Error == nil || st.Error.Code != protocol.CodeInvalidAddress {
			t.Errorf("start on %q = %s %+v, want failed invalid-address", address, st.State, st.Error)
			continue
		}
		if !strings.Contains(st.Error.Message, "[::1]:8000") {
			t.Errorf("message for %q does not list the accepted forms: %q", address, st.Error.Message)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("Python was run for an invalid address")
	}
}

func TestWildcardAddressWarns(t *testing.T) {
	dir := testenv.Project(t, "mysite")
	port := testenv.FreePort(t)
	c := fakeeditor.New(t, Serve)
	c.Initialize(settings(t, port, "address", fmt.Sprintf("0:%d", port)), dir)
	running := c.StartRunning("")
	if running.Address != fmt.Sprintf("0.0.0.0:%d", port) || running.URL != fmt.Sprintf("http://127.0.0.1:%d/", port) {
		t.Errorf("running on %s (%s), want 0.0.0.0:%d browsed at loopback", running.Address, running.URL, port)
	}
	testenv.WaitBody(t, running.URL, "Django Runserver sample")
	d := c.AwaitDiagnostics(fileuri.FromPath(filepath.Join(dir, "manage.py")), "a warning", func(d []protocol.Diagnostic) bool { return len(d) == 1 })[0]
	if d.Severity != protocol.SeverityWarning || !strings.Contains(d.Message, "other machines on your network") {
		t.Errorf("diagnostic = %+v, want a Warning about the network", d)
	}
}
