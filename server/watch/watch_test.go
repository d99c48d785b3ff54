package watch

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type recorder struct {
	mu      sync.Mutex
	batches []Batch
}

func (r *recorder) add(b Batch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, b)
}

func (r *recorder) paths() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]bool{}
	for _, b := range r.batches {
		for _, p := range b.Paths {
			out[p] = true
		}
	}
	return out
}

// tempRoot is a new temporary folder by its real path, as the watcher
// reports paths (macOS's temporary folder is behind a symlink).
func tempRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatcherReportsChangesAndSkipsNoise(t *testing.T) {
	root := tempRoot(t)
	for _, d := range []string{"app", ".git", "node_modules", "app/__pycache__", "static/build"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	r := &recorder{}
	w, err := New(root, Options{
		Skip: func(dir string) bool {
			b := filepath.Base(dir)
			return b == ".git" || b == "node_modules" || b == "__pycache__"
		},
		Exclude: []string{"static/build", "*.log"},
		OnBatch: r.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, noise := range []string{".git/index", "node_modules/x.js", "app/__pycache__/v.pyc", "static/build/a.css", "app/debug.log"} {
		os.WriteFile(filepath.Join(root, noise), []byte("x"), 0o644)
	}
	views := filepath.Join(root, "app", "views.py")
	os.WriteFile(views, []byte("x = 1\n"), 0o644)
	waitFor(t, "views.py", func() bool { return r.paths()[views] })
	for p := range r.paths() {
		if p != views {
			t.Errorf("reported %s, which should be skipped", p)
		}
	}

	// A directory created later is watched, with the files already in it.
	newDir := filepath.Join(root, "newapp")
	os.MkdirAll(newDir, 0o755)
	inside := filepath.Join(newDir, "models.py")
	os.WriteFile(inside, []byte("y = 2\n"), 0o644)
	waitFor(t, "a file in a new directory", func() bool { return r.paths()[inside] })
	later := filepath.Join(newDir, "admin.py")
	os.WriteFile(later, []byte("z = 3\n"), 0o644)
	waitFor(t, "a later file in the new directory", func() bool { return r.paths()[later] })
}

func TestWatcherBatchesABurst(t *testing.T) {
	root := tempRoot(t)
	r := &recorder{}
	// A quiet longer than a loaded machine's pauses: the writes must merge
	// by the rule, not by how fast this machine writes.
	w, err := New(root, Options{OnBatch: r.add, Debounce: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 0; i < 200; i++ {
		os.WriteFile(filepath.Join(root, "f"+strings.Repeat("x", i%7)+".py"), []byte{byte(i)}, 0o644)
	}
	waitFor(t, "the burst", func() bool { return len(r.paths()) == 7 })
	r.mu.Lock()
	n := len(r.batches)
	r.mu.Unlock()
	if n > 3 {
		t.Errorf("200 writes in a burst gave %d batches, want them merged", n)
	}
}

func TestWatcherReportsTheRootGone(t *testing.T) {
	parent := tempRoot(t)
	root := filepath.Join(parent, "proj")
	os.MkdirAll(root, 0o755)
	gone := make(chan struct{}, 1)
	w, err := New(root, Options{OnBatch: func(Batch) {}, OnRootGone: func() {
		select {
		case gone <- struct{}{}:
		default:
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	os.Rename(root, root+"-moved")
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("a renamed root was not reported")
	}
}

func TestBadExcludePattern(t *testing.T) {
	if _, err := New(t.TempDir(), Options{Exclude: []string{"[unclosed"}, OnBatch: func(Batch) {}}); err == nil || !strings.Contains(err.Error(), "watchExclude") {
		t.Errorf("error = %v, want one naming watchExclude", err)
	}
}

func TestMatchAny(t *testing.T) {
	for _, tc := range []struct {
		patterns []string
		rel      string
		want     bool
	}{
		{[]string{"static"}, "static/css/a.css", true},
		{[]string{"*.log"}, "logs/deep/x.log", true},
		{[]string{"media/**/*.jpg"}, "media/a/b/c.jpg", true},
		{[]string{"media/**/*.jpg"}, "media/a/b/c.png", false},
		{[]string{"docs/"}, "docs", true},
		{[]string{"app/*.py"}, "app/sub/x.py", false},
	} {
		if got := matchAny(tc.patterns, tc.rel); got != tc.want {
			t.Errorf("matchAny(%v, %q) = %v, want %v", tc.patterns, tc.rel, got, tc.want)
		}
	}
}
