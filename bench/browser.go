//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/django-runserver/django-runserver/internal/requestpoll"
	"github.com/django-runserver/django-runserver/server/contract"
)

// The browser's side of a save, on copies of testdata/livesite: how soon
// the open page shows a saved view, and how many requests fail while
// servers reload.

// reconnectAfterFailure is how long live.js waits after a connection to the
// stream failed, the first time; a stream that was open and ended is
// reconnected at once.
const reconnectAfterFailure = 250 * time.Millisecond

var pageIDRE = regexp.MustCompile(`data-page="([^"]+)"`)

// livesite is a copy of testdata/livesite whose view's VERSION the bench
// rewrites: version n is "bench-n.", shown at / and at /version.
type livesite struct {
	dir, views string
	original   string
	n          int
}

func newLivesite(cfg *config, name string) (*livesite, error) {
	dir := filepath.Join(cfg.tmp, name)
	if err := copyTree(filepath.Join(cfg.root, "testdata", "livesite"), dir); err != nil {
		return nil, err
	}
	views := filepath.Join(dir, "livesite", "views.py")
	b, err := os.ReadFile(views)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(string(b), `VERSION = "v1"`) {
		return nil, fmt.Errorf("%s has no VERSION line to edit", views)
	}
	return &livesite{dir: dir, views: views, original: string(b)}, nil
}

// edit returns the view's next version and the marker its pages show.
func (s *livesite) edit() (text, marker string) {
	s.n++
	marker = fmt.Sprintf("bench-%d.", s.n)
	return strings.Replace(s.original, `VERSION = "v1"`, `VERSION = "`+marker+`"`, 1), marker
}

// save writes the view's next version and tells srv, and returns the
// marker its pages will show and when the save was.
func (s *livesite) save(srv server) (string, time.Time, error) {
	text, marker := s.edit()
	t0 := time.Now()
	if err := os.WriteFile(s.views, []byte(text), 0o644); err != nil {
		return "", t0, err
	}
	return marker, t0, srv.afterWrite(s.views)
}

// openPage is a page open in a browser with our script: it listens on the
// event stream, as live.js does, until it is told to reload.
type openPage struct {
	base string
	id   string
	resp *http.Response
	sc   *bufio.Scanner
}

var streamClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// open loads the page and opens its event stream; it returns once the
// stream is open.
func openLivePage(base string) (*openPage, error) {
	body, err := get(base + "/")
	if err != nil {
		return nil, err
	}
	m := pageIDRE.FindStringSubmatch(body)
	if m == nil {
		return nil, fmt.Errorf("%s/ has no reload script", base)
	}
	p := &openPage{base: base, id: m[1]}
	return p, p.connect()
}

func (p *openPage) connect() error {
	resp, err := streamClient.Get(p.base + contract.EventsPath + "?page=" + p.id)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fmt.Errorf("the event stream: %s", resp.Status)
	}
	p.resp, p.sc = resp, bufio.NewScanner(resp.Body)
	return nil
}

// awaitReload reads the stream until it says reload, reconnecting as
// live.js does: at once when the stream ends, after a pause when the
// connection fails.
func (p *openPage) awaitReload(ctx context.Context) error {
	defer func() { p.resp.Body.Close() }()
	for {
		for p.sc.Scan() {
			if p.sc.Text() == "event: "+contract.EventReload {
				return nil
			}
		}
		p.resp.Body.Close()
		for err := p.connect(); err != nil; err = p.connect() {
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
			case <-time.After(reconnectAfterFailure):
			}
		}
	}
}

// counter counts the requests that fail while a server reloads: a page
// requested every 10 ms (requestpoll), as in the acceptance test, each
// answer other than 200, or none within httpClient's timeout, a failure.
type counter struct{ p *requestpoll.Poller }

func countRequests(url string) *counter {
	return &counter{requestpoll.Start(url, httpClient.Timeout, requestpoll.OnlyOK)}
}

// stop stops sending, and returns once every request sent has its answer.
func (c *counter) stop() (total, failed int64) {
	ok, failed, _ := c.p.Stop()
	return ok + failed, failed
}

// runBrowser measures, for a saved view: ours, until the open page has
// reloaded by itself and shows it, against the floor with a refresh the
// moment it serves; and the requests that fail during reloads, for ours
// and each of Django's reloaders.
func runBrowser(cfg *config, env *env, r *report) {
	progress("browser: ours and the floor on copies of testdata/livesite")
	site, err := newLivesite(cfg, "livesite-ours")
	if err != nil {
		r.fail("browser: %v", err)
		return
	}
	// As a user runs it: preloading as the default has it.
	srv, port := startOursOr(env, r, "browser, ours", site.dir, "auto")
	if srv == nil {
		return
	}
	defer srv.close()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	served, round := newSample("ms"), 0
	shown, failures, total, failed, err := pageRounds(cfg, "ours", func(last time.Time) (time.Duration, int64, int64, error) {
		shown, fetched, total, failed, err := oursPageShows(srv, site, base, last)
		if round++; round > 1 && err == nil { // as pageRounds, without its warm-up
			served.addDuration(fetched)
		}
		return shown, total, failed, err
	})
	if err != nil {
		r.fail("browser, ours: %v", err)
		return
	}
	r.put("browser/ours", shown)
	r.put("browser/ours-served", served)
	r.put("failed/ours", failures)
	r.failedTotals = append(r.failedTotals, failedTotal{"ours", total, failed})

	eachDjango(env, r, "browser", []string{noreload, stat, watchman},
		func(key string) (*livesite, error) { return newLivesite(cfg, "livesite-"+key) },
		func(s *livesite, port int, reloader string) (*plain, error) {
			return startPlain(env.python, s.dir, port, reloader, fmt.Sprintf("http://127.0.0.1:%d/version", port))
		},
		func(key string, p *plain, s *livesite, port int) {
			base := fmt.Sprintf("http://127.0.0.1:%d", port)
			shown, failures, total, failed, err := pageRounds(cfg, key, func(last time.Time) (time.Duration, int64, int64, error) {
				return refreshShows(p, s, base, last)
			})
			p.close()
			if err != nil {
				r.fail("browser, %s: %v", key, err)
			}
			if key == rowKey[noreload] {
				r.put("browser/floor", shown)
				return // the floor is down on purpose during each save
			}
			r.put("failed/"+key, failures)
			r.failedTotals = append(r.failedTotals, failedTotal{key, total, failed})
		})
}

// pageRounds saves cfg.reps+1 times with measure, the first a warm-up left
// out, and returns the times until the page showed each save and the
// requests that failed meanwhile; on an error, what it measured until then.
func pageRounds(cfg *config, key string, measure func(last time.Time) (time.Duration, int64, int64, error)) (shown, failures *sample, total, failed int64, err error) {
	shown, failures = newSample("ms"), newSample("requests")
	last := time.Now()
	for i := 0; i <= cfg.reps; i++ {
		progress("browser, %s: save %d of %d%s", key, i+1, cfg.reps+1, map[bool]string{true: " (warm-up)"}[i == 0])
		d, t, f, err := measure(last)
		last = time.Now()
		if err != nil {
			return shown, failures, total, failed, err
		}
		if i > 0 {
			shown.addDuration(d)
			failures.add(float64(f))
			total, failed = total+t, failed+f
		}
	}
	return shown, failures, total, failed, nil
}

// oursPageShows saves the view with a page open and returns the time from
// the save until the page, reloaded by its script, shows it; and the
// requests sent meanwhile, and failed, by a client polling every 10 ms.
// It also returns the time from the same save until the server first
// answered with the new content, as a fetch sees it.
func oursPageShows(srv *ours, s *livesite, base string, last time.Time) (shown, fetched time.Duration, total, failed int64, err error) {
	if err := srv.settle(last); err != nil {
		return 0, 0, 0, 0, err
	}
	page, err := openLivePage(base)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	c := countRequests(base + "/version")
	marker, t0, err := s.save(srv)
	if err != nil {
		c.stop()
		return 0, 0, 0, 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), missAfter)
	defer cancel()
	first := make(chan time.Time, 1)
	go func() {
		t1, _ := waitServed(ctx, base+"/version", marker)
		first <- t1
	}()
	if err := page.awaitReload(ctx); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("the open page was not told to reload: %w", err)
	}
	body, err := get(base + "/")
	if err != nil || !strings.Contains(body, marker) {
		return 0, 0, 0, 0, fmt.Errorf("the reloaded page does not show %q: %v", marker, err)
	}
	shown = time.Since(t0)
	total, failed = c.stop()
	t1 := <-first
	if t1.IsZero() {
		return 0, 0, 0, 0, fmt.Errorf("a fetch of /version never showed %q", marker)
	}
	return shown, t1.Sub(t0), total, failed, nil
}

// refreshShows saves the view of a plain runserver and returns the time
// until a refresh shows it, refreshing again the moment one fails (the
// floor: the best a user refreshing by hand can do); and the requests
// sent meanwhile, and failed, by a client polling every 10 ms.
func refreshShows(p *plain, s *livesite, base string, last time.Time) (time.Duration, int64, int64, error) {
	if err := p.settle(last); err != nil {
		return 0, 0, 0, err
	}
	c := countRequests(base + "/version")
	marker, t0, err := s.save(p)
	if err != nil {
		c.stop()
		return 0, 0, 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), missAfter)
	defer cancel()
	t1, err := waitServed(ctx, base+"/", marker)
	total, failed := c.stop()
	if err != nil {
		return 0, 0, 0, err
	}
	return t1.Sub(t0), total, failed, nil
}

// failedTotal is the requests a server got during the measured saves.
type failedTotal struct {
	key           string
	total, failed int64
}

// browserMarkdown renders the browser section.
func (r *report) browserMarkdown(b *strings.Builder) {
	b.WriteString("### In the browser\n\n")
	b.WriteString("A view of a copy of testdata/livesite is saved. Ours (`fast`, didSave) with a page open: from the save\n" +
		"until the page, reloaded by its own script, shows the new content. The page's event stream ends as the\n" +
		"old process starts to reload, and the script reconnects at once, as live.js does: the connection waits in\n" +
		"the kept socket's queue, and the new process tells it to reload the moment it serves. Beside it, from the\n" +
		"same saves, the time until a fetch of `/version` (every 3 ms) first gets the new content: what the page\n" +
		"can't beat. The floor (`--noreload`, killed and started cold) with a manual refresh the moment the new\n" +
		"process answers, refreshing again at once after each failure: the best a user who switches to the\n" +
		"browser and presses F5 can do.\n\n")
	r.table(b, []row{
		{"ours: the open page reloads itself", "browser/ours"},
		{"ours: a fetch first gets the new content", "browser/ours-served"},
		{"floor + an immediate manual refresh", "browser/floor"},
	}, []anchor{{"floor", "browser/floor"}}, false, nil)
	b.WriteString("\nFailed requests while the server reloads: a request for `/version` every 10 ms (each on a new\n" +
		"connection, without waiting for the one before) from just before each save until the new content is\n" +
		"served. A failure is a refused or reset connection, an HTTP error, or no answer within 5 s.\n\n")
	b.WriteString("| server | requests | failed | per save: median (min – max) |\n|---|---|---|---|\n")
	labels := map[string]string{"ours": "ours, `fast`", "stat": "Django StatReloader", "watchman": "Django WatchmanReloader"}
	for _, key := range []string{"ours", "stat", "watchman"} {
		var t *failedTotal
		for i := range r.failedTotals {
			if r.failedTotals[i].key == key {
				t = &r.failedTotals[i]
			}
		}
		switch s := r.get("failed/" + key); {
		case t != nil && s != nil:
			pct := 0.0
			if t.total > 0 {
				pct = 100 * float64(t.failed) / float64(t.total)
			}
			fmt.Fprintf(b, "| %s | %d | **%d** (%.1f%%) | %.0f (%.0f – %.0f) |\n", labels[key], t.total, t.failed, pct, s.median(), s.min(), s.max())
		case r.unavail[key] != "":
			fmt.Fprintf(b, "| %s | unavailable: %s | | |\n", labels[key], r.unavail[key])
		default:
			fmt.Fprintf(b, "| %s | not measured | | |\n", labels[key])
		}
	}
	b.WriteString("\n")
}
