package debugger

// Waiting reports whether a session of r has a request waiting for a
// process.
func Waiting(r *Relay) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.sessions {
		s.mu.Lock()
		n := len(s.queue)
		s.mu.Unlock()
		if n > 0 {
			return true
		}
	}
	return false
}
