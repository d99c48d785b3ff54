package protocol

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The protocol is written three times: the Go declarations (protocol.go), their TypeScript mirror
// in the VS Code extension, and the tables of the specification (README.md). parity compares the
// three and names every difference, so a change to one that misses another fails the build.

// The three sources, relative to this package.
const (
	goSource     = "protocol.go"
	tsSource     = "../vscode-extension/src/protocol.ts"
	readmeSource = "README.md"
)

// tsName is the TypeScript name of a Go type where they differ: a TypeScript Error would shadow
// JavaScript's own.
var tsName = map[string]string{"Error": "ServerError"}

// mirrored are the Go structs the TypeScript side must declare. Other structs are LSP shapes that
// vscode-languageclient declares; any of them that protocol.ts declares anyway is compared too.
var mirrored = []string{"Status", "Error", "Trigger", "Holder", "Settings", "FolderParams", "StartParams", "LogParams", "DebugStatus", "DebugReadyParams", "DebugGoneParams"}

// readmeTables are the README tables that list a Go declaration: the first column of the first
// table under the heading, against the Go struct's JSON fields or the Go enum type's values.
var readmeTables = []struct {
	heading string
	struc   string // a Go struct whose JSON field names the column lists
	enum    string // or a Go string type whose constants' values it lists
}{
	{heading: "## Settings", struc: "Settings"},
	{heading: "## Status", struc: "Status"},
	{heading: "### States", enum: "State"},
	{heading: "### Error", struc: "Error"},
	{heading: "### Error codes", enum: "ErrorCode"},
}

// field is one JSON field of a struct or interface.
type field struct {
	name     string
	optional bool
	typ      string // the Go type's name, when it is a name or a pointer to one
}

// declarations is what parity compares, read from protocol.go or protocol.ts.
type declarations struct {
	methods map[string]bool     // method names
	methodK map[string]string   // method → the Go constant that names it
	enums   map[string][]string // string type → its values
	structs map[string][]field  // struct or interface → its fields
	consts  map[string]string   // other constants → their value, as written
}

// parity returns every difference between the three sources, one line each, naming what differs.
func parity(goSrc, tsSrc, readme string) ([]string, error) {
	g, err := readGo(goSrc)
	if err != nil {
		return nil, err
	}
	ts := readTS(tsSrc)
	md := readREADME(readme)
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// Methods: the README lists every one; protocol.ts declares the runserver/ ones (the LSP ones
	// come from vscode-languageclient).
	readmeMethods := md.table("## Methods")
	for m := range g.methods {
		if !readmeMethods[m] {
			report("method %q: in protocol.go (%s), missing from the README's Methods table", m, g.methodK[m])
		}
		if strings.HasPrefix(m, "runserver/") && !ts.methods[m] {
			report("method %q: in protocol.go (%s), missing from protocol.ts", m, g.methodK[m])
		}
	}
	for m := range readmeMethods {
		if !g.methods[m] {
			report("method %q: in the README's Methods table, missing from protocol.go", m)
		}
	}
	for m := range ts.methods {
		if !g.methods[m] {
			report("method %q: in protocol.ts, missing from protocol.go", m)
		}
	}

	// String enums: every Go one has a TypeScript type of the same name and values.
	for name, values := range g.enums {
		tsValues, ok := ts.enums[tsTypeName(name)]
		if !ok {
			report("type %s: in protocol.go, missing from protocol.ts", name)
			continue
		}
		compareSets(report, name, "value", values, "protocol.go", tsValues, "protocol.ts")
	}

	// Structs: fields, and whether each may be left out.
	for name, fields := range g.structs {
		tsFields, ok := ts.structs[tsTypeName(name)]
		if !ok {
			if slices.Contains(mirrored, name) {
				report("type %s: in protocol.go, missing from protocol.ts", name)
			}
			continue
		}
		compareFields(report, name, fields, tsFields)
	}

	// Other constants: the same name and value.
	for name, value := range g.consts {
		tsValue, ok := ts.consts[name]
		switch {
		case !ok:
			report("constant %s: in protocol.go, missing from protocol.ts", name)
		case tsValue != value:
			report("constant %s: %s in protocol.go, %s in protocol.ts", name, value, tsValue)
		}
	}

	// The README's tables of fields, states and codes.
	for _, t := range readmeTables {
		col := md.table(t.heading)
		if col == nil {
			report("README: no table under %q", t.heading)
			continue
		}
		want, what := g.enums[t.enum], "value"
		if t.struc != "" {
			want, what = names(g.structs[t.struc]), "field"
		}
		compareSets(report, t.struc+t.enum, what, want, "protocol.go", keys(col), "the README's "+strings.TrimLeft(t.heading, "# ")+" table")
	}

	// A diagnostic's data: whatever protocol.go names the type of Diagnostic.data, protocol.ts
	// calls it DiagnosticData and the README lists its fields under Diagnostics.
	dataType := ""
	for _, f := range g.structs["Diagnostic"] {
		if f.name == "data" {
			dataType = f.typ
		}
	}
	if dataType == "" {
		report("Diagnostic field \"data\": in protocol.ts and the README's Diagnostics table, missing from protocol.go")
	} else {
		if dataType != "DiagnosticData" { // else compared with the other structs above
			compareFields(report, dataType, g.structs[dataType], ts.structs["DiagnosticData"])
		}
		compareSets(report, dataType, "field", names(g.structs[dataType]), "protocol.go", keys(md.table("## Diagnostics")), "the README's Diagnostics table")
	}
	sort.Strings(problems)
	return problems, nil
}

func tsTypeName(goName string) string {
	if n, ok := tsName[goName]; ok {
		return n
	}
	return goName
}

func compareSets(report func(string, ...any), typ, what string, a []string, aName string, b []string, bName string) {
	for _, v := range a {
		if !slices.Contains(b, v) {
			report("%s %s %q: in %s, missing from %s", typ, what, v, aName, bName)
		}
	}
	for _, v := range b {
		if !slices.Contains(a, v) {
			report("%s %s %q: in %s, missing from %s", typ, what, v, bName, aName)
		}
	}
}

func compareFields(report func(string, ...any), typ string, goFields, tsFields []field) {
	find := func(fields []field, name string) (field, bool) {
		for _, f := range fields {
			if f.name == name {
				return f, true
			}
		}
		return field{}, false
	}
	optional := map[bool]string{true: "optional", false: "required"}
	for _, g := range goFields {
		t, ok := find(tsFields, g.name)
		switch {
		case !ok:
			report("%s field %q: in protocol.go, missing from protocol.ts", typ, g.name)
		case t.optional != g.optional:
			report("%s field %q: %s in protocol.go, %s in protocol.ts", typ, g.name, optional[g.optional], optional[t.optional])
		}
	}
	for _, t := range tsFields {
		if _, ok := find(goFields, t.name); !ok {
			report("%s field %q: in protocol.ts, missing from protocol.go", typ, t.name)
		}
	}
}

func names(fields []field) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.name
	}
	return out
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// readGo reads the declarations of protocol.go with go/ast.
func readGo(src string) (*declarations, error) {
	file, err := parser.ParseFile(token.NewFileSet(), goSource, src, 0)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", goSource, err)
	}
	d := &declarations{
		methods: map[string]bool{}, methodK: map[string]string{},
		enums: map[string][]string{}, structs: map[string][]field{}, consts: map[string]string{},
	}
	stringTypes := map[string]bool{}
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, spec := range gen.Specs {
			switch spec := spec.(type) {
			case *ast.TypeSpec:
				switch t := spec.Type.(type) {
				case *ast.Ident:
					if t.Name == "string" {
						stringTypes[spec.Name.Name] = true
					}
				case *ast.StructType:
					d.structs[spec.Name.Name] = jsonFields(t)
				}
			case *ast.ValueSpec:
				for i, name := range spec.Names {
					if i >= len(spec.Values) {
						continue
					}
					value := constValue(spec.Values[i])
					typ := ""
					if id, ok := spec.Type.(*ast.Ident); ok {
						typ = id.Name
					}
					switch {
					case strings.HasPrefix(name.Name, "Method"):
						v, _ := strconv.Unquote(value)
						d.methods[v] = true
						d.methodK[v] = name.Name
					case typ != "":
						if v, err := strconv.Unquote(value); err == nil {
							d.enums[typ] = append(d.enums[typ], v)
						}
					default:
						d.consts[name.Name] = value
					}
				}
			}
		}
	}
	// Only string types are enums the other sides spell out; LSP's numeric ones are not mirrored.
	for name := range d.enums {
		if !stringTypes[name] {
			delete(d.enums, name)
		}
	}
	return d, nil
}

// constValue is a constant's value as written: a quoted string or a number, sign included.
func constValue(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Value
	case *ast.UnaryExpr:
		return e.Op.String() + constValue(e.X)
	}
	return ""
}

// jsonFields lists a struct's fields by their JSON names; omitempty and omitzero make one optional.
func jsonFields(s *ast.StructType) []field {
	var out []field
	for _, f := range s.Fields.List {
		if f.Tag == nil {
			continue
		}
		tag, _ := strconv.Unquote(f.Tag.Value)
		name, opts, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		optional := slices.ContainsFunc(strings.Split(opts, ","), func(o string) bool { return o == "omitempty" || o == "omitzero" })
		typ := ""
		t := f.Type
		if star, ok := t.(*ast.StarExpr); ok {
			t = star.X
		}
		if id, ok := t.(*ast.Ident); ok {
			typ = id.Name
		}
		out = append(out, field{name: name, optional: optional, typ: typ})
	}
	return out
}

var (
	tsComment   = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`)
	tsMethod    = regexp.MustCompile(`new (?:Request|Notification)Type\d?<[^(]*>\(\s*"([^"]+)"\s*\)`)
	tsUnion     = regexp.MustCompile(`export type (\w+)\s*=\s*((?:\s*\|?\s*"[^"]*")+)\s*;`)
	tsConstEnum = regexp.MustCompile(`(?s)export const (\w+)\s*=\s*\{([^}]*)\}\s*as const;`)
	tsConst     = regexp.MustCompile(`export const (\w+)\s*=\s*("[^"]*"|-?\d+)\s*;`)
	tsInterface = regexp.MustCompile(`(?s)export interface (\w+)\s*\{(.*?)\n\}`)
	tsField     = regexp.MustCompile(`(?m)^\s*(\w+)(\??):`)
	tsString    = regexp.MustCompile(`"([^"]*)"`)
)

// readTS reads protocol.ts's declarations with patterns that fit how it is written: string unions
// (`export type State = "a" | "b";`), value objects (`export const ErrorCode = {…} as const;`),
// interfaces with one field a line, and RequestType/NotificationType constructions.
func readTS(src string) *declarations {
	src = tsComment.ReplaceAllString(src, "")
	d := &declarations{methods: map[string]bool{}, enums: map[string][]string{}, structs: map[string][]field{}, consts: map[string]string{}}
	for _, m := range tsMethod.FindAllStringSubmatch(src, -1) {
		d.methods[m[1]] = true
	}
	for _, m := range tsUnion.FindAllStringSubmatch(src, -1) {
		for _, v := range tsString.FindAllStringSubmatch(m[2], -1) {
			d.enums[m[1]] = append(d.enums[m[1]], v[1])
		}
	}
	for _, m := range tsConstEnum.FindAllStringSubmatch(src, -1) {
		for _, v := range tsString.FindAllStringSubmatch(m[2], -1) {
			d.enums[m[1]] = append(d.enums[m[1]], v[1])
		}
	}
	for _, m := range tsConst.FindAllStringSubmatch(src, -1) {
		d.consts[m[1]] = m[2]
	}
	for _, m := range tsInterface.FindAllStringSubmatch(src, -1) {
		fields := []field{}
		for _, f := range tsField.FindAllStringSubmatch(m[2], -1) {
			fields = append(fields, field{name: f[1], optional: f[2] == "?"})
		}
		d.structs[m[1]] = fields
	}
	return d
}

// readme holds the README's tables: for each heading, the backquoted first cells of the first
// table under it.
type readme map[string]map[string]bool

var mdFirstCell = regexp.MustCompile("^\\|\\s*`([^`]+)`\\s*\\|")

func readREADME(src string) readme {
	md := readme{}
	heading, done, fenced := "", false, false
	for _, line := range strings.Split(src, "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			fenced = !fenced
		case fenced:
		case strings.HasPrefix(line, "#"):
			heading, done = strings.TrimSpace(line), false
		case strings.HasPrefix(line, "|") && !done:
			if md[heading] == nil {
				md[heading] = map[string]bool{}
			}
			if m := mdFirstCell.FindStringSubmatch(line); m != nil {
				md[heading][m[1]] = true
			}
		case md[heading] != nil:
			done = true // the first table under the heading has ended
		}
	}
	return md
}

func (md readme) table(heading string) map[string]bool { return md[heading] }

// manifestSource is the VS Code extension's manifest, whose settings offer the values of each
// setting of an enum type as a list to pick from.
const manifestSource = "../vscode-extension/package.json"

// manifestParity returns every difference between the values of a Settings field of a Go string
// type and the enum of its setting in the manifest: a value VS Code offers that the backend
// refuses, or one the backend takes that VS Code flags as wrong.
func manifestParity(goSrc, manifest string) ([]string, error) {
	g, err := readGo(goSrc)
	if err != nil {
		return nil, err
	}
	var m struct {
		Contributes struct {
			Configuration struct {
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"configuration"`
		} `json:"contributes"`
	}
	if err := json.Unmarshal([]byte(manifest), &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", manifestSource, err)
	}
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, f := range g.structs["Settings"] {
		values, isEnum := g.enums[f.typ]
		if !isEnum {
			continue
		}
		key := SettingsSection + "." + f.name
		prop, ok := m.Contributes.Configuration.Properties[key]
		if !ok {
			report("setting %s: in protocol.go, missing from package.json", key)
			continue
		}
		compareSets(report, key, "value", values, "protocol.go", prop.Enum, "package.json")
	}
	sort.Strings(problems)
	return problems, nil
}

// TestManifestParity fails when the extension offers other values than the backend takes.
func TestManifestParity(t *testing.T) {
	goSrc, _, _ := readSources(t)
	manifest, err := os.ReadFile(manifestSource)
	if err != nil {
		t.Fatal(err)
	}
	problems, err := manifestParity(goSrc, string(manifest))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	// A reload mode the extension does not offer is named.
	drifted := strings.Replace(goSrc, `ReloadOff    ReloadMode = "off"`, `ReloadOff ReloadMode = "off"; ReloadLazy ReloadMode = "lazy"`, 1)
	if drifted == goSrc {
		t.Fatal("protocol.go no longer declares ReloadOff as this test expects; update it")
	}
	problems, err = manifestParity(drifted, string(manifest))
	if err != nil {
		t.Fatal(err)
	}
	want := `djangoRunserver.reload value "lazy": in protocol.go, missing from package.json`
	if !slices.Contains(problems, want) {
		t.Errorf("drift not reported as %q; got:\n%s", want, strings.Join(problems, "\n"))
	}
}

func readSources(t *testing.T) (goSrc, tsSrc, md string) {
	t.Helper()
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return read(goSource), read(tsSource), read(readmeSource)
}

// TestParity fails when protocol.go, protocol.ts and README.md disagree.
func TestParity(t *testing.T) {
	goSrc, tsSrc, md := readSources(t)
	problems, err := parity(goSrc, tsSrc, md)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestParityCatchesDrift changes one source at a time, as a careless edit would, and checks that
// parity names the difference.
func TestParityCatchesDrift(t *testing.T) {
	goSrc, tsSrc, md := readSources(t)
	cases := []struct {
		name       string
		source     *string // which of the three the edit applies to
		old, new   string
		wantReport string
	}{
		{
			name: "a method renamed in protocol.ts", source: &tsSrc,
			old: `"runserver/stop"`, new: `"runserver/halt"`,
			wantReport: `method "runserver/stop": in protocol.go (MethodStop), missing from protocol.ts`,
		},
		{
			name: "a method renamed in protocol.go", source: &goSrc,
			old: `MethodRestart = "runserver/restart"`, new: `MethodRestart = "runserver/reload"`,
			wantReport: `method "runserver/restart": in the README's Methods table, missing from protocol.go`,
		},
		{
			name: "an error code removed from the README", source: &md,
			old: "| `folder-gone` |", new: "| folder gone |",
			wantReport: `ErrorCode value "folder-gone": in protocol.go, missing from the README's Error codes table`,
		},
		{
			name: "an error code removed from protocol.ts", source: &tsSrc,
			old: `    FolderGone: "folder-gone",` + "\n", new: "",
			wantReport: `ErrorCode value "folder-gone": in protocol.go, missing from protocol.ts`,
		},
		{
			name: "an error code added to protocol.go", source: &goSrc,
			old: `CodeFolderGone         ErrorCode = "folder-gone"`, new: `CodeFolderGone ErrorCode = "folder-gone"; CodeOutOfMemory ErrorCode = "out-of-memory"`,
			wantReport: `ErrorCode value "out-of-memory": in protocol.go, missing from protocol.ts`,
		},
		{
			name: "a state renamed in protocol.ts", source: &tsSrc,
			old: `"stopping"`, new: `"halting"`,
			wantReport: `State value "stopping": in protocol.go, missing from protocol.ts`,
		},
		{
			name: "a state missing from the README", source: &md,
			old: "| `reloading` |", new: "| reloading |",
			wantReport: `State value "reloading": in protocol.go, missing from the README's States table`,
		},
		{
			name: "a Status field added to protocol.go", source: &goSrc,
			old: "type Status struct {", new: "type Status struct {\n\tUptimeMs int `json:\"uptimeMs,omitzero\"`",
			wantReport: `Status field "uptimeMs": in protocol.go, missing from protocol.ts`,
		},
		{
			name: "a Status field made optional in protocol.ts", source: &tsSrc,
			old: "    reloads: number;", new: "    reloads?: number;",
			wantReport: `Status field "reloads": required in protocol.go, optional in protocol.ts`,
		},
		{
			name: "an Error field missing from the README", source: &md,
			old: "| `exception` |", new: "| exception |",
			wantReport: `Error field "exception": in protocol.go, missing from the README's Error table`,
		},
		{
			name: "a settings key renamed in the README", source: &md,
			old: "| `startupTimeout` |", new: "| `startTimeout` |",
			wantReport: `Settings field "startTimeout": in the README's Settings table, missing from protocol.go`,
		},
		{
			name: "a constant changed in protocol.ts", source: &tsSrc,
			old: `DiagnosticSource = "runserver"`, new: `DiagnosticSource = "django"`,
			wantReport: `constant DiagnosticSource: "runserver" in protocol.go, "django" in protocol.ts`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if strings.Count(*c.source, c.old) == 0 {
				t.Fatalf("the source no longer contains %q; update this case", c.old)
			}
			saved := *c.source
			*c.source = strings.Replace(saved, c.old, c.new, 1)
			defer func() { *c.source = saved }()
			problems, err := parity(goSrc, tsSrc, md)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(problems, c.wantReport) {
				t.Errorf("drift not reported as %q; got:\n%s", c.wantReport, strings.Join(problems, "\n"))
			}
		})
	}
}
