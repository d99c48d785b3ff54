//go:build unix

package portcheck

import (
	"errors"
	"syscall"

	"github.com/django-runserver/django-runserver/protocol"
)

func classify(err error) protocol.ErrorCode {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return protocol.CodePortInUse
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return protocol.CodePermissionDenied
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return protocol.CodeAddressUnavailable
	}
	return ""
}
