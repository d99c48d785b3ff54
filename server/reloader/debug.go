package reloader

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/django-runserver/django-runserver/server/contract"
)

// DebugBootstrap is the path of the debug bootstrap (see debug.py), which
// WriteShim writes beside the shim at shimPath.
func DebugBootstrap(shimPath string) string {
	return filepath.Join(filepath.Dir(shimPath), "debug.py")
}

// DebugOptions are the interpreter options of a server under the debugger,
// and of the preloader it forks from: frozen standard modules are turned
// off (Python 3.11+; older ones ignore the option) so that breakpoints in
// them bind, as debugpy asks.
var DebugOptions = []string{"-Xfrozen_modules=off"}

// DebugArgs is the argv after the interpreter of a server under the
// debugger: its options, the bootstrap, then args, the shim's argv (see
// Args). A preloader's child skips the options (the preloader ran with
// them) and runs the bootstrap's fork entry.
func DebugArgs(bootstrap string, args []string) []string {
	return slices.Concat(DebugOptions, []string{bootstrap}, args)
}

// DebugWaitForever, as DebugEnv's wait, has the bootstrap wait until a
// debugger attaches.
const DebugWaitForever time.Duration = -1

// DebugEnv is the environment the bootstrap reads: how long it waits for a
// debugger to attach before it serves anyway (0: not at all).
func DebugEnv(wait time.Duration) map[string]string {
	seconds := strconv.FormatFloat(wait.Seconds(), 'f', -1, 64)
	if wait == DebugWaitForever {
		seconds = "inf"
	}
	return map[string]string{contract.DebugWaitEnv: seconds}
}

// DebugListening parses the bootstrap's line that says where debugpy's
// adapter listens.
func DebugListening(line string) (host string, port int, ok bool) {
	rest, found := strings.CutPrefix(line, contract.DebugListeningPrefix)
	if !found {
		return "", 0, false
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return "", 0, false
	}
	port, err := strconv.Atoi(rest[i+1:])
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, false
	}
	return rest[:i], port, true
}

// DebugNotAttached reports whether line is the bootstrap's word that no
// debugger attached in time, so the server serves without waiting.
func DebugNotAttached(line string) bool {
	return strings.HasPrefix(line, contract.DebugNotAttachedPrefix)
}
