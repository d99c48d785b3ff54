//go:build windows

package portcheck

import (
	"errors"

	"golang.org/x/sys/windows"

	"github.com/django-runserver/django-runserver/protocol"
)

func classify(err error) protocol.ErrorCode {
	switch {
	case errors.Is(err, windows.WSAEADDRINUSE):
		return protocol.CodePortInUse
	case errors.Is(err, windows.WSAEACCES):
		return protocol.CodePermissionDenied
	case errors.Is(err, windows.WSAEADDRNOTAVAIL):
		return protocol.CodeAddressUnavailable
	}
	return ""
}
