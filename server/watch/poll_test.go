package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// TestPollTakesTurnsOnLargeTrees shows the poll budget: on a tree larger than
// a pass's budget, the files of quiet folders take turns, so an in-place
// edit there is seen within a round of passes (and not before its turn);
// the folder is then hot, and its next edit is seen on the next pass; an
// added file changes its folder's time and is seen on the next pass too.
func TestPollTakesTurnsOnLargeTrees(t *testing.T) {
	root := tempRoot(t)
	old := time.Now().Add(-time.Hour)
	for d := range 20 {
		dir := filepath.Join(root, fmt.Sprintf("d%02d", d))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range 10 {
			p := filepath.Join(dir, fmt.Sprintf("f%d.py", f))
			if err := os.WriteFile(p, []byte("x = 1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(p, old, old)
		}
		// A folder changed an hour ago is settled: its time alone tells
		// whether its entries changed.
		os.Chtimes(dir, old, old)
	}
	os.Chtimes(root, old, old)
	r := &recorder{}
	// The interval is never reached: the test runs the passes itself.
	w, err := New(root, Options{Mode: Poll, PollInterval: time.Hour, OnBatch: r.add})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.budget = 50 // five folders a pass: a round is four passes
	dirs := func() []string {
		w.mu.Lock()
		defer w.mu.Unlock()
		var ds []string
		for d := range w.polled {
			ds = append(ds, d)
		}
		sort.Strings(ds)
		return ds
	}
	late := filepath.Join(root, "d17")
	edit := func(name, content string) string {
		p := filepath.Join(late, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// d17 is in the fourth turn: d00-d04, d05-d09 and d10-d14 come first.
	first := edit("f3.py", "x = 22\n")
	passes := 0
	for w.hot[late].IsZero() {
		if passes == 8 {
			t.Fatalf("an edit in a quiet folder went unseen for two rounds of passes")
		}
		w.pass(dirs())
		passes++
	}
	if passes < 4 {
		t.Errorf("the edit in %s was seen on pass %d: quiet folders were not taking turns", late, passes)
	}
	waitFor(t, "the edit to be reported", func() bool { return r.paths()[first] })

	second := edit("f5.py", "x = 333\n")
	seen := w.hot[late]
	w.pass(dirs())
	if !w.hot[late].After(seen) {
		t.Fatalf("a second edit in a hot folder was not seen on the next pass")
	}
	waitFor(t, "the second edit to be reported", func() bool { return r.paths()[second] })

	added := filepath.Join(root, "d02", "new.py")
	if err := os.WriteFile(added, []byte("y = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.pass(dirs())
	if w.hot[filepath.Join(root, "d02")].IsZero() {
		t.Fatalf("a file added to a quiet folder was not seen on the next pass")
	}
	waitFor(t, "the added file to be reported", func() bool { return r.paths()[added] })
}
