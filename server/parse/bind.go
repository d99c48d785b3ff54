package parse

import (
	"strings"

	"github.com/django-runserver/django-runserver/protocol"
)

// bindErrors maps the messages runserver prints when it cannot bind to the
// error code the protocol reports. They are stable across Django versions:
// runserver writes "Error: " plus one of the first three, and a CommandError
// for an address it cannot parse.
var bindErrors = []struct {
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

// BindError classifies one line of runserver's output. It reports the code
// of a bind error, or ok=false for any other line.
func BindError(line string) (code protocol.ErrorCode, ok bool) {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "Error: ") && !strings.HasPrefix(line, "CommandError: ") {
		return "", false
	}
	for _, e := range bindErrors {
		if strings.HasSuffix(line, e.text) {
			return e.code, true
		}
	}
	return "", false
}
