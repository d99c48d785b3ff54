package debugger_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/server/debugger"
)

const wait = 30 * time.Second

func frame(body string) string { return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body) }

// adapter is a stand-in for debugpy's adapter: it accepts one connection.
func adapter(t *testing.T) (addr string, conn <-chan net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			ch <- c
		}
	}()
	return ln.Addr().String(), ch
}

func expect[T comparable](t *testing.T, ch <-chan T, want T) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("got %v, want %v", got, want)
		}
	case <-time.After(wait):
		t.Fatalf("no report of %v", want)
	}
}

func read(t *testing.T, r io.Reader, want string) {
	t.Helper()
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(r, buf); err != nil || string(buf) != want {
		t.Fatalf("read %q (%v), want %q", buf, err, want)
	}
}

// The relay passes every byte as it came, and tells paused from running
// and configured from not by the messages it sees.
func TestRelayWatchesPausesAndPassesBytes(t *testing.T) {
	target, accepted := adapter(t)
	paused, attached := make(chan bool, 8), make(chan bool, 8)
	r, err := debugger.Listen()
	if err != nil {
		t.Fatal(err)
	}
	r.Target(target, debugger.Events{Paused: func(p bool) { paused <- p }, Attached: func(a bool) { attached <- a }})
	defer r.Close()
	host, port := r.Addr()
	if host != "127.0.0.1" {
		t.Errorf("relay on %s, want loopback", host)
	}
	client, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var ad net.Conn
	select {
	case ad = <-accepted:
	case <-time.After(wait):
		t.Fatal("the relay did not connect to the adapter")
	}

	// Odd but valid framing goes through untouched.
	conf := "content-length: 60\r\nX-Other: 1\r\n\r\n" + `{"seq":1,"type":"request","command":"configurationDone"}    `
	if _, err := client.Write([]byte(conf)); err != nil {
		t.Fatal(err)
	}
	read(t, ad, conf)
	expect(t, attached, true)

	// The editor reads each message as the adapter wrote it, numbered
	// after the last it read.
	stoppedAs := func(seq int) string {
		return frame(fmt.Sprintf(`{"seq":%d,"type":"event","event":"stopped","body":{"threadId":7,"reason":"breakpoint"}}`, seq))
	}
	stopped := stoppedAs(1)
	ad.Write([]byte(stopped))
	br := bufio.NewReader(client)
	read(t, br, stoppedAs(1))
	expect(t, paused, true)

	// Running again once the reply to continue has passed, not before.
	cont := frame(`{"seq":2,"type":"request","command":"continue","arguments":{"threadId":7}}`)
	client.Write([]byte(cont))
	read(t, ad, cont)
	select {
	case p := <-paused:
		t.Fatalf("paused=%v reported before the reply to continue", p)
	default:
	}
	reply := frame(`{"seq":2,"type":"response","request_seq":2,"command":"continue","success":true,"body":{"allThreadsContinued":true}}`)
	ad.Write([]byte(reply))
	read(t, br, reply)
	expect(t, paused, false)

	ad.Write([]byte(stopped))
	read(t, br, stoppedAs(3))
	expect(t, paused, true)
	ad.Write([]byte(frame(`{"seq":3,"type":"event","event":"continued","body":{"threadId":7,"allThreadsContinued":true}}`)))
	expect(t, paused, false)

	// A debugger that goes away leaves nothing paused, and is no longer
	// attached.
	ad.Write([]byte(stopped))
	expect(t, paused, true)
	client.Close()
	expect(t, paused, false)
	expect(t, attached, false)
}

// Closing the relay ends the editor's session: it hears terminated, then
// its connection ends.
func TestRelayCloseEndsTheSession(t *testing.T) {
	target, accepted := adapter(t)
	r, err := debugger.Listen()
	if err != nil {
		t.Fatal(err)
	}
	r.Target(target, debugger.Events{})
	host, port := r.Addr()
	client, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	select {
	case <-accepted:
	case <-time.After(wait):
		t.Fatal("the relay did not connect to the adapter")
	}
	r.Close()
	client.SetReadDeadline(time.Now().Add(wait))
	read(t, client, frame(`{"seq":1,"body":{},"event":"terminated","type":"event"}`))
	if n, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read %d bytes, %v after Close; want EOF", n, err)
	}
}

// An editor that attaches between two processes, and the server stops
// before the next: its requests are answered, and it hears terminated.
func TestRelayCloseAnswersAWaitingSession(t *testing.T) {
	r, err := debugger.Listen()
	if err != nil {
		t.Fatal(err)
	}
	host, port := r.Addr()
	client, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	client.Write([]byte(frame(`{"seq":1,"type":"request","command":"initialize","arguments":{}}`)))
	awaitWaiting(t, r)
	r.Close()
	client.SetReadDeadline(time.Now().Add(wait))
	br := bufio.NewReader(client)
	read(t, br, frame(`{"seq":1,"body":{"error":{"format":"The server stopped, and with it the debug session.","id":1,"showUser":false}},"command":"initialize","message":"The server stopped, and with it the debug session.","request_seq":1,"success":false,"type":"response"}`))
	read(t, br, frame(`{"seq":2,"body":{},"event":"terminated","type":"event"}`))
	if n, err := br.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read %d bytes, %v after Close; want EOF", n, err)
	}
}
