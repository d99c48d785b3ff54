package terminal

import (
	"slices"
	"testing"
)

// -editor is split into argv words as a shell would, without one: quotes
// keep spaces and shell syntax in a word, and {file} and {line} are
// substituted in every word.
func TestEditorCommandArgv(t *testing.T) {
	for _, c := range []struct {
		flag string
		want []string
	}{
		{"go run {file}:{line}", []string{"go", "run", "/w/a b.py:7"}},
		{`go  --goto  "{file}:{line}"  ';rm -rf /'`, []string{"go", "--goto", "/w/a b.py:7", ";rm -rf /"}},
		{`go +{line} {file} a\ b $(x)`, []string{"go", "+7", "/w/a b.py", "a b", "$(x)"}},
	} {
		cmd, err := ParseEditor(c.flag)
		if err != nil {
			t.Fatalf("%q: %v", c.flag, err)
		}
		if got := cmd.Argv("/w/a b.py", 7); !slices.Equal(got, c.want) {
			t.Errorf("%q: argv %q, want %q", c.flag, got, c.want)
		}
	}
}
