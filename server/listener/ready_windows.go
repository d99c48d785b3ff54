//go:build windows

package listener

import (
	"errors"
	"os"

	"github.com/django-runserver/django-runserver/server/portcheck"
)

var errUnsupported = errors.New(Unsupported)

// Ready is the channel on which a process says it serves. Windows has
// none: readiness is a connect (see Unsupported).
type Ready struct{}

// NewReady fails on Windows.
func NewReady() (*Ready, error) { return nil, errUnsupported }

// Child is nil on Windows.
func (r *Ready) Child() *os.File { return nil }

// Spawned does nothing on Windows.
func (r *Ready) Spawned() {}

// Close does nothing on Windows.
func (r *Ready) Close() {}

// Wait reports false on Windows.
func (r *Ready) Wait() (bool, *os.File) { return false, nil }

func adopt(portcheck.Address, *os.File) (*os.File, error) { return nil, errUnsupported }
