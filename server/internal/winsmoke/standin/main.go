// Command standin plays Python for the Windows smoke test: the backend runs
// it as its interpreter, under Wine, where no real Python is.
//
//   - `python -c CODE`, the backend's interpreter check, prints what Python
//     3 with Django would, with Windows line endings.
//   - `python SHIM MODE manage.py runserver ADDRESS`, a server, serves HTTP
//     on ADDRESS and prints Django's banner. On its first connection (the
//     backend's readiness probe, so the backend has put it in its Job Object
//     by then) it starts a child that serves STANDIN_CHILD_ADDR. Unlike the
//     real shim it never exits when its stdin closes: only the Job Object can
//     take it and its child down when the backend dies.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sync"
)

func main() {
	args := os.Args[1:]
	switch {
	case len(args) > 0 && args[0] == "-c":
		fmt.Print("python 3\r\ndjango 3.2.25\r\n")
	case len(args) > 0 && args[0] == "child":
		serve(os.Getenv("STANDIN_CHILD_ADDR"), nil)
	default:
		i := slices.Index(args, "runserver")
		if i < 0 || i+1 >= len(args) {
			fmt.Fprintf(os.Stderr, "standin: no runserver ADDRESS in %q\r\n", args)
			os.Exit(2)
		}
		var once sync.Once
		serve(args[i+1], func() {
			once.Do(func() {
				exe, _ := os.Executable()
				if err := exec.Command(exe, "child").Start(); err != nil {
					fmt.Fprintf(os.Stderr, "standin: cannot start the child: %v\r\n", err)
				}
			})
		})
	}
}

// serve answers "standin" on addr until killed, calling onConn for each
// connection.
func serve(addr string, onConn func()) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: That port is already in use.\r\n")
		os.Exit(1)
	}
	fmt.Printf("Starting development server at http://%s/\r\nQuit the server with CTRL-BREAK.\r\n", addr)
	if onConn != nil {
		ln = &notifying{ln, onConn}
	}
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "standin")
	}))
	os.Exit(1)
}

type notifying struct {
	net.Listener
	onConn func()
}

func (n *notifying) Accept() (net.Conn, error) {
	c, err := n.Listener.Accept()
	if err == nil {
		n.onConn()
	}
	return c, err
}
