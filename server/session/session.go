// Package session is the backend's JSON-RPC face: the LSP-style lifecycle,
// workspace folders, settings and saves, and the runserver/* requests, each
// routed to the engine of its folder.
package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/config"
	"github.com/django-runserver/django-runserver/server/engine"
	"github.com/django-runserver/django-runserver/server/fileuri"
)

// Version is the backend's version, reported in initialize.
var Version = "0.1.0"

// lifecycle is the session's state, as in LSP.
type lifecycle int

const (
	created lifecycle = iota
	initialized
	shutDown
)

func (l lifecycle) String() string {
	switch l {
	case created:
		return "created"
	case initialized:
		return "initialized"
	}
	return "shut down"
}

// Session serves one editor connection.
type Session struct {
	conn   jsonrpc2.Conn
	logger *log.Logger
	exit   chan int // receives the exit code once

	mu      sync.Mutex // guards the fields below
	state   lifecycle
	folders map[string]*engine.Engine // by folder path
	global  map[string]any            // settings.djangoRunserver
	perDir  map[string]map[string]any // settings.djangoRunserverFolders, by folder path
	// showDocument: the editor declared window/showDocument, so a page's
	// click on a frame opens it there. Set by initialize.
	showDocument bool

	// calls are the requests to the editor in flight that no handler
	// waits for (window/showDocument); they end with callsCtx.
	calls    sync.WaitGroup
	callsCtx context.Context
	endCalls context.CancelFunc
}

// Serve runs a session on r and w until the editor sends exit or closes
// the stream, and returns the process exit code. Every server it started is
// stopped before it returns; ctx ending stops them too.
func Serve(ctx context.Context, r io.ReadCloser, w io.WriteCloser, logger *log.Logger) int {
	s := &Session{logger: logger, exit: make(chan int, 1), folders: map[string]*engine.Engine{}}
	s.callsCtx, s.endCalls = context.WithCancel(ctx)
	defer s.calls.Wait()
	defer s.endCalls()
	s.conn = jsonrpc2.NewConn(newStream(r, w))
	s.conn.Go(ctx, s.handle)
	code := 0
	select {
	case code = <-s.exit:
	case <-s.conn.Done():
		if err := s.conn.Err(); err != nil {
			logger.Printf("connection ended: %v", err)
		}
	case <-ctx.Done():
	}
	s.closeAll()
	// Close waits for the read loop, and a read blocked on a terminal or a
	// pipe's stdin ends only when the process does: don't wait for it long.
	closed := make(chan struct{})
	go func() { s.conn.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(time.Second):
	}
	return code
}

func (s *Session) handle(ctx context.Context, req *jsonrpc2.Request) (any, error) {
	method := req.Method()
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	switch {
	case method == protocol.MethodExit:
		code := 1
		if state == shutDown {
			code = 0
		}
		select {
		case s.exit <- code:
		default:
		}
		return nil, nil
	case state == created && method != protocol.MethodInitialize:
		if req.IsCall() {
			return nil, jsonrpc2.Errorf(protocol.ErrServerNotInitialized, "%s called before initialize: send initialize first", method)
		}
		return nil, nil
	case state == shutDown:
		if req.IsCall() {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidRequest, "%s called after shutdown: only exit is accepted", method)
		}
		return nil, nil
	}
	result, err := s.dispatch(ctx, req)
	if !req.IsCall() {
		if err != nil {
			// A notification has no reply; an error returned here would end
			// the connection.
			s.logger.Printf("%s: %v", method, err)
			s.showMessage(protocol.MessageError, err.Error())
		}
		return nil, nil
	}
	return result, err
}

func (s *Session) dispatch(ctx context.Context, req *jsonrpc2.Request) (any, error) {
	switch req.Method() {
	case protocol.MethodInitialize:
		var p protocol.InitializeParams
		if err := decode(req, &p); err != nil {
			return nil, err
		}
		return s.initialize(p)
	case protocol.MethodInitialized:
		s.announce(s.engines())
		return nil, nil
	case protocol.MethodShutdown:
		jsonrpc2.Async(ctx)
		s.mu.Lock()
		s.state = shutDown
		s.mu.Unlock()
		s.stopAll()
		return nil, nil
	case protocol.MethodDidChangeWorkspaceFolders:
		var p protocol.DidChangeWorkspaceFoldersParams
		if err := decode(req, &p); err != nil {
			return nil, err
		}
		return nil, s.changeFolders(p.Event)
	case protocol.MethodDidChangeConfiguration:
		var p protocol.ConfigurationParams
		if err := decode(req, &p); err != nil {
			return nil, err
		}
		return nil, s.configure(p.Settings)
	case protocol.MethodDidSave:
		var p protocol.DidSaveTextDocumentParams
		if err := decode(req, &p); err != nil {
			return nil, err
		}
		return nil, s.saved(p.TextDocument.URI)
	case protocol.MethodStart:
		var p protocol.StartParams
		e, err := s.decodeEngine(req, &p, &p.Folder)
		if err != nil {
			return nil, err
		}
		jsonrpc2.Async(ctx)
		if p.Debug {
			return e.Debug(p.Address, engine.DebugAttachWait), nil // the editor attaches at once
		}
		return e.Start(p.Address), nil
	case protocol.MethodStop, protocol.MethodRestart, protocol.MethodStatus:
		var p protocol.FolderParams
		e, err := s.decodeEngine(req, &p, &p.Folder)
		if err != nil {
			return nil, err
		}
		switch req.Method() {
		case protocol.MethodStop:
			jsonrpc2.Async(ctx)
			return <-e.Stop(), nil
		case protocol.MethodRestart:
			jsonrpc2.Async(ctx)
			return e.Restart(), nil
		}
		return e.Status(), nil
	case protocol.MethodSetTrace:
		return nil, nil
	}
	if strings.HasPrefix(req.Method(), "$/") || !req.IsCall() {
		// Optional notifications, $/cancelRequest among them: every request
		// here answers promptly, so there is nothing to cancel.
		return nil, nil
	}
	return nil, jsonrpc2.Errorf(jsonrpc2.MethodNotFound, "unknown method %q", req.Method())
}

// decodeEngine decodes req's params into p, and returns the engine of the
// folder they name: folder points into p.
func (s *Session) decodeEngine(req *jsonrpc2.Request, p any, folder *string) (*engine.Engine, error) {
	if err := decode(req, p); err != nil {
		return nil, err
	}
	return s.engine(*folder)
}

// decode unmarshals params; absent params decode as {}.
func decode(req *jsonrpc2.Request, v any) error {
	params := req.Params()
	if len(params) == 0 || string(params) == "null" {
		return nil
	}
	if err := json.Unmarshal(params, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "invalid params for %s: %s must be %s, not %s", req.Method(), te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		}
		return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "invalid params for %s: %v", req.Method(), err)
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "bool":
		return "a boolean"
	}
	return "a number"
}

func (s *Session) initialize(p protocol.InitializeParams) (*protocol.InitializeResult, error) {
	folders := p.WorkspaceFolders
	if len(folders) == 0 && p.RootURI != "" {
		folders = []protocol.WorkspaceFolder{{URI: p.RootURI}}
	}
	s.mu.Lock()
	if s.state != created {
		s.mu.Unlock()
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidRequest, "initialize called while server in %v state", s.state)
	}
	s.state = initialized
	if c := p.Capabilities; c != nil && c.Window != nil && c.Window.ShowDocument != nil {
		s.showDocument = c.Window.ShowDocument.Support
	}
	s.mu.Unlock()
	var errs []string
	for _, f := range folders {
		if _, err := s.addFolder(f.URI); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if p.InitializationOptions != nil && p.InitializationOptions.Settings != nil {
		if err := s.configure(p.InitializationOptions.Settings); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		s.showMessage(protocol.MessageError, strings.Join(errs, "; "))
	}
	return &protocol.InitializeResult{
		Capabilities: protocol.ServerCapabilities{
			TextDocumentSync: protocol.TextDocumentSyncOptions{OpenClose: false, Change: 0, Save: &protocol.SaveOptions{IncludeText: false}},
			Workspace: protocol.WorkspaceServerCapabilities{
				WorkspaceFolders: protocol.WorkspaceFoldersServerCapabilities{Supported: true, ChangeNotifications: true},
			},
		},
		ServerInfo: protocol.ServerInfo{Name: "django-runserver", Version: Version},
	}, nil
}

func (s *Session) addFolder(uri string) (*engine.Engine, error) {
	path, err := localPath(uri)
	if err != nil {
		return nil, fmt.Errorf("workspace folder %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.folders[path]; ok {
		return e, nil
	}
	e := engine.New(uri, path, &notifier{s: s})
	e.SetSettings(config.Resolve(s.global, s.perDir[path]))
	s.folders[path] = e
	return e, nil
}

func (s *Session) changeFolders(ev protocol.WorkspaceFoldersChangeEvent) error {
	var errs []string
	for _, f := range ev.Removed {
		path, err := s.folderPath(f.URI)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		s.mu.Lock()
		e := s.folders[path]
		delete(s.folders, path)
		s.mu.Unlock()
		if e != nil {
			e.Close()
		}
	}
	var added []*engine.Engine
	for _, f := range ev.Added {
		e, err := s.addFolder(f.URI)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		added = append(added, e)
	}
	s.announce(added)
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// announce tells the editor which folders can run a server.
func (s *Session) announce(engines []*engine.Engine) {
	for _, e := range engines {
		if e.HasManagePy() {
			s.notify(protocol.MethodDidChangeStatus, e.Status())
		}
	}
}

func (s *Session) configure(settings map[string]any) error {
	global, ok := settings[protocol.SettingsSection].(map[string]any)
	if !ok && settings[protocol.SettingsSection] != nil {
		return fmt.Errorf("settings.%s must be an object", protocol.SettingsSection)
	}
	perDir := map[string]map[string]any{}
	if raw, ok := settings[protocol.FolderSettingsSection].(map[string]any); ok {
		for uri, v := range raw {
			m, ok := v.(map[string]any)
			path, err := localPath(uri)
			if !ok || err != nil {
				return fmt.Errorf("settings.%s must map folder URIs to objects; %q does not", protocol.FolderSettingsSection, uri)
			}
			perDir[path] = m
		}
	}
	s.mu.Lock()
	s.global, s.perDir = global, perDir
	engines := s.sortedEnginesLocked()
	s.mu.Unlock()
	var errs []string
	for _, e := range engines {
		st, err := config.Resolve(global, perDir[e.Folder()])
		e.SetSettings(st, err)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", filepath.Base(e.Folder()), err))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func (s *Session) saved(uri string) error {
	path, err := localPath(uri)
	if err != nil {
		return nil // an unsaved or remote document: nothing to reload
	}
	now := time.Now()
	var best *engine.Engine
	for _, e := range s.engines() {
		if !fileuri.Inside(e.Folder(), path) {
			continue
		}
		if best == nil || len(e.Folder()) > len(best.Folder()) {
			best = e
		}
	}
	if best != nil {
		best.Changed([]string{path}, protocol.TriggerSave, now)
	}
	return nil
}

// engine finds the engine of a folder URI, or the only folder with a
// manage.py when uri is empty.
func (s *Session) engine(uri string) (*engine.Engine, error) {
	if uri != "" {
		path, err := s.folderPath(uri)
		if err != nil {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%v", err)
		}
		s.mu.Lock()
		e := s.folders[path]
		s.mu.Unlock()
		if e == nil {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s is not a workspace folder: name one of the folders given in initialize or workspace/didChangeWorkspaceFolders", uri)
		}
		return e, nil
	}
	engines := s.engines()
	var withManage []*engine.Engine
	for _, e := range engines {
		if e.HasManagePy() {
			withManage = append(withManage, e)
		}
	}
	switch {
	case len(withManage) == 1:
		return withManage[0], nil
	case len(withManage) > 1:
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%d workspace folders have a manage.py: name one with the folder parameter", len(withManage))
	case len(engines) == 1:
		return engines[0], nil // its start explains that manage.py is missing
	}
	return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "no workspace folder has a manage.py: open a Django project's folder")
}

func (s *Session) folderPath(uri string) (string, error) {
	path, err := localPath(uri)
	if err != nil {
		return "", fmt.Errorf("folder %w", err)
	}
	return path, nil
}

// localPath is the real path of a file:// URI: the watcher and Django's
// tracebacks name real paths, so folders and documents are keyed by them.
func localPath(uri string) (string, error) {
	path, err := fileuri.ToPath(uri)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	return path, nil
}

func (s *Session) engines() []*engine.Engine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedEnginesLocked()
}

func (s *Session) sortedEnginesLocked() []*engine.Engine {
	out := make([]*engine.Engine, 0, len(s.folders))
	for _, e := range s.folders {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Folder() < out[j].Folder() })
	return out
}

// stopAll stops every server, in parallel, and waits.
func (s *Session) stopAll() {
	var wg sync.WaitGroup
	for _, e := range s.engines() {
		wg.Add(1)
		go func() { defer wg.Done(); <-e.Stop() }()
	}
	wg.Wait()
}

// closeAll stops every server and ends the engines.
func (s *Session) closeAll() {
	s.mu.Lock()
	engines := s.sortedEnginesLocked()
	s.folders = map[string]*engine.Engine{}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Add(1)
		go func() { defer wg.Done(); e.Close() }()
	}
	wg.Wait()
}

func (s *Session) notify(method string, params any) {
	if err := s.conn.Notify(context.Background(), method, params); err != nil && !errors.Is(err, jsonrpc2.ErrClientClosing) && !errors.Is(err, jsonrpc2.ErrServerClosing) {
		s.logger.Printf("cannot send %s: %v", method, err)
	}
}

func (s *Session) showMessage(typ protocol.MessageType, msg string) {
	s.notify(protocol.MethodShowMessage, protocol.ShowMessageParams{Type: typ, Message: msg})
}
