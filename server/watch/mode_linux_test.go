package watch

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestUntrustedFilesystems maps statfs's f_type to the filesystems auto
// polls, and leaves local ones to events.
func TestUntrustedFilesystems(t *testing.T) {
	for magic, want := range map[uint32]string{
		unix.V9FS_MAGIC:            "9p",
		unix.CIFS_SUPER_MAGIC:      "CIFS/SMB",
		unix.NFS_SUPER_MAGIC:       "NFS",
		unix.FUSE_SUPER_MAGIC:      "FUSE",
		unix.EXT4_SUPER_MAGIC:      "",
		unix.TMPFS_MAGIC:           "",
		unix.OVERLAYFS_SUPER_MAGIC: "",
	} {
		if got := untrustedFS[magic]; got != want {
			t.Errorf("f_type %#x: %q, want %q", magic, got, want)
		}
	}
	if f := platformFacts(t.TempDir()); !f.known || f.osRelease == "" {
		t.Errorf("Linux facts %+v: want a known filesystem and the kernel's release", f)
	}
}
