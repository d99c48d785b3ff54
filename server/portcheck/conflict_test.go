package portcheck

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/django-runserver/django-runserver/protocol"
)

// fakeProber holds the ports of taken, each by holder.
type fakeProber struct {
	taken  map[int]bool
	holder *protocol.Holder
}

func (f fakeProber) Probe(a Address) error {
	if f.taken[a.Port] {
		return &BindError{Address: a, Code: protocol.CodePortInUse, Err: fmt.Errorf("address already in use")}
	}
	return nil
}

func (f fakeProber) Holder(int) *protocol.Holder { return f.holder }

func TestConflictNamesTheHolderAndAFreePort(t *testing.T) {
	p := fakeProber{taken: map[int]bool{8000: true, 8001: true}, holder: &protocol.Holder{PID: 4242, Command: "python manage.py runserver"}}
	a, _ := Parse("8000")
	perr := Conflict(p, a)
	if perr == nil {
		t.Fatal("no conflict on a taken port")
	}
	want := "Port 8000 is in use by PID 4242 (python manage.py runserver). Use port 8002, or stop that process."
	if perr.Message != want || perr.SuggestedAddress != "127.0.0.1:8002" || perr.Setting != "address" || perr.Port != 8000 {
		t.Errorf("conflict = %+v\nwant message %q, suggestion 127.0.0.1:8002, setting address", perr, want)
	}
	if free, _ := Parse("8002"); Conflict(p, free) != nil {
		t.Error("a free port conflicts")
	}
	unknown := fakeProber{taken: map[int]bool{8000: true}}
	if got := Conflict(unknown, a).Message; got != "Port 8000 is in use by another process. Use port 8001, or stop that process." {
		t.Errorf("unknown holder: %q", got)
	}
}

func TestDecideFollowsThePolicy(t *testing.T) {
	p := fakeProber{taken: map[int]bool{8000: true}, holder: &protocol.Holder{PID: 7}}
	a, _ := Parse("8000")
	perr := Conflict(p, a)
	if d := Decide(protocol.PortConflictFail, perr); d.Action != Fail {
		t.Errorf("fail: %+v", d)
	}
	d := Decide(protocol.PortConflictNextFree, perr)
	if d.Action != UseNext || d.Next.Port != 8001 || d.Notice != "Port 8000 is in use by PID 7. Starting on port 8001 instead." {
		t.Errorf("nextFree: %+v", d)
	}
	if d := Decide(protocol.PortConflictAsk, perr); d.Action != Ask || d.Offer != "Use port 8001" || d.Next.Port != 8001 {
		t.Errorf("ask: %+v", d)
	}
	// Nothing to suggest, or another error: fail whatever the policy.
	noRoom := *perr
	noRoom.SuggestedAddress = ""
	if d := Decide(protocol.PortConflictNextFree, &noRoom); d.Action != Fail {
		t.Errorf("no free port: %+v", d)
	}
	denied := FromDjango(p, protocol.CodePermissionDenied, a)
	if d := Decide(protocol.PortConflictAsk, denied); d.Action != Fail {
		t.Errorf("permission denied: %+v", d)
	}
}

// Messages say what to do in neutral words: no editor's setting, no flag.
func TestMessagesNameNoFaceOfTheProduct(t *testing.T) {
	a, _ := Parse("192.0.2.1:80")
	p := fakeProber{taken: map[int]bool{80: true, 81: true}}
	for _, code := range []protocol.ErrorCode{protocol.CodePortInUse, protocol.CodePermissionDenied, protocol.CodeAddressUnavailable, protocol.CodeInvalidAddress} {
		perr := FromDjango(p, code, a)
		if perr.Code != code || perr.Setting != "address" || perr.Message == "" {
			t.Errorf("%s: %+v", code, perr)
		}
		if strings.Contains(perr.Message, "djangoRunserver") || strings.Contains(perr.Message, " -") {
			t.Errorf("%s: %q names a setting or a flag", code, perr.Message)
		}
	}
	if m := FromDjango(p, protocol.CodeAddressUnavailable, a).Message; !strings.Contains(m, "192.0.2.1") {
		t.Errorf("address-unavailable does not name the address: %q", m)
	}
}

func TestClassifyLine(t *testing.T) {
	for file, want := range map[string]protocol.ErrorCode{
		"port-in-use-django32.txt":         protocol.CodePortInUse,
		"address-unavailable-django32.txt": protocol.CodeAddressUnavailable,
		"invalid-address-django32.txt":     protocol.CodeInvalidAddress,
	} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "django-output", file))
		if err != nil {
			t.Fatal(err)
		}
		var got protocol.ErrorCode
		for _, l := range strings.Split(string(b), "\n") {
			if c, ok := ClassifyLine(l); ok {
				got = c
			}
		}
		if got != want {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
	for line, want := range map[string]protocol.ErrorCode{
		"Error: You don't have permission to access that port.": protocol.CodePermissionDenied,
		"Error: That port is already in use.\r":                 protocol.CodePortInUse,
		`CommandError: "8000x" is not a valid port number.`:     protocol.CodeInvalidAddress,
		`CommandError: "::1" is not a valid IPv6 address.`:      protocol.CodeInvalidAddress,
	} {
		if got, _ := ClassifyLine(line); got != want {
			t.Errorf("%q: %q, want %q", line, got, want)
		}
	}
	for _, line := range []string{"That port is already in use.", "Starting development server at http://127.0.0.1:8000/", ""} {
		if c, ok := ClassifyLine(line); ok {
			t.Errorf("%q classified as %q", line, c)
		}
	}
}

// FuzzClassifyLine: any line classifies to nothing or to one of the four
// bind codes, and only lines that runserver's error prefixes start.
func FuzzClassifyLine(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "django-output", "*.txt"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	for _, e := range djangoBindErrors {
		f.Add("Error: " + e.text)
		f.Add("CommandError: \"x\" " + e.text)
	}
	f.Fuzz(func(t *testing.T, line string) {
		code, ok := ClassifyLine(line)
		if !ok {
			if code != "" {
				t.Fatalf("code %q without ok", code)
			}
			return
		}
		trimmed := strings.TrimSpace(line)
		if !strings.HasPrefix(trimmed, "Error: ") && !strings.HasPrefix(trimmed, "CommandError: ") {
			t.Fatalf("classified %q, which runserver's errors do not start", line)
		}
		switch code {
		case protocol.CodePortInUse, protocol.CodePermissionDenied, protocol.CodeAddressUnavailable, protocol.CodeInvalidAddress:
		default:
			t.Fatalf("unknown code %q", code)
		}
	})
}

// holdEnv makes this test binary a port holder: see TestMain.
const holdEnv = "PORTCHECK_TEST_HOLD"

func TestMain(m *testing.M) {
	if addr := os.Getenv(holdEnv); addr != "" {
		ln, err := net.Listen("tcp4", addr)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("listening")
		defer ln.Close()
		time.Sleep(10 * time.Minute) // until the test kills it
		return
	}
	os.Exit(m.Run())
}

// A holder whose arguments hold newlines, tabs and long text is named on
// one line, shortened.
func TestHolderCommandIsOneShortLine(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "first\nsecond\r\nthird", "\ttabbed", strings.Repeat("long-argument ", 30))
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=127.0.0.1:%d", holdEnv, port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	buf := make([]byte, len("listening"))
	if _, err := out.Read(buf); err != nil || string(buf) != "listening" {
		t.Fatalf("holder did not listen: %q %v", buf, err)
	}
	h := Holder(port)
	if h == nil {
		t.Skip("this system does not name port holders")
	}
	if h.PID != cmd.Process.Pid {
		t.Errorf("holder pid %d, want %d", h.PID, cmd.Process.Pid)
	}
	if strings.ContainsAny(h.Command, "\n\r\t\x00") || strings.Contains(h.Command, "  ") {
		t.Errorf("holder command is not one clean line: %q", h.Command)
	}
	if n := utf8.RuneCountInString(h.Command); n > maxCommand || !strings.HasSuffix(h.Command, "…") {
		t.Errorf("holder command has %d characters, want it cut to %d with an ellipsis: %q", n, maxCommand, h.Command)
	}
	if !strings.Contains(h.Command, "first second third tabbed long-argument") {
		t.Errorf("holder command lost its words: %q", h.Command)
	}
}
