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

// The extension's protocol.ts is generated from protocol.go (see ./generate), so the two can't
// disagree. What no program writes is checked here against protocol.go: the tables of the
// specification (README.md), and the settings the extension's manifest offers. parity names every
// difference, so a change to protocol.go that misses the spec, or the other way round, fails.

// The sources, relative to this package.
const (
	goSource       = "protocol.go"
	readmeSource   = "README.md"
	manifestSource = "../vscode-extension/package.json"
)

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
	{heading: "## Diagnostics", struc: "DiagnosticData"},
}

// effectColumn is the column of the README's Settings table that says when a change takes effect.
const effectColumn = "effect"

// declarations is what parity compares, read from protocol.go.
type declarations struct {
	methods map[string]string            // method name → the Go constant that names it
	enums   map[string][]string          // string type → its values
	structs map[string][]string          // struct → its JSON field names
	fields  map[string]map[string]string // struct → JSON field name → its type's name
	effects map[string]string            // SettingEffects: settings key → effect
}

// parity returns every difference between protocol.go and the README's tables, one line each.
func parity(goSrc, readmeSrc string) ([]string, error) {
	g, err := readGo(goSrc)
	if err != nil {
		return nil, err
	}
	md := readREADME(readmeSrc)
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// The README lists every method.
	readmeMethods := md.firstColumn("## Methods")
	for m, k := range g.methods {
		if !slices.Contains(readmeMethods, m) {
			report("method %q: in protocol.go (%s), missing from the README's Methods table", m, k)
		}
	}
	for _, m := range readmeMethods {
		if _, ok := g.methods[m]; !ok {
			report("method %q: in the README's Methods table, missing from protocol.go", m)
		}
	}

	// The README's tables of fields, states and codes.
	for _, t := range readmeTables {
		if md[t.heading] == nil {
			report("README: no table under %q", t.heading)
			continue
		}
		want, what := g.enums[t.enum], "value"
		if t.struc != "" {
			want, what = g.structs[t.struc], "field"
		}
		compareSets(report, t.struc+t.enum, what, want, "protocol.go", md.firstColumn(t.heading), "the README's "+strings.TrimLeft(t.heading, "# ")+" table")
	}

	// Every setting says when it takes effect, in SettingEffects and in the README.
	if t := md["## Settings"]; t != nil && !slices.Contains(t.header, effectColumn) {
		report("README: the Settings table has no %q column", effectColumn)
	}
	compareSets(report, "Settings", "key", g.structs["Settings"], "Settings", keys(g.effects), "SettingEffects")
	for key, effect := range g.effects {
		if !slices.Contains(g.enums["SettingEffect"], effect) {
			report("setting %q: takes effect %q in SettingEffects, not a SettingEffect", key, effect)
		}
		if cell, ok := md.cell("## Settings", key, effectColumn); ok && cell != effect {
			report("setting %q: takes effect %q in protocol.go, %q in the README's Settings table", key, effect, cell)
		}
	}
	sort.Strings(problems)
	return problems, nil
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

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// readGo reads the declarations of protocol.go with go/ast: from source, so that the drift test
// can change it as text.
func readGo(src string) (*declarations, error) {
	file, err := parser.ParseFile(token.NewFileSet(), goSource, src, 0)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", goSource, err)
	}
	d := &declarations{
		methods: map[string]string{}, enums: map[string][]string{},
		structs: map[string][]string{}, fields: map[string]map[string]string{}, effects: map[string]string{},
	}
	consts := map[string]string{} // every string constant by name, for SettingEffects' values
	var effects *ast.CompositeLit
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, spec := range gen.Specs {
			switch spec := spec.(type) {
			case *ast.TypeSpec:
				if t, ok := spec.Type.(*ast.StructType); ok {
					d.structs[spec.Name.Name], d.fields[spec.Name.Name] = jsonFields(t)
				}
			case *ast.ValueSpec:
				for i, name := range spec.Names {
					if i >= len(spec.Values) {
						continue
					}
					if lit, ok := spec.Values[i].(*ast.CompositeLit); ok && name.Name == "SettingEffects" {
						effects = lit
					}
					value, err := strconv.Unquote(stringLit(spec.Values[i]))
					if err != nil {
						continue
					}
					consts[name.Name] = value
					switch id, _ := spec.Type.(*ast.Ident); {
					case strings.HasPrefix(name.Name, "Method"):
						d.methods[value] = name.Name
					case id != nil:
						d.enums[id.Name] = append(d.enums[id.Name], value)
					}
				}
			}
		}
	}
	if effects == nil {
		return nil, fmt.Errorf("%s declares no SettingEffects map", goSource)
	}
	for _, e := range effects.Elts {
		kv := e.(*ast.KeyValueExpr)
		key, err := strconv.Unquote(stringLit(kv.Key))
		id, _ := kv.Value.(*ast.Ident)
		if err != nil || id == nil {
			return nil, fmt.Errorf("SettingEffects: an entry is not \"key\": EffectName")
		}
		d.effects[key] = consts[id.Name]
	}
	return d, nil
}

func stringLit(e ast.Expr) string {
	if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
		return lit.Value
	}
	return ""
}

// jsonFields lists a struct's fields by their JSON names, and each one's type name when it is a
// name or a pointer to one.
func jsonFields(s *ast.StructType) ([]string, map[string]string) {
	var names []string
	types := map[string]string{}
	for _, f := range s.Fields.List {
		if f.Tag == nil {
			continue
		}
		tag, _ := strconv.Unquote(f.Tag.Value)
		name, _, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		t := f.Type
		if star, ok := t.(*ast.StarExpr); ok {
			t = star.X
		}
		if id, ok := t.(*ast.Ident); ok {
			types[name] = id.Name
		}
		names = append(names, name)
	}
	return names, types
}

// readme holds the README's tables: for each heading, the first table under it, as the header's
// cells and the rows whose first cell is backquoted, by that cell.
type readme map[string]*table

type table struct {
	header []string
	rows   map[string][]string
	order  []string
}

var mdBackquoted = regexp.MustCompile("^`([^`]+)`$")

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
			cells := splitRow(line)
			t := md[heading]
			if t == nil {
				t = &table{header: cells, rows: map[string][]string{}}
				md[heading] = t
			} else if m := mdBackquoted.FindStringSubmatch(cells[0]); m != nil {
				t.rows[m[1]] = cells
				t.order = append(t.order, m[1])
			}
		case md[heading] != nil:
			done = true // the first table under the heading has ended
		}
	}
	return md
}

// splitRow splits a table row into its trimmed cells; `\|` inside a cell is not a border.
func splitRow(line string) []string {
	line = strings.Trim(strings.TrimSpace(line), "|")
	var cells []string
	start := 0
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\':
			i++ // the escaped character
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(line[start:i]))
			start = i + 1
		}
	}
	return append(cells, strings.TrimSpace(line[start:]))
}

// firstColumn is the backquoted first cells of the table under heading.
func (md readme) firstColumn(heading string) []string {
	if t := md[heading]; t != nil {
		return t.order
	}
	return nil
}

// cell is the value, without backquotes, of column in the row of key of the table under heading.
func (md readme) cell(heading, key, column string) (string, bool) {
	t := md[heading]
	if t == nil {
		return "", false
	}
	i := slices.Index(t.header, column)
	row, ok := t.rows[key]
	if i < 0 || !ok || i >= len(row) {
		return "", false
	}
	return strings.Trim(row[i], "`"), true
}

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
	for _, name := range g.structs["Settings"] {
		values, isEnum := g.enums[g.fields["Settings"][name]]
		if !isEnum {
			continue
		}
		key := SettingsSection + "." + name
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

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestManifestParity fails when the extension offers other values than the backend takes.
func TestManifestParity(t *testing.T) {
	goSrc, manifest := read(t, goSource), read(t, manifestSource)
	problems, err := manifestParity(goSrc, manifest)
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
	problems, err = manifestParity(drifted, manifest)
	if err != nil {
		t.Fatal(err)
	}
	want := `djangoRunserver.reload value "lazy": in protocol.go, missing from package.json`
	if !slices.Contains(problems, want) {
		t.Errorf("drift not reported as %q; got:\n%s", want, strings.Join(problems, "\n"))
	}
}

// TestParity fails when protocol.go and README.md disagree.
func TestParity(t *testing.T) {
	problems, err := parity(read(t, goSource), read(t, readmeSource))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// SettingsPayload, the shape an editor sends, uses the section keys the backend reads.
func TestSettingsPayloadKeys(t *testing.T) {
	typ := reflect.TypeFor[SettingsPayload]()
	var got []string
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		got = append(got, name)
	}
	if want := []string{SettingsSection, FolderSettingsSection}; !slices.Equal(got, want) {
		t.Errorf("SettingsPayload's JSON keys = %q, want %q", got, want)
	}
}

// TestParityCatchesDrift changes one source at a time, as a careless edit would, and checks that
// parity names the difference.
func TestParityCatchesDrift(t *testing.T) {
	goSrc, md := read(t, goSource), read(t, readmeSource)
	cases := []struct {
		name       string
		source     *string // which of the two the edit applies to
		old, new   string
		wantReport string
	}{
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
			name: "an error code added to protocol.go", source: &goSrc,
			old: `CodeFolderGone         ErrorCode = "folder-gone"`, new: `CodeFolderGone ErrorCode = "folder-gone"; CodeOutOfMemory ErrorCode = "out-of-memory"`,
			wantReport: `ErrorCode value "out-of-memory": in protocol.go, missing from the README's Error codes table`,
		},
		{
			name: "a state missing from the README", source: &md,
			old: "| `reloading` |", new: "| reloading |",
			wantReport: `State value "reloading": in protocol.go, missing from the README's States table`,
		},
		{
			name: "a Status field added to protocol.go", source: &goSrc,
			old: "type Status struct {", new: "type Status struct {\n\tUptimeMs int `json:\"uptimeMs,omitzero\"`",
			wantReport: `Status field "uptimeMs": in protocol.go, missing from the README's Status table`,
		},
		{
			name: "an Error field missing from the README", source: &md,
			old: "| `exception` |", new: "| exception |",
			wantReport: `Error field "exception": in protocol.go, missing from the README's Error table`,
		},
		{
			name: "a diagnostic's data field added to protocol.go", source: &goSrc,
			old: "type DiagnosticData struct {", new: "type DiagnosticData struct {\n\tHint string `json:\"hint,omitempty\"`",
			wantReport: `DiagnosticData field "hint": in protocol.go, missing from the README's Diagnostics table`,
		},
		{
			name: "a settings key renamed in the README", source: &md,
			old: "| `startupTimeout` |", new: "| `startTimeout` |",
			wantReport: `Settings field "startTimeout": in the README's Settings table, missing from protocol.go`,
		},
		{
			name: "a setting added without saying when it takes effect", source: &goSrc,
			old: "type Settings struct {", new: "type Settings struct {\n\tPort int `json:\"port,omitzero\"`",
			wantReport: `Settings key "port": in Settings, missing from SettingEffects`,
		},
		{
			name: "a setting's effect changed in protocol.go", source: &goSrc,
			old: `"preload":        EffectNextLaunch,`, new: `"preload": EffectRestart,`,
			wantReport: `setting "preload": takes effect "restart" in protocol.go, "nextLaunch" in the README's Settings table`,
		},
		{
			name: "a setting's effect changed in the README", source: &md,
			old: "| `watch` | `auto` \\| `events` \\| `poll` | `auto` | `atOnce` |", new: "| `watch` | `auto` \\| `events` \\| `poll` | `auto` | `restart` |",
			wantReport: `setting "watch": takes effect "atOnce" in protocol.go, "restart" in the README's Settings table`,
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
			problems, err := parity(goSrc, md)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(problems, c.wantReport) {
				t.Errorf("drift not reported as %q; got:\n%s", c.wantReport, strings.Join(problems, "\n"))
			}
		})
	}
}
