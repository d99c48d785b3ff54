package portcheck

import (
	"strings"

	"github.com/django-runserver/django-runserver/protocol"
)

// djangoBindErrors maps the messages runserver prints when it cannot bind
// to the error code the protocol reports. They are stable across Django
// versions: runserver writes "Error: " plus one of the first three, and a
// CommandError for an address it cannot parse. They cover the race after
// our probe, and addresses the probe can't judge.
var djangoBindErrors = []struct {
	text string
	code protocol.ErrorCode
}{
	{"That port is already in use.", protocol.CodePortInUse},
	{"You don't have permission to access that port.", protocol.CodePermissionDenied},
	{"That IP address can't be assigned to.", protocol.CodeAddressUnavailable},
	{"is not a valid port number or address:port pair.", protocol.CodeInvalidAddress},
	{"is not a valid port number.", protocol.CodeInvalidAddress},
	{"is not a valid IPv6 address.", protocol.CodeInvalidAddress},
}

// ClassifyLine classifies one line of runserver's output. It reports the
// code of a bind error, or ok=false for any other line.
func ClassifyLine(line string) (code protocol.ErrorCode, ok bool) {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "Error: ") && !strings.HasPrefix(line, "CommandError: ") {
		return "", false
	}
	for _, e := range djangoBindErrors {
		if strings.HasSuffix(line, e.text) {
			return e.code, true
		}
	}
	return "", false
}
