//go:build linux

// Command bench measures Django Runserver against Django's own reloaders:
// save-to-served latency for Python and template edits, idle CPU, stop time,
// the backend's own cost, the file watcher at scale, reload cost on a
// heavier project, on real projects (Mailman 3's web UI and graphite-web,
// from internal/corpus), and under Daphne's runserver. It prints a table with ratios against
// each anchor and, with -out, writes it to docs/benchmarks.md with the
// machine it ran on.
//
//	go run ./bench -python /usr/bin/python3 -reps 10 -out docs/benchmarks.md
//	go run ./bench -python /usr/bin/python3 -smoke
//
// It never fails on a time: targets are reported as met or missed. It exits
// non-zero only when a measurement could not run.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// config is what the flags choose.
type config struct {
	root   string // the repository root (holds go.mod)
	python string
	bin    string // the backend binary
	reps   int
	smoke  bool
	out    string
	idle   time.Duration // idle CPU window
	files  int           // scale tree size
	dirs   int
	only   []string // sections to run; all when empty
	tmp    string   // scratch folder, removed at exit
}

// section is a part of the benchmark that -only names.
type section struct {
	name string
	run  func(cfg *config, env *env, r *report)
}

// sections, in the order they run.
var sections = []section{
	{"edits", runEdits},
	{"browser", runBrowser},
	{"stop", runStop},
	{"backend", runBackendCost},
	{"scale", func(cfg *config, _ *env, r *report) { runScale(cfg, r) }},
	{"heavy", runHeavy},
	{"real", runReal},
	{"debug", runDebug},
	{"daphne", runDaphne},
}

// sectionNames lists the sections' names, in the order they run.
func sectionNames() string {
	names := make([]string, len(sections))
	for i, s := range sections {
		names[i] = s.name
	}
	return strings.Join(names, ",")
}

func main() {
	var cfg config
	var only string
	flag.StringVar(&cfg.python, "python", "", "Python interpreter that can import Django (default: python3 or /usr/bin/python3, whichever can)")
	flag.StringVar(&cfg.bin, "bin", "bin/django-runserver", "backend binary, relative to the repository root; built if missing")
	flag.IntVar(&cfg.reps, "reps", 10, "measured repetitions of each timing, after one warm-up")
	flag.BoolVar(&cfg.smoke, "smoke", false, "CI smoke run: 2 repetitions, a small tree, a short idle window; never writes -out")
	flag.StringVar(&cfg.out, "out", "", "Markdown file to write the report to, relative to the repository root")
	flag.DurationVar(&cfg.idle, "idle", 10*time.Second, "idle CPU window")
	flag.IntVar(&cfg.files, "files", 50000, "files in the generated scale tree")
	flag.IntVar(&cfg.dirs, "dirs", 5000, "folders in the generated scale tree")
	flag.StringVar(&only, "only", "", "comma-separated sections to run: "+sectionNames())
	watcherChild := flag.String("measure-watcher", "", "internal: set up a watcher on this folder, print this process's RSS before and after, and exit")
	pollChild := flag.String("poll-watcher", "", "internal: poll this folder, print \"ready\", and exit when stdin closes")
	flag.Parse()
	if *watcherChild != "" {
		os.Exit(measureWatcherChild(*watcherChild))
	}
	if *pollChild != "" {
		os.Exit(pollWatcherChild(*pollChild))
	}
	if cfg.smoke {
		cfg.reps, cfg.idle, cfg.files, cfg.dirs, cfg.out = 2, 2*time.Second, 2000, 200, ""
	}
	if only != "" {
		cfg.only = strings.Split(only, ",")
		for _, s := range cfg.only {
			if !slices.ContainsFunc(sections, func(x section) bool { return x.name == s }) {
				fatalf("-only: unknown section %q (sections: %s)", s, sectionNames())
			}
		}
	}
	if cfg.reps < 1 || cfg.dirs < 1 || cfg.files < cfg.dirs {
		fatalf("-reps and -dirs must be at least 1, and -files at least -dirs")
	}
	os.Exit(run(&cfg))
}

func run(cfg *config) int {
	start := time.Now()
	var err error
	if cfg.root, err = repoRoot(); err != nil {
		fatalf("%v", err)
	}
	if cfg.tmp, err = os.MkdirTemp("", "django-runserver-bench-"); err != nil {
		fatalf("%v", err)
	}
	atExit(func() { os.RemoveAll(cfg.tmp) })
	handleSignals()
	defer runExitHooks()

	env, err := prepare(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	r := &report{cfg: cfg, env: env, loadStart: loadAverage(), notes: map[string]string{}}
	for _, s := range sections {
		if len(cfg.only) == 0 || slices.Contains(cfg.only, s.name) {
			s.run(cfg, env, r)
		}
	}
	r.elapsed = time.Since(start)
	text := r.markdown()
	fmt.Println(text)
	if cfg.out != "" {
		path := cfg.out
		if !filepath.IsAbs(path) {
			path = filepath.Join(cfg.root, path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 1
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 1
		}
		progress("wrote %s", path)
	}
	progress("done in %s", r.elapsed.Round(time.Second))
	if len(r.failures) > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d measurement(s) could not run:\n", len(r.failures))
		for _, f := range r.failures {
			fmt.Fprintf(os.Stderr, "  - %s\n", f)
		}
		return 1
	}
	return 0
}

// repoRoot finds the folder holding go.mod, from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run the benchmark inside the repository: no go.mod above the working directory")
		}
		dir = parent
	}
}

var started = time.Now()

// progress reports on stderr, so stdout holds only the table.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	runExitHooks()
	os.Exit(2)
}

// Exit hooks undo what the run changed on the machine (processes, a lowered
// sysctl, temp files), on a normal exit and on SIGINT or SIGTERM alike.
var (
	hooksMu sync.Mutex
	hooks   []func()
)

// atExit registers f and returns a function that runs it once, early.
func atExit(f func()) (runNow func()) {
	var once sync.Once
	g := func() { once.Do(f) }
	hooksMu.Lock()
	hooks = append(hooks, g)
	hooksMu.Unlock()
	return g
}

func runExitHooks() {
	hooksMu.Lock()
	hs := slices.Clone(hooks)
	hooksMu.Unlock()
	for i := len(hs) - 1; i >= 0; i-- {
		hs[i]()
	}
}

func handleSignals() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-ch
		fmt.Fprintf(os.Stderr, "bench: %v: cleaning up\n", sig)
		runExitHooks()
		os.Exit(130)
	}()
}

// output runs a command and returns its trimmed combined output.
func output(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
