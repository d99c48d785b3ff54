//go:build !unix

package engine

import "os/exec"

// killGroupOnCancel leaves cmd as it is: exec kills the process itself.
func killGroupOnCancel(*exec.Cmd) {}
