//go:build !linux && !darwin && !windows

package portcheck

import "github.com/django-runserver/django-runserver/protocol"

// holder is unknown on systems without a supported way to list sockets.
func holder(int) (*protocol.Holder, error) { return nil, nil }
