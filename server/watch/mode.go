package watch

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Mode chooses how a Watcher notices changes.
type Mode string

// The watch modes.
const (
	// Auto uses file events, and polls where they can't be trusted: a
	// network, virtual-machine or FUSE filesystem, WSL's Windows drives.
	Auto Mode = "auto"
	// Events uses file events only, polling just the folders past the OS's
	// watch limit.
	Events Mode = "events"
	// Poll stats every file each poll interval, and uses no file events.
	Poll Mode = "poll"
)

// PollInterval is the default time between two polls.
const PollInterval = time.Second

// facts is what auto looks at, gathered by the platform.
type facts struct {
	// fsType names the root's filesystem when file events don't work on it
	// ("9p", "cifs", "nfs", "fuse", ...); empty when they do, or when the
	// platform can't tell.
	fsType string
	// osRelease is the kernel's release and version text, which names
	// Microsoft under WSL.
	osRelease string
	// known is false where the platform can't tell filesystems apart.
	known bool
}

// choose picks events or polling for root, and says why in words for the
// log.
func choose(mode Mode, root string, f facts, interval time.Duration) (Mode, string) {
	var untrusted string
	switch {
	case f.fsType != "":
		untrusted = fmt.Sprintf("%s is on a %s filesystem, where file events often never arrive", root, f.fsType)
	case wsl(f.osRelease) && onWindowsDrive(root):
		untrusted = fmt.Sprintf("%s is a Windows drive under WSL, where file events never arrive", root)
	}
	switch mode {
	case Poll:
		return Poll, fmt.Sprintf("Polling for changes every %s, as the watch setting asks.", interval)
	case Events:
		if untrusted != "" {
			return Events, fmt.Sprintf("Watching with file events, as the watch setting asks, though %s. If saves don't reload the server, set watch to auto or poll.", untrusted)
		}
		return Events, "Watching with file events, as the watch setting asks."
	}
	if untrusted != "" {
		return Poll, fmt.Sprintf("Polling for changes every %s: %s. Set watch to events to use them anyway.", interval, untrusted)
	}
	if !f.known {
		return Events, "Watching with file events: this platform can't tell a network folder from a local one. If saves don't reload the server, set watch to poll."
	}
	return Events, "Watching with file events."
}

// wsl reports a Linux kernel of Microsoft's WSL, from
// /proc/sys/kernel/osrelease or /proc/version.
func wsl(osRelease string) bool {
	return strings.Contains(strings.ToLower(osRelease), "microsoft")
}

// onWindowsDrive reports a path under WSL's mount folder for Windows drives.
func onWindowsDrive(path string) bool {
	rel, ok := strings.CutPrefix(filepath.ToSlash(path), "/mnt/")
	return ok && rel != ""
}
