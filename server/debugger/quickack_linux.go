//go:build linux

package debugger

import (
	"io"
	"net"
	"syscall"
)

// quickAcks reads conn, an adapter's connection, acknowledging what
// arrives at once. debugpy's adapter writes a DAP message in two sends,
// header then body, with Nagle's algorithm on: the body waits for the
// relay's ACK of the header, which Linux delays by up to 40 ms. That
// stall came before each reply on the way to configurationDone, tens of
// milliseconds on every debugged reload. Linux clears TCP_QUICKACK as it
// acknowledges, so it is asked for again before every read.
func quickAcks(conn net.Conn) io.Reader {
	tcp, ok := conn.(*net.TCPConn)
	if !ok {
		return conn
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return conn
	}
	return &quickAckReader{conn: conn, raw: raw}
}

type quickAckReader struct {
	conn net.Conn
	raw  syscall.RawConn
}

func (r *quickAckReader) Read(p []byte) (int, error) {
	_ = quickAck(r.raw) // a failure costs only the delay this avoids
	return r.conn.Read(p)
}

// quickAck asks Linux to acknowledge what raw receives next at once.
func quickAck(raw syscall.RawConn) error {
	var err error
	if cerr := raw.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	}); cerr != nil {
		return cerr
	}
	return err
}
