package reloader

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/django-runserver/django-runserver/server/contract"
)

// entry is one value of the contract and the constant that names it in each
// embedded file that uses it.
type entry struct {
	goName string
	value  any // string or int
	in     map[string]string
	// forbid are more inline forms the files must not hold, beside the
	// value itself.
	forbid []string
}

var contractEntries = []entry{
	{goName: "ListenFDEnv", value: contract.ListenFDEnv, in: map[string]string{"live.py": "LISTEN_FD_ENV", "debug.py": "LISTEN_FD_ENV"}},
	{goName: "ReadyFDEnv", value: contract.ReadyFDEnv, in: map[string]string{"live.py": "READY_FD_ENV"}},
	{goName: "BrowserReloadEnv", value: contract.BrowserReloadEnv, in: map[string]string{"live.py": "BROWSER_RELOAD_ENV"}},
	{goName: "BrowserReloadOn", value: contract.BrowserReloadOn, in: map[string]string{"live.py": "BROWSER_RELOAD_ON"}},
	{goName: "ModulesEnv", value: contract.ModulesEnv, in: map[string]string{"shim.py": "MODULES_ENV"}},
	{goName: "PreloadSocketEnv", value: contract.PreloadSocketEnv, in: map[string]string{"preload.py": "SOCKET_ENV"}},
	{goName: "DebugWaitEnv", value: contract.DebugWaitEnv, in: map[string]string{"debug.py": "DEBUG_WAIT_ENV"}},
	{goName: "ReadyLine", value: contract.ReadyLine, in: map[string]string{"live.py": "READY"}},
	{goName: "ExitServerDied", value: contract.ExitServerDied, in: map[string]string{"shim.py": "EXIT_SERVER_DIED"}},
	{goName: "ExitReload", value: contract.ExitReload, in: map[string]string{"shim.py": "EXIT_RELOAD"}},
	{goName: "ExitNoDebugpy", value: contract.ExitNoDebugpy, in: map[string]string{"debug.py": "EXIT_NO_DEBUGPY"}},
	{goName: "ExitInterrupted", value: contract.ExitInterrupted, in: map[string]string{"shim.py": "EXIT_INTERRUPTED"}},
	{goName: "DebugListeningPrefix", value: contract.DebugListeningPrefix, in: map[string]string{"debug.py": "DEBUG_LISTENING"}},
	{goName: "DebugNotAttachedPrefix", value: contract.DebugNotAttachedPrefix, in: map[string]string{"debug.py": "DEBUG_NOT_ATTACHED"}},
	{goName: "RequestErrorPrefix", value: contract.RequestErrorPrefix, in: map[string]string{"shim.py": "REQUEST_ERROR"}},
	{goName: "ReservedPath", value: contract.ReservedPath, in: map[string]string{"page.py": "RESERVED"}},
	{goName: "ScriptPath", value: contract.ScriptPath, in: map[string]string{"page.py": "SCRIPT"}},
	{goName: "EventsPath", value: contract.EventsPath, in: map[string]string{"page.py": "EVENTS", "live.js": "EVENTS"}},
	{goName: "EventReload", value: contract.EventReload, in: map[string]string{"page.py": "RELOAD_EVENT", "live.js": "RELOAD_EVENT"},
		forbid: []string{"event: " + contract.EventReload}},
	{goName: "EventCSS", value: contract.EventCSS, in: map[string]string{"page.py": "CSS_EVENT", "live.js": "CSS_EVENT"},
		forbid: []string{"event: " + contract.EventCSS}},
	{goName: "StreamOpen", value: contract.StreamOpen, in: map[string]string{"page.py": "STREAM_OPEN"}},
	{goName: "WorkspaceEnv", value: contract.WorkspaceEnv, in: map[string]string{"page.py": "WORKSPACE_ENV"}},
	{goName: "OpenEnv", value: contract.OpenEnv, in: map[string]string{"page.py": "OPEN_ENV"}},
	{goName: "OpenInEditor", value: contract.OpenInEditor, in: map[string]string{"page.py": "OPEN_IN_EDITOR"}},
	{goName: "OpenPath", value: contract.OpenPath, in: map[string]string{"page.py": "OPEN", "live.js": "OPEN"}},
	{goName: "OpenTokenHeader", value: contract.OpenTokenHeader, in: map[string]string{"page.py": "TOKEN_HEADER", "live.js": "TOKEN_HEADER"}},
	{goName: "OpenLinePrefix", value: contract.OpenLinePrefix, in: map[string]string{"page.py": "OPEN_LINE"}},
	{goName: "RunserverLinePrefix", value: contract.RunserverLinePrefix, in: map[string]string{"live.py": "RUNSERVER_LINE"}},
	{goName: "ServerDjango", value: contract.ServerDjango, in: map[string]string{"live.py": "SERVER_DJANGO"}},
	{goName: "ServerDaphne", value: contract.ServerDaphne, in: map[string]string{"live.py": "SERVER_DAPHNE"}},
	{goName: "ServerOther", value: contract.ServerOther, in: map[string]string{"live.py": "SERVER_OTHER"}},
}

// distinctive is the length from which a string value is looked for inside
// other strings too ("...?page=" beside a path, say); shorter ones, words
// like "css", only as a whole string.
const distinctive = 10

// TestContract checks the embedded Python and JavaScript against the Go
// declarations of server/contract: each file that uses an entry names it
// once, as a top-level constant with the Go value, and holds no inline copy
// of it (in strings; comments and docstrings may mention it). A value
// changed on one side alone fails here.
func TestContract(t *testing.T) {
	sources := embeddedSources(t)
	parsed := parseSources(t, sources)
	for _, e := range contractEntries {
		for file, name := range e.in {
			p, ok := parsed[file]
			if !ok {
				t.Errorf("contract.%s: %s is not embedded", e.goName, file)
				continue
			}
			got, ok := p.Constants[name]
			if !ok {
				t.Errorf("contract.%s: %s has no top-level constant %s; declare it there as %s = %s", e.goName, file, name, name, pyLiteral(e.value))
				continue
			}
			if !sameValue(got, e.value) {
				t.Errorf("contract.%s is %s in Go, but %s's %s is %s", e.goName, pyLiteral(e.value), file, name, pyLiteral(got))
			}
		}
		for file, p := range parsed {
			_, names := e.in[file]
			checkNoInlineCopy(t, e, file, names, p)
		}
	}
	checkMessageKeys(t, "preload.py", parsed["preload.py"], contract.PreloadRequest{}, contract.PreloadFork{}, contract.PreloadReply{})
	checkMessageKeys(t, "shim.py", parsed["shim.py"], contract.RequestError{}, contract.RequestFrame{}, contract.TemplateSpot{})
	checkKeysUsed(t, "page.py", parsed["page.py"], contract.OpenRequest{}, contract.OpenReply{})
	checkMessageKeys(t, "live.py", parsed["live.py"], contract.Runserver{})
}

// checkNoInlineCopy fails on an inline copy of e's value in file: a string
// that is (or holds, for a distinctive value) the value, or an exit call
// with it. A file that doesn't name the entry is only checked for
// distinctive strings: "1" or "css" mean other things there.
func checkNoInlineCopy(t *testing.T, e entry, file string, names bool, p parsedSource) {
	t.Helper()
	switch v := e.value.(type) {
	case string:
		for _, s := range p.Strings {
			copied := len(v) >= distinctive && strings.Contains(s.Value, v) || names && s.Value == v
			for _, f := range e.forbid {
				copied = copied || names && strings.Contains(s.Value, f)
			}
			if copied {
				t.Errorf("%s:%d: %q copies contract.%s (%q) inline; use %s", file, s.Line, s.Value, e.goName, v, constantName(e, file))
			}
		}
	case int:
		if !names {
			return
		}
		for _, x := range p.Exits {
			if x.Value == v {
				t.Errorf("%s:%d: exits with %d inline, contract.%s; use %s", file, x.Line, v, e.goName, e.in[file])
			}
		}
	}
}

func constantName(e entry, file string) string {
	if name, ok := e.in[file]; ok {
		return name
	}
	return "a constant, checked here like " + fmt.Sprint(e.in)
}

// checkMessageKeys checks the JSON messages file writes or reads: every key
// of types (server/contract) is used by file, and every message it writes (a
// dict display inside a function, or reply["key"] = ...) has only those keys.
func checkMessageKeys(t *testing.T, file string, p parsedSource, types ...any) {
	t.Helper()
	keys := checkKeysUsed(t, file, p, types...)
	for _, k := range p.DictKeys {
		if !keys[k.Value] {
			t.Errorf("%s:%d: the message key %q is not in server/contract's types for it; add it there", file, k.Line, k.Value)
		}
	}
}

// checkKeysUsed checks that file uses every JSON key of the messages
// types, and returns the keys.
func checkKeysUsed(t *testing.T, file string, p parsedSource, types ...any) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	for _, v := range types {
		typ := reflect.TypeOf(v)
		for i := 0; i < typ.NumField(); i++ {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			keys[name] = true
		}
	}
	used := map[string]bool{}
	for _, s := range p.Strings {
		used[s.Value] = true
	}
	for k := range keys {
		if !used[k] {
			t.Errorf("%s never uses the key %q of its messages (server/contract)", file, k)
		}
	}
	return keys
}

// parsedSource is what the contract needs of one embedded file.
type parsedSource struct {
	// Constants are the top-level NAME = value assignments whose value is
	// a literal, or a sum of literals and constants before it.
	Constants map[string]any
	// Strings are the string literals outside those and outside
	// docstrings and comments; bytes as Latin-1.
	Strings []located[string]
	// Exits are the calls exit(N), sys.exit(N) and os._exit(N) with a
	// literal N.
	Exits []located[int]
	// DictKeys are the string keys of dict displays inside functions (a
	// module's tables are no messages), and of stores name["key"] = ...
	DictKeys []located[string]
}

type located[T any] struct {
	Value T
	Line  int
}

func embeddedSources(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		out[path] = string(mustRead(path))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func parseSources(t *testing.T, sources map[string]string) map[string]parsedSource {
	t.Helper()
	py := map[string]string{}
	out := map[string]parsedSource{}
	for name, src := range sources {
		switch filepath.Ext(name) {
		case ".py":
			py[name] = src
		case ".js":
			out[name] = parseJS(src)
		default:
			t.Fatalf("the contract test can't read %s: teach it", name)
		}
	}
	in, err := json.Marshal(py)
	if err != nil {
		t.Fatal(err)
	}
	// Debian's python3, which `make test` installs: any 3.8+ has ast.
	cmd := exec.Command("/usr/bin/python3", "-c", parsePython)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("parse the embedded Python: %v\n%s", err, stderr.String())
	}
	var parsed map[string]parsedSource
	if err := json.Unmarshal(b, &parsed); err != nil {
		t.Fatalf("the parser's output: %v\n%s", err, b)
	}
	for name, p := range parsed {
		out[name] = p
	}
	return out
}

// parsePython reads {file: source} on stdin and writes {file:
// parsedSource} on stdout.
const parsePython = `
import ast, json, sys

def text(v):
    return v.decode("latin-1") if isinstance(v, bytes) else v

def evaluate(node, consts):
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes, int)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in consts:
        return consts[node.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return evaluate(node.left, consts) + evaluate(node.right, consts)
    raise ValueError(ast.dump(node))

def parse(src):
    tree = ast.parse(src)
    consts, skip, tables = {}, set(), set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            tables.add(id(stmt.value))
            try:
                consts[stmt.targets[0].id] = evaluate(stmt.value, consts)
            except ValueError:
                continue
            skip.update(id(n) for n in ast.walk(stmt.value))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body \
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            skip.add(id(body[0].value))
    strings, exits, keys = [], [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and id(node) not in skip:
            strings.append({"Value": text(node.value), "Line": node.lineno})
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and type(node.args[0].value) is int:
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name in ("exit", "_exit"):
                exits.append({"Value": node.args[0].value, "Line": node.lineno})
        if isinstance(node, ast.Dict) and id(node) not in tables:
            keys += [{"Value": k.value, "Line": k.lineno} for k in node.keys
                     if isinstance(k, ast.Constant) and isinstance(k.value, str)]
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name):
            k = getattr(node.slice, "value", None) if type(node.slice).__name__ == "Index" else node.slice
            if isinstance(k, ast.Constant) and isinstance(k.value, str):
                keys.append({"Value": k.value, "Line": node.lineno})
    return {"Constants": {k: text(v) for k, v in consts.items()}, "Strings": strings, "Exits": exits, "DictKeys": keys}

json.dump({name: parse(src) for name, src in json.load(sys.stdin).items()}, sys.stdout)
`

var (
	jsConstant = regexp.MustCompile(`^\s*var ([A-Z][A-Z0-9_]*) = ("(?:[^"\\]|\\.)*"|-?[0-9]+);$`)
	jsString   = regexp.MustCompile(`"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'`)
)

// parseJS reads live.js as parseSource reads Python: its constants are the
// lines "var NAME = literal;" (the file is one function), its strings those
// of the other lines, outside // comments.
func parseJS(src string) parsedSource {
	p := parsedSource{Constants: map[string]any{}}
	for i, line := range strings.Split(src, "\n") {
		if m := jsConstant.FindStringSubmatch(line); m != nil {
			if s, err := strconv.Unquote(m[2]); err == nil {
				p.Constants[m[1]] = s
			} else if n, err := strconv.Atoi(m[2]); err == nil {
				p.Constants[m[1]] = float64(n) // as JSON gives Python's
			}
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "//") {
			continue
		}
		for _, lit := range jsString.FindAllString(line, -1) {
			p.Strings = append(p.Strings, located[string]{Value: lit[1 : len(lit)-1], Line: i + 1})
		}
	}
	return p
}

// sameValue compares a parsed constant (a JSON string or number) with a Go
// value.
func sameValue(got, want any) bool {
	switch w := want.(type) {
	case int:
		f, ok := got.(float64)
		return ok && f == float64(w)
	default:
		return got == want
	}
}

func pyLiteral(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// TestContractHasNoCopyInGo fails on a Go file outside server/contract that
// spells a distinctive contract value: it must use the declaration.
func TestContractHasNoCopyInGo(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, e := range contractEntries {
		if s, ok := e.value.(string); ok && len(s) >= distinctive {
			values = append(values, strconv.Quote(s)[:len(strconv.Quote(s))-1]) // the literal's start
		}
	}
	sort.Strings(values)
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "contract", "node_modules", ".git", ".cache":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range values {
			if bytes.Contains(b, []byte(v)) {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s spells the contract's %s\": use server/contract's declaration", rel, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
