package preload

// rights passes no fds: Windows has no fork, so nothing forks from a
// preloader there, and Start's caller never starts one.
func rights(...int) []byte { return nil }

// awaitGone is never reached on Windows: no process is forked there.
func awaitGone(int) {}

// adopt is never reached on Windows: no process is forked there.
func adopt(int) func() int { return func() int { return -1 } }

// alive is never reached on Windows: no preloader runs there, so no
// module-list folder is made.
func alive(int) bool { return true }
