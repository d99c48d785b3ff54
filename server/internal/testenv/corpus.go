package testenv

import (
	"errors"
	"testing"

	"github.com/django-runserver/django-runserver/internal/corpus"
)

// Corpus is a real project copied into a test's temporary folder and ready
// to serve: see corpus.Project.
type Corpus = corpus.Project

// CorpusDirEnv names the folder `make corpus` filled: see corpus.DirEnv.
const CorpusDirEnv = corpus.DirEnv

// Mailman is Mailman 3's web UI in a temporary folder: see corpus.Mailman.
func Mailman(t testing.TB) Corpus {
	t.Helper()
	return corpusProject(t, corpus.Mailman)
}

// Graphite is graphite-web in a temporary folder: see corpus.Graphite.
func Graphite(t testing.TB) Corpus {
	t.Helper()
	return corpusProject(t, corpus.Graphite)
}

// corpusProject builds a project in a temporary folder. A project
// not installed fails the test where the corpus is required (`make test`
// sets DJANGO_RUNSERVER_CORPUS), and skips it elsewhere.
func corpusProject(t testing.TB, build func(cache, dest string) (corpus.Project, error)) Corpus {
	t.Helper()
	cache, required := corpus.Cache(Root())
	c, err := build(cache, t.TempDir())
	switch {
	case err == nil:
		return c
	case errors.Is(err, corpus.ErrMissing) && !required:
		t.Skipf("skipped: %v; `make test` does, and fails without it", err)
	}
	t.Fatal(err)
	return c
}
