//go:build !linux

package debugger

import (
	"io"
	"net"
)

// quickAcks reads conn as it is: acknowledging at once (TCP_QUICKACK) is
// Linux's; elsewhere the adapter's replies may wait for a delayed ACK.
func quickAcks(conn net.Conn) io.Reader { return conn }
