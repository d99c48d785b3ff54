// Package errorpage is what the backend answers on a server's address
// while the server is failed: a 503 page saying why (the exception, its
// message, file and line, and the traceback's frames inside the
// workspace), and the event stream that reloads the page once a process
// serves again. Everything shown is escaped by html/template. A click on a
// frame opens it (contract.OpenPath), with openframe's checks.
package errorpage

import (
	"bufio"
	"bytes"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/openframe"
	"github.com/django-runserver/django-runserver/server/parse"
	"github.com/django-runserver/django-runserver/server/reloader"
)

// heartbeat is how often an idle stream sends a comment, which finds
// browsers that left.
const heartbeat = 15 * time.Second

// Failure is what the page shows.
type Failure struct {
	Error protocol.Error
	// Frames are the traceback's frames inside the workspace, oldest first.
	Frames []parse.Frame
	// Workspace is the folder the file names are shown relative to, and
	// the only one whose files a click opens.
	Workspace string
	// Open opens a file at a line in the user's editor; nil: the page
	// copies "file:line" instead.
	Open func(file string, line int)
}

// Page serves one failure. A new failure is a new Page, with a new id, so
// an open page of an earlier one reloads to show it.
type Page struct {
	id        string
	token     string // the script tag's, for contract.OpenPath; not the id, which every stream request shows
	workspace string
	open      func(file string, line int)
	html      []byte
}

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

type frameView struct {
	File   string
	Line   int
	Func   string
	Source string
}

// New renders the page for f.
func New(f Failure) (*Page, error) {
	id, err := newID()
	if err != nil {
		return nil, err
	}
	token, err := openframe.NewToken()
	if err != nil {
		return nil, err
	}
	frames := make([]frameView, 0, len(f.Frames))
	for _, fr := range f.Frames {
		frames = append(frames, frameView{File: relative(f.Workspace, fr.File), Line: fr.Line, Func: fr.Func, Source: sourceLine(fr.File, fr.Line)})
	}
	file := ""
	if f.Error.File != "" {
		file = relative(f.Workspace, f.Error.File)
	}
	var b bytes.Buffer
	err = pageTemplate.Execute(&b, map[string]any{
		"Error":  f.Error,
		"File":   file,
		"Frames": frames,
		"Script": contract.ScriptPath,
		"ID":     id,
		"Token":  token,
	})
	if err != nil {
		return nil, fmt.Errorf("render the error page: %w", err)
	}
	return &Page{id: id, token: token, workspace: f.Workspace, open: f.Open, html: b.Bytes()}, nil
}

// ServeHTTP answers the browser script, its event stream, and the page
// itself for every other request.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case contract.ScriptPath:
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(reloader.Script)
	case contract.EventsPath:
		p.stream(w, r)
	case contract.OpenPath:
		p.openFrame(w, r)
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		if r.Method != http.MethodHead {
			w.Write(p.html)
		}
	}
}

// openFrame opens a frame the page's user clicked, in the editor, or
// answers what the page copies instead.
func (p *Page) openFrame(w http.ResponseWriter, r *http.Request) {
	file, line, err := openframe.Read(r, p.token, p.workspace)
	if err != nil {
		openframe.Refuse(w, err)
		return
	}
	if p.open == nil {
		openframe.Reply(w, contract.OpenReply{Copy: openframe.Copy(file, line)})
		return
	}
	p.open(file, line)
	openframe.Reply(w, contract.OpenReply{Opened: true})
}

// stream tells a page from elsewhere to reload (to show this failure), and
// holds this page's own stream until the backend stops serving, when the
// browser reconnects to the next process.
func (p *Page) stream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fmt.Fprintf(w, "%s\n\n", contract.StreamOpen)
	if r.URL.Query().Get("page") != p.id {
		fmt.Fprintf(w, "event: %s\ndata: failed\n\n", contract.EventReload)
		return
	}
	flusher, _ := w.(http.Flusher)
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return
			}
		}
	}
}

func newID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make an error page id: %w", err)
	}
	return "failed-" + hex.EncodeToString(b), nil
}

func relative(root, file string) string {
	if rel, err := filepath.Rel(root, file); err == nil && root != "" && filepath.IsLocal(rel) {
		return filepath.ToSlash(rel)
	}
	return file
}

// maxSourceLine bounds what is shown of one source line.
const maxSourceLine = 500

// sourceLine is line n of file, as it is on disk now, or "".
func sourceLine(file string, n int) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for i := 1; sc.Scan(); i++ {
		if i == n {
			s := sc.Text()
			if len(s) > maxSourceLine {
				s = s[:maxSourceLine] + "…"
			}
			return s
		}
	}
	return ""
}
