// Package reliability holds the backend's reliability and security suite
// (issue #6): bad input, faults, storms, a soak and security checks, each
// driving the real backend (in process over pipes, or the built binary over
// stdio) against real Django processes on loopback sockets.
//
// The package has no code of its own; docs/reliability.md lists every case
// with the test that covers it and what it measured.
package reliability
