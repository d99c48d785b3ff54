package portcheck

import (
	"bufio"
	"bytes"
	"os/exec"
	"strconv"
	"strings"

	"github.com/django-runserver/django-runserver/protocol"
)

// holder asks lsof, which ships with macOS, for the listener on port.
func holder(port int) (*protocol.Holder, error) {
	out, err := exec.Command("lsof", "-nP", "-iTCP:"+strconv.Itoa(port), "-sTCP:LISTEN", "-Fp").Output()
	if err != nil && len(out) == 0 {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if pid, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "p")); err == nil && strings.HasPrefix(sc.Text(), "p") {
			cmd, _ := exec.Command("ps", "-o", "command=", "-p", strconv.Itoa(pid)).Output()
			return &protocol.Holder{PID: pid, Command: string(cmd)}, nil
		}
	}
	return nil, nil
}
