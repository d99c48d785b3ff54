package watch

import (
	"os"

	"golang.org/x/sys/unix"
)

// untrustedFS names the filesystems whose changes inotify doesn't see: a
// change made on the other side (the Windows host of WSL 2, a Docker
// Desktop host, another NFS or SMB client, a FUSE daemon) raises no event
// here.
var untrustedFS = map[uint32]string{
	unix.V9FS_MAGIC:       "9p",
	unix.CIFS_SUPER_MAGIC: "CIFS/SMB",
	unix.SMB_SUPER_MAGIC:  "SMB",
	unix.SMB2_SUPER_MAGIC: "SMB",
	unix.NFS_SUPER_MAGIC:  "NFS",
	unix.FUSE_SUPER_MAGIC: "FUSE",
	unix.CEPH_SUPER_MAGIC: "Ceph",
	unix.AFS_SUPER_MAGIC:  "AFS",
	unix.CODA_SUPER_MAGIC: "Coda",
	0x786f4256:            "VirtualBox shared folder", // vboxsf
	0x53464846:            "WSL drvfs",                // WSL 1's Windows drives
}

func platformFacts(root string) facts {
	f := facts{known: true}
	var st unix.Statfs_t
	if unix.Statfs(root, &st) == nil {
		f.fsType = untrustedFS[uint32(st.Type)]
	}
	for _, p := range []string{"/proc/sys/kernel/osrelease", "/proc/version"} {
		if b, err := os.ReadFile(p); err == nil {
			f.osRelease += string(b)
		}
	}
	return f
}
