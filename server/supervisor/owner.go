package supervisor

// Owns reports whether pid is the process or one of its children: the
// process that holds a socket, for example.
func (p *Process) Owns(pid int) bool {
	if pid == p.PID() {
		return true
	}
	for i := 0; i < 8 && pid > 1; i++ { // Django's reloader child is one level down
		pid = parentPID(pid)
		if pid == p.PID() {
			return true
		}
	}
	return false
}
