package portcheck

// maxCommand bounds a holder's command line in messages.
const maxCommand = 200

func shorten(s string) string {
	if r := []rune(s); len(r) > maxCommand {
		return string(r[:maxCommand-1]) + "…"
	}
	return s
}
