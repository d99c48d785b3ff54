package testenv

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/django-runserver/django-runserver/server/portcheck"
)

// A port the system hands out for a bind to port 0, or as the local end of a
// connection, can be taken by any process between a test's check and
// Django's bind: a debug adapter's own listener once took the port another
// test had just checked, and both failed. So tests get ports below the
// system's ephemeral range, in blocks of portBlock, and each block is held
// by one test process for its lifetime (a lock file per block), so the test
// packages that `go test` runs at once never share a port. A block's ports
// above the first are the test's too: the ones a port conflict's suggestion
// and onPortConflict "nextFree" move to.
const portBlock = 4

var ports struct {
	sync.Mutex
	// held maps the blocks this process holds to their lock files, kept
	// open, and so locked (nil without a folder for them).
	held map[int]*os.File
	dir  string // the lock files' folder, "" where none can be made
}

// FreePort returns a free port on 127.0.0.1 that no other test in any test
// process was given; the three ports above it are this test's too.
func FreePort(t testing.TB) int {
	t.Helper()
	lo, hi := testPortRange()
	if hi-lo < portBlock {
		return systemPort(t)
	}
	ports.Lock()
	defer ports.Unlock()
	if ports.held == nil {
		ports.held = map[int]*os.File{}
		ports.dir = filepath.Join(os.TempDir(), "django-runserver-test-ports")
		if os.MkdirAll(ports.dir, 0o777) != nil {
			ports.dir = ""
		}
	}
	blocks := (hi - lo) / portBlock
	first := rand.IntN(blocks)
	for i := range blocks {
		start := lo + ((first+i)%blocks)*portBlock
		if _, ok := ports.held[start]; ok || !blockFree(start) {
			continue
		}
		if lock, ok := lockBlock(start); ok {
			ports.held[start] = lock
			return start
		}
	}
	t.Fatalf("no free block of %d ports between %d and %d on 127.0.0.1", portBlock, lo, hi)
	return 0
}

// FreeAddress is 127.0.0.1 at a FreePort: where a test's listener binds.
func FreeAddress(t testing.TB) portcheck.Address {
	t.Helper()
	return portcheck.Address{Host: "127.0.0.1", Port: FreePort(t)}
}

// blockFree reports whether each port of the block starting at start can be
// bound on 127.0.0.1 now.
func blockFree(start int) bool {
	for p := start; p < start+portBlock; p++ {
		ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return false
		}
		ln.Close()
	}
	return true
}

// lockBlock opens and locks the block's lock file; false if another
// process holds it. Without a folder for the locks there is no file, and
// blocks are unique within this process only.
func lockBlock(start int) (*os.File, bool) {
	if ports.dir == "" {
		return nil, true
	}
	f, err := os.OpenFile(filepath.Join(ports.dir, strconv.Itoa(start)), os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, false
	}
	if !tryLock(f) {
		f.Close()
		return nil, false
	}
	return f, true
}

// testPortRange is where tests' ports come from: below the ephemeral range
// (where there is room for it), from 10000 up.
func testPortRange() (lo, hi int) {
	ephemeralLow := 49152 // IANA's, which macOS and Windows use
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				ephemeralLow = n
			}
		}
	}
	return 10000, ephemeralLow
}

// systemPort is the fallback where no range is left outside the ephemeral
// one: a port the system picked, free a moment ago.
func systemPort(t testing.TB) int {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(fmt.Errorf("no free port on 127.0.0.1: %w", err))
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
