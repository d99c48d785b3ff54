package watch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPollModeSeesEdits runs a forced-poll watcher on a real tree: with no
// file events at all, a changed file (same size, new time), a new file, a
// new folder with a file, and a removed file are each reported.
func TestPollModeSeesEdits(t *testing.T) {
	root := tempRoot(t)
	app := filepath.Join(root, "app")
	if err := os.MkdirAll(filepath.Join(root, "node_modules", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(app, 0o755)
	views := filepath.Join(app, "views.py")
	gone := filepath.Join(app, "old.py")
	noise := filepath.Join(root, "node_modules", "x", "index.js")
	for _, p := range []string{views, gone, noise} {
		if err := os.WriteFile(p, []byte("x = 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := &recorder{}
	w, err := New(root, Options{
		Mode:         Poll,
		PollInterval: 100 * time.Millisecond,
		Skip:         func(dir string) bool { return filepath.Base(dir) == "node_modules" },
		OnBatch:      r.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Mode() != Poll || w.fsw != nil {
		t.Fatalf("mode %q with file events %v, want polling alone", w.Mode(), w.fsw != nil)
	}
	if !strings.Contains(w.Why(), "every 100ms") {
		t.Errorf("Why() = %q, want it to name the interval", w.Why())
	}

	// Same size, a time no write could give it by accident.
	if err := os.WriteFile(views, []byte("x = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(views, later, later); err != nil {
		t.Fatal(err)
	}
	added := filepath.Join(app, "models.py")
	os.WriteFile(added, []byte("y = 1\n"), 0o644)
	os.Remove(gone)
	nested := filepath.Join(app, "api", "urls.py")
	os.MkdirAll(filepath.Dir(nested), 0o755)
	os.WriteFile(nested, []byte("z = 1\n"), 0o644)
	os.WriteFile(noise, []byte("changed"), 0o644)

	for _, p := range []string{views, added, gone, nested} {
		waitFor(t, "a poll to report "+p, func() bool { return r.paths()[p] })
	}
	// The nested file's edit is seen too, now its folder is polled.
	waitFor(t, "the new folder to be polled", func() bool { return w.Polled() == 3 }) // root, app, app/api
	os.WriteFile(nested, []byte("z = 22\n"), 0o644)
	waitFor(t, "a poll to report the nested edit", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		n := 0
		for _, b := range r.batches {
			for _, p := range b.Paths {
				if p == nested {
					n++
				}
			}
		}
		return n >= 2
	})
	if r.paths()[noise] {
		t.Errorf("a skipped folder's file was reported: %s", noise)
	}
}

// TestChoose is auto's decision, on filesystem types and kernels fed in.
func TestChoose(t *testing.T) {
	linux := facts{known: true, osRelease: "6.1.0-18-amd64"}
	wslKernel := facts{known: true, osRelease: "5.15.153.1-microsoft-standard-WSL2\n"}
	for _, c := range []struct {
		name   string
		mode   Mode
		root   string
		f      facts
		want   Mode
		reason string // in Why
	}{
		{"local disk", Auto, "/home/me/shop", linux, Events, "file events"},
		{"9p mount", Auto, "/workspace", facts{known: true, fsType: "9p"}, Poll, "9p filesystem"},
		{"NFS mount", Auto, "/srv/shop", facts{known: true, fsType: "NFS"}, Poll, "NFS filesystem"},
		{"FUSE (Docker Desktop)", Auto, "/app", facts{known: true, fsType: "FUSE"}, Poll, "FUSE filesystem"},
		{"WSL Windows drive", Auto, "/mnt/c/Users/me/shop", wslKernel, Poll, "Windows drive under WSL"},
		{"WSL home", Auto, "/home/me/shop", wslKernel, Events, "file events"},
		{"/mnt outside WSL", Auto, "/mnt/data/shop", linux, Events, "file events"},
		{"events forced on 9p", Events, "/workspace", facts{known: true, fsType: "9p"}, Events, "set watch to auto or poll"},
		{"poll forced", Poll, "/home/me/shop", linux, Poll, "as the watch setting asks"},
		{"platform can't tell", Auto, `C:\shop`, facts{}, Events, "set watch to poll"},
	} {
		got, why := choose(c.mode, c.root, c.f, time.Second)
		if got != c.want || !strings.Contains(why, c.reason) {
			t.Errorf("%s: choose(%s, %s) = %s, %q; want %s and %q", c.name, c.mode, c.root, got, why, c.want, c.reason)
		}
	}
}

func TestBadMode(t *testing.T) {
	if _, err := New(t.TempDir(), Options{Mode: "inotify", OnBatch: func(Batch) {}}); err == nil || !strings.Contains(err.Error(), `"inotify"`) {
		t.Fatalf("New with mode inotify: %v, want an error naming it", err)
	}
}

// TestPollRestatsASettledFolder covers polling's cheap path: a folder whose
// entries last changed long ago is not read again, only its files' times
// and sizes are; an edit in place is still seen, and so is a file added
// (which changes the folder's time).
func TestPollRestatsASettledFolder(t *testing.T) {
	root := tempRoot(t)
	views := filepath.Join(root, "views.py")
	if err := os.WriteFile(views, []byte("x = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	long := time.Now().Add(-time.Hour)
	if err := os.Chtimes(root, long, long); err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	w, err := New(root, Options{Mode: Poll, PollInterval: 100 * time.Millisecond, OnBatch: r.add})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.mu.Lock()
	settled := w.polled[root].settled()
	w.mu.Unlock()
	if !settled {
		t.Fatal("a folder unchanged for an hour is not taken as settled")
	}

	f, err := os.OpenFile(views, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("y = 2\n") // in place, as VS Code saves: the folder's time stays
	f.Close()
	if info, _ := os.Stat(root); !info.ModTime().Equal(long) {
		t.Fatal("an edit in place changed the folder's time; the test needs it unchanged")
	}
	waitFor(t, "a poll to report the edit in place", func() bool { return r.paths()[views] })

	added := filepath.Join(root, "models.py")
	os.WriteFile(added, []byte("z = 1\n"), 0o644)
	waitFor(t, "a poll to report the added file", func() bool { return r.paths()[added] })
}
