// Command generate writes the VS Code extension's src/protocol.ts from
// protocol.go, so the editor's copy of the wire types is written by a program
// and can't drift from the backend's (as gopls generates its protocol). It
// runs from the protocol package's directory: go generate ./protocol.
//
// What protocol.go declares becomes, in source order:
//
//   - an untyped constant: an exported const of the same name and value;
//   - a string or integer type with constants: an `as const` object of its
//     values (keys without the constants' common prefix, so CodePortInUse is
//     ErrorCode.PortInUse) and a type of the same name, the union of them;
//   - a struct: an interface of its JSON fields. A field is optional (`?`)
//     when its tag has omitempty or omitzero; a pointer that is not may be
//     null. A `ts:"Type"` tag names the TypeScript type where the wire
//     carries more than the Go type says (a map decoded leniently);
//   - a RequestType or NotificationType variable: vscode-jsonrpc's, typed;
//   - a map variable: a read-only object of its entries.
//
// Doc comments are carried over as TSDoc. A declaration the generator can't
// translate fails it, naming the declaration, rather than being left out.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"reflect"
	"slices"
	"strings"
	"unicode"
)

// tsNames are the TypeScript names of Go types where they differ: a
// TypeScript Error would shadow JavaScript's own.
var tsNames = map[string]string{"Error": "ServerError"}

func main() {
	src := flag.String("src", "protocol.go", "the Go declarations")
	out := flag.String("out", "../vscode-extension/src/protocol.ts", "the TypeScript file to write")
	flag.Parse()
	if err := run(*src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

func run(src, out string) error {
	goSrc, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	ts, err := generate(src, goSrc)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(out); err == nil && bytes.Equal(old, ts) {
		return nil // unchanged: keep the file's time, so watchers and builds stay idle
	}
	return os.WriteFile(out, ts, 0o644)
}

// generate returns protocol.ts for the Go source of the protocol package.
func generate(name string, src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Defs: map[*ast.Ident]types.Object{}}
	if _, err := (&types.Config{}).Check("protocol", fset, []*ast.File{file}, info); err != nil {
		return nil, err
	}
	g := &gen{info: info, enums: enumValues(file, info)}
	g.header()
	for _, decl := range file.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok {
			return nil, fmt.Errorf("%s: only declarations of types, constants and variables translate", fset.Position(decl.Pos()))
		}
		start := g.buf.Len()
		for _, spec := range gd.Specs {
			// A lone spec's doc comment is the declaration's; a group's
			// heads what it writes.
			doc := gd.Doc
			if len(gd.Specs) > 1 {
				doc = nil
			}
			var err error
			switch spec := spec.(type) {
			case *ast.TypeSpec:
				err = g.typeSpec(spec, orDoc(spec.Doc, doc))
			case *ast.ValueSpec:
				err = g.valueSpec(gd.Tok, spec, orDoc(spec.Doc, doc))
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", fset.Position(spec.Pos()), err)
			}
		}
		if g.buf.Len() > start {
			if len(gd.Specs) > 1 && gd.Doc != nil && gd.Tok != token.TYPE {
				g.insertGroupDoc(start, gd.Doc)
			}
			g.printf("\n")
		}
	}
	return append(bytes.TrimRight(g.buf.Bytes(), "\n"), '\n'), nil
}

func orDoc(a, b *ast.CommentGroup) *ast.CommentGroup {
	if a != nil {
		return a
	}
	return b
}

// enumValue is one constant of a string or integer type.
type enumValue struct {
	name  string
	value constant.Value
	doc   *ast.CommentGroup
}

// enumValues gathers the constants of each named type, in source order, so
// that a type's values are written with the type.
func enumValues(file *ast.File, info *types.Info) map[string][]enumValue {
	enums := map[string][]enumValue{}
	for _, decl := range file.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for _, id := range vs.Names {
				c := info.Defs[id].(*types.Const)
				if named, ok := c.Type().(*types.Named); ok {
					name := named.Obj().Name()
					enums[name] = append(enums[name], enumValue{name: id.Name, value: c.Val(), doc: vs.Doc})
				}
			}
		}
	}
	return enums
}

type gen struct {
	info  *types.Info
	enums map[string][]enumValue
	buf   bytes.Buffer
}

func (g *gen) printf(format string, args ...any) { fmt.Fprintf(&g.buf, format, args...) }

// insertGroupDoc puts a group's doc comment, as line comments, before what
// the group wrote from start on.
func (g *gen) insertGroupDoc(start int, cg *ast.CommentGroup) {
	var head bytes.Buffer
	for _, l := range strings.Split(strings.TrimSpace(cg.Text()), "\n") {
		head.WriteString(strings.TrimRight("// "+l, " ") + "\n")
	}
	rest := slices.Clone(g.buf.Bytes()[start:])
	g.buf.Truncate(start)
	g.buf.Write(head.Bytes())
	g.buf.Write(rest)
}

func (g *gen) header() {
	g.printf(`// Code generated by protocol/generate from protocol/protocol.go; DO NOT EDIT.
//
// The wire contract with the django-runserver backend, specified in protocol/README.md. To change
// it, change protocol/protocol.go and run "go generate ./protocol"; "make generate-check" fails when
// this file is not what that writes.
//
// It imports only vscode-jsonrpc, so the wire conformance test can use it without VS Code.

import { NotificationType, RequestType } from "vscode-jsonrpc";

`)
}

// doc writes a doc comment as TSDoc, indented by indent.
func (g *gen) doc(cg *ast.CommentGroup, indent string) {
	if cg == nil {
		return
	}
	text := strings.ReplaceAll(strings.TrimSpace(cg.Text()), "*/", "*\\/")
	lines := strings.Split(text, "\n")
	if len(lines) == 1 && len(indent)+len(text) <= 100-len("/**  */") {
		g.printf("%s/** %s */\n", indent, text)
		return
	}
	g.printf("%s/**\n", indent)
	for _, l := range lines {
		g.printf("%s", strings.TrimRight(indent+" * "+l, " ")+"\n")
	}
	g.printf("%s */\n", indent)
}

// renamed is a type's doc comment, which starts with its Go name, starting
// with its TypeScript name instead.
func renamed(cg *ast.CommentGroup, goName string) *ast.CommentGroup {
	ts := tsName(goName)
	if cg == nil || ts == goName || !strings.HasPrefix(cg.List[0].Text, "// "+goName+" ") {
		return cg
	}
	out := &ast.CommentGroup{List: slices.Clone(cg.List)}
	out.List[0] = &ast.Comment{Text: "// " + ts + strings.TrimPrefix(cg.List[0].Text, "// "+goName)}
	return out
}

func tsName(goName string) string {
	if n, ok := tsNames[goName]; ok {
		return n
	}
	return goName
}

func (g *gen) typeSpec(spec *ast.TypeSpec, doc *ast.CommentGroup) error {
	if spec.TypeParams != nil {
		return nil // RequestType and NotificationType: written as vscode-jsonrpc's
	}
	obj := g.info.Defs[spec.Name].(*types.TypeName)
	switch u := obj.Type().Underlying().(type) {
	case *types.Struct:
		return g.iface(spec.Name.Name, u, doc)
	case *types.Basic:
		values := g.enums[spec.Name.Name]
		if len(values) == 0 {
			return fmt.Errorf("type %s: a basic type translates only as an enum, and it has no constants", spec.Name.Name)
		}
		return g.enum(spec.Name.Name, values, doc)
	}
	return fmt.Errorf("type %s: no TypeScript form for %s", spec.Name.Name, obj.Type().Underlying())
}

// enum writes a type's constants as an object of values and the type as
// their union: code compares with ErrorCode.PortInUse, types say ErrorCode.
func (g *gen) enum(name string, values []enumValue, doc *ast.CommentGroup) error {
	names := make([]string, len(values))
	for i, v := range values {
		names[i] = v.name
	}
	prefix := commonWords(names)
	g.doc(doc, "")
	g.printf("export const %s = {\n", tsName(name))
	for _, v := range values {
		lit, err := literal(v.value)
		if err != nil {
			return fmt.Errorf("constant %s: %w", v.name, err)
		}
		g.doc(v.doc, "    ")
		g.printf("    %s: %s,\n", strings.TrimPrefix(v.name, prefix), lit)
	}
	g.printf("} as const;\nexport type %[1]s = (typeof %[1]s)[keyof typeof %[1]s];\n", tsName(name))
	return nil
}

// commonWords is the longest run of whole CamelCase words that every name
// starts with, leaving each name a word of its own: StreamStdout and
// StreamStderr share Stream, not StreamStd.
func commonWords(names []string) string {
	prefix := names[0]
	for _, n := range names[1:] {
		i := 0
		for i < len(prefix) && i < len(n) && prefix[i] == n[i] {
			i++
		}
		prefix = prefix[:i]
	}
	for len(prefix) > 0 {
		whole := true
		for _, n := range names {
			if len(n) == len(prefix) || !unicode.IsUpper(rune(n[len(prefix)])) {
				whole = false
			}
		}
		if whole {
			return prefix
		}
		prefix = prefix[:len(prefix)-1]
	}
	return ""
}

// literal is a constant's value in TypeScript.
func literal(v constant.Value) (string, error) {
	switch v.Kind() {
	case constant.String:
		b, err := json.Marshal(constant.StringVal(v))
		return string(b), err
	case constant.Int, constant.Float:
		return v.ExactString(), nil
	case constant.Bool:
		return v.String(), nil
	}
	return "", fmt.Errorf("no TypeScript literal for %s", v)
}

func (g *gen) iface(name string, s *types.Struct, doc *ast.CommentGroup) error {
	fields := g.fieldDocs(s)
	g.doc(renamed(doc, name), "")
	g.printf("export interface %s {\n", tsName(name))
	for i := range s.NumFields() {
		f := s.Field(i)
		tag := reflect.StructTag(s.Tag(i))
		jsonName, opts, _ := strings.Cut(tag.Get("json"), ",")
		if f.Embedded() || jsonName == "" || jsonName == "-" {
			return fmt.Errorf("%s.%s: every field needs a JSON name (embedded and hidden fields have no TypeScript form)", name, f.Name())
		}
		optional := slices.ContainsFunc(strings.Split(opts, ","), func(o string) bool { return o == "omitempty" || o == "omitzero" })
		typ, err := g.tsType(f.Type())
		if err != nil {
			return fmt.Errorf("%s.%s: %w", name, f.Name(), err)
		}
		if override := tag.Get("ts"); override != "" {
			typ = override
		}
		mark := ""
		switch _, pointer := f.Type().(*types.Pointer); {
		case optional:
			mark = "?"
		case pointer:
			typ += " | null" // encoding/json writes a nil pointer as null
		}
		g.doc(fields[f.Name()], "    ")
		g.printf("    %s%s: %s;\n", jsonName, mark, typ)
	}
	g.printf("}\n")
	return nil
}

// fieldDocs finds each field's doc comment by position: types.Struct
// doesn't keep them.
func (g *gen) fieldDocs(s *types.Struct) map[string]*ast.CommentGroup {
	docs := map[string]*ast.CommentGroup{}
	for expr, tv := range g.info.Types {
		st, ok := expr.(*ast.StructType)
		if !ok || tv.Type != s {
			continue
		}
		for _, f := range st.Fields.List {
			for _, n := range f.Names {
				docs[n.Name] = f.Doc
			}
		}
	}
	return docs
}

// tsType is the TypeScript type of a Go type.
func (g *gen) tsType(t types.Type) (string, error) {
	switch t := t.(type) {
	case *types.Basic:
		switch {
		case t.Info()&types.IsString != 0:
			return "string", nil
		case t.Info()&types.IsNumeric != 0:
			return "number", nil
		case t.Info()&types.IsBoolean != 0:
			return "boolean", nil
		}
	case *types.Named:
		if t.Obj().Pkg() != nil && t.Obj().Pkg().Name() == "protocol" {
			return tsName(t.Obj().Name()), nil
		}
	case *types.Alias:
		return g.tsType(types.Unalias(t))
	case *types.Pointer:
		return g.tsType(t.Elem())
	case *types.Slice:
		elem, err := g.tsType(t.Elem())
		return elem + "[]", err
	case *types.Map:
		if b, ok := t.Key().(*types.Basic); !ok || b.Info()&types.IsString == 0 {
			return "", fmt.Errorf("a map's key must be a string, not %s", t.Key())
		}
		elem, err := g.tsType(t.Elem())
		return "Record<string, " + elem + ">", err
	case *types.Interface:
		if t.Empty() {
			return "unknown", nil
		}
	}
	return "", fmt.Errorf("no TypeScript type for %s", t)
}

func (g *gen) valueSpec(tok token.Token, spec *ast.ValueSpec, doc *ast.CommentGroup) error {
	for i, id := range spec.Names {
		if i >= len(spec.Values) {
			return fmt.Errorf("%s: a declaration needs a value to translate", id.Name)
		}
		obj := g.info.Defs[id]
		if tok == token.CONST {
			if _, named := obj.Type().(*types.Named); named {
				continue // written with its type
			}
			lit, err := literal(obj.(*types.Const).Val())
			if err != nil {
				return fmt.Errorf("%s: %w", id.Name, err)
			}
			g.doc(doc, "")
			g.printf("export const %s = %s;\n", id.Name, lit)
			continue
		}
		if err := g.variable(id.Name, obj.Type(), spec.Values[i], doc); err != nil {
			return fmt.Errorf("%s: %w", id.Name, err)
		}
	}
	return nil
}

// variable writes a typed message or a map.
func (g *gen) variable(name string, t types.Type, value ast.Expr, doc *ast.CommentGroup) error {
	lit, ok := value.(*ast.CompositeLit)
	if !ok {
		return errors.New("only a composite literal translates")
	}
	if named, ok := t.(*types.Named); ok && (named.Obj().Name() == "RequestType" || named.Obj().Name() == "NotificationType") {
		args := named.TypeArgs()
		params := make([]string, args.Len())
		for i := range args.Len() {
			ts, err := g.tsType(args.At(i))
			if err != nil {
				return err
			}
			params[i] = ts
		}
		if named.Obj().Name() == "RequestType" {
			params = append(params, "void") // the error data: none
		}
		if len(lit.Elts) != 1 {
			return errors.New("a message names its method and nothing else")
		}
		method, err := literal(g.info.Types[unkey(lit.Elts[0])].Value)
		if err != nil {
			return err
		}
		g.doc(doc, "")
		g.printf("export const %s = new %s<%s>(%s);\n", name, named.Obj().Name(), strings.Join(params, ", "), method)
		return nil
	}
	m, ok := t.Underlying().(*types.Map)
	if !ok {
		return fmt.Errorf("no TypeScript form for a variable of type %s", t)
	}
	elem, err := g.tsType(m.Elem())
	if err != nil {
		return err
	}
	g.doc(doc, "")
	g.printf("export const %s: Readonly<Record<string, %s>> = {\n", name, elem)
	for _, e := range lit.Elts {
		kv := e.(*ast.KeyValueExpr)
		key, err := literal(g.info.Types[kv.Key].Value)
		if err != nil {
			return err
		}
		val, err := literal(g.info.Types[kv.Value].Value)
		if err != nil {
			return err
		}
		var k string
		if err := json.Unmarshal([]byte(key), &k); err == nil && isIdent(k) {
			key = k
		}
		g.printf("    %s: %s,\n", key, val)
	}
	g.printf("};\n")
	return nil
}

func unkey(e ast.Expr) ast.Expr {
	if kv, ok := e.(*ast.KeyValueExpr); ok {
		return kv.Value
	}
	return e
}

// isIdent reports whether s can be an object key without quotes.
func isIdent(s string) bool {
	for i, r := range s {
		if !(r == '_' || r == '$' || unicode.IsLetter(r) || i > 0 && unicode.IsDigit(r)) {
			return false
		}
	}
	return s != ""
}
