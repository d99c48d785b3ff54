//go:build unix

package livetest

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// serveDaphne serves testdata/livesite with Daphne's runserver first in
// INSTALLED_APPS, as Django's docs tell Channels projects, and returns
// once the status says Daphne's runserver runs.
func serveDaphne(t *testing.T, d testenv.Django, extra ...any) *server {
	t.Helper()
	testenv.NeedDaphne(t, d)
	s := serveWith(t, d, map[string]string{"LIVESITE_RUNSERVER": "daphne"}, extra...)
	s.st = s.ed.AwaitStatusWithin(30*time.Second, 0, "", "Daphne's runserver said", func(st protocol.Status) bool {
		return st.State == protocol.StateRunning && st.Runserver != nil
	})
	if rs := s.st.Runserver; rs.Server != protocol.ServerDaphne || rs.Command != "daphne.management.commands.runserver" {
		t.Fatalf("status runserver = %+v, want Daphne's", rs)
	}
	return s
}

// Under Daphne, as under runserver's server: a page requested every 10 ms
// through 20 saved Python edits, none failing, and a POST sent while no
// process serves reaching the view once. Daphne serves on the kept socket
// and drains before each reload (asgi.py).
func TestDaphneNoRequestFailsDuringReloads(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, d testenv.Django) {
		s := serveDaphne(t, d)
		if !s.st.BrowserReload || s.st.BrowserReloadNote != "" || len(s.st.Runserver.Off) != 0 {
			t.Errorf("running status: browserReload=%v note=%q off=%+v; Daphne has every feature", s.st.BrowserReload, s.st.BrowserReloadNote, s.st.Runserver.Off)
		}
		s.ed.Await(0, fakeeditor.TextContains(protocol.MethodLogMessage, browserClaim))
		if page := testenv.GetPage(t, s.base+"/", 200); !strings.Contains(page, "/__django_runserver__/live.js") {
			t.Errorf("Daphne's page lacks the reload script the log claims:\n%s", page)
		}
		reloadUnderRequests(t, s, d)
	})
}

// A client of the project's Channels consumer (livesite/consumers.py,
// routed at /ws) under Daphne: an edit to the consumer closes it cleanly,
// with 1001 (going away), when the server reloads; it reconnects to the
// new process, and the edited consumer answers it.
func TestDaphneWebSocketReconnectsToTheEditedConsumer(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, d testenv.Django) {
		s := serveDaphne(t, d)
		ws := dialWebSocket(t, s.base, "/ws")
		first := ws.text(t)
		if !strings.HasPrefix(first, "pid ") {
			t.Fatalf("the consumer said %q, want its process id", first)
		}
		if reply := ws.ask(t, "hello"); reply != "echo v1: hello" {
			t.Fatalf("the consumer replied %q, want %q", reply, "echo v1: hello")
		}
		s.reloaded(s.editFile("consumers.py", `REPLY = "echo v1"`, `REPLY = "echo v2"`))
		if code := ws.closeCode(t); code != 1001 {
			t.Errorf("the WebSocket was closed with %d, want 1001 (going away)", code)
		}
		again := dialWebSocket(t, s.base, "/ws")
		if second := again.text(t); second != fmt.Sprintf("pid %d", s.st.PID) || second == first {
			t.Errorf("after the reload the consumer said %q, want the new process %d (before: %q)", second, s.st.PID, first)
		}
		if reply := again.ask(t, "hello"); reply != "echo v2: hello" {
			t.Errorf("the reconnected client got %q, want the edited consumer's %q", reply, "echo v2: hello")
		}
	})
}

// webSocket is the client side of a WebSocket, enough for the test: text
// and close frames from the server, unfragmented.
type webSocket struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialWebSocket(t *testing.T, base, path string) *webSocket {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	conn, err := net.DialTimeout("tcp", host, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: %s\r\n\r\n", path, host, base)
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("WebSocket handshake: %s", resp.Status)
	}
	return &webSocket{conn: conn, r: r}
}

// frame reads one frame: its opcode and payload.
func (w *webSocket) frame(t *testing.T) (byte, []byte) {
	t.Helper()
	var head [2]byte
	if _, err := io.ReadFull(w.r, head[:]); err != nil {
		t.Fatalf("read a WebSocket frame: %v", err)
	}
	n := uint64(head[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		io.ReadFull(w.r, ext[:])
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		io.ReadFull(w.r, ext[:])
		n = binary.BigEndian.Uint64(ext[:])
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(w.r, payload); err != nil {
		t.Fatalf("read a WebSocket frame: %v", err)
	}
	return head[0] & 0x0f, payload
}

func (w *webSocket) text(t *testing.T) string {
	t.Helper()
	op, payload := w.frame(t)
	if op != 0x1 {
		t.Fatalf("WebSocket frame with opcode %d, want text", op)
	}
	return string(payload)
}

// ask sends text in a masked frame, as a client must, and returns the
// server's next text frame.
func (w *webSocket) ask(t *testing.T, text string) string {
	t.Helper()
	if len(text) > 125 {
		t.Fatalf("ask sends short texts only, not %d bytes", len(text))
	}
	mask := [4]byte{0x12, 0x34, 0x56, 0x78}
	frame := append([]byte{0x81, 0x80 | byte(len(text))}, mask[:]...)
	for i := 0; i < len(text); i++ {
		frame = append(frame, text[i]^mask[i%4])
	}
	if _, err := w.conn.Write(frame); err != nil {
		t.Fatalf("send %q on the WebSocket: %v", text, err)
	}
	return w.text(t)
}

// closeCode reads until the server's close frame, answers it as a client
// must (masked), and returns its code.
func (w *webSocket) closeCode(t *testing.T) int {
	t.Helper()
	for {
		op, payload := w.frame(t)
		if op != 0x8 {
			continue
		}
		code := 1005 // no code
		if len(payload) >= 2 {
			code = int(binary.BigEndian.Uint16(payload))
		}
		reply := []byte{0x88, 0x82, 0, 0, 0, 0, payload[0], payload[1]} // a zero mask leaves the code as is
		w.conn.Write(reply)
		return code
	}
}

// Under Daphne, reloads start warm, from the preloader that set Django up
// ahead: neither preloader imports Daphne's server module, which makes an
// event loop and installs Twisted's reactor as it loads; each server loads
// it for itself.
func TestDaphneReloadsWarm(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, d testenv.Django) {
		s := serveDaphne(t, d)
		s.ed.Await(0, fakeeditor.TextContains(protocol.MethodLogMessage, "set Django up ahead:"))
		s.save("v1", "v2")
		testenv.WaitBody(t, s.base+"/version", "v2")
		if s.st.Start != protocol.StartWarm || !s.st.SetUpAhead {
			t.Errorf("the reload started %s (set up ahead: %v): %s", s.st.Start, s.st.SetUpAhead, s.st.ColdReason)
		}
		for _, text := range s.ed.Texts(0, protocol.MethodLogMessage) {
			if strings.Contains(text, "cannot preload") || strings.Contains(text, "cannot set Django up ahead") {
				t.Errorf("the log says: %s", text)
			}
		}
		ws := dialWebSocket(t, s.base, "/ws") // the warm server's own reactor serves WebSockets
		if hello := ws.text(t); hello != fmt.Sprintf("pid %d", s.st.PID) {
			t.Errorf("the WebSocket said %q, want the warm server's pid %d", hello, s.st.PID)
		}
		if page := testenv.GetPage(t, s.base+"/", 200); !strings.Contains(page, "/__django_runserver__/live.js") {
			t.Errorf("the warm server's page lacks the reload script:\n%s", page)
		}
	})
}
