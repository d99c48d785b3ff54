//go:build linux

package debugger

import (
	"io"
	"net"
	"syscall"
	"testing"
)

// The reader of an adapter's connection asks for quick ACKs before each
// read, and passes every byte through.
func TestQuickAcksAsksBeforeEachRead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("Content-Length: 2\r\n\r\n{}"))
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r, ok := quickAcks(conn).(*quickAckReader)
	if !ok {
		t.Fatalf("quickAcks(a TCP connection) = %T, want a *quickAckReader", quickAcks(conn))
	}
	if err := quickAck(r.raw); err != nil {
		t.Fatalf("asking for quick ACKs: %v", err)
	}
	var on int
	if err := r.raw.Control(func(fd uintptr) {
		on, err = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK)
	}); err != nil {
		t.Fatal(err)
	}
	if on != 1 {
		t.Errorf("TCP_QUICKACK = %d after asking, want 1", on)
	}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "Content-Length: 2\r\n\r\n{}" {
		t.Errorf("read %q, %v; want every byte the adapter wrote", got, err)
	}
}
