package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// The committed protocol.ts is what protocol.go generates: a change to one
// without the other fails here, as `make generate-check` does in CI.
func TestProtocolTSIsGenerated(t *testing.T) {
	src, err := os.ReadFile("../protocol.go")
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate("protocol.go", src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../vscode-extension/src/protocol.ts")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("vscode-extension/src/protocol.ts is not what protocol/protocol.go generates: run go generate ./protocol and commit the result")
	}
}

func TestGenerate(t *testing.T) {
	src := "package protocol\n" + `
// Kind says what.
type Kind string

const (
	KindSave  Kind = "save"
	// KindCrashLoop is a crash.
	KindCrashLoop Kind = "crash-loop"
)

// Limit is a number.
const Limit = -3

type P struct {
	K    Kind    ` + "`json:\"kind\"`" + `
	N    *int    ` + "`json:\"n\"`" + `
	M    *int    ` + "`json:\"m,omitzero\"`" + `
	Raw  map[string]any ` + "`json:\"raw,omitempty\" ts:\"P\"`" + `
	List []string ` + "`json:\"list\"`" + `
}

type RequestType[P, R any] struct{ Method string }

// Ask asks.
var Ask = RequestType[P, []Kind]{"x/ask"}

var Effects = map[string]Kind{"a-b": KindSave, "c": KindCrashLoop}
`
	out, err := generate("p.go", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"/** Kind says what. */\nexport const Kind = {\n    Save: \"save\",\n    /** KindCrashLoop is a crash. */\n    CrashLoop: \"crash-loop\",\n} as const;\nexport type Kind = (typeof Kind)[keyof typeof Kind];\n",
		"/** Limit is a number. */\nexport const Limit = -3;\n",
		"    kind: Kind;\n    n: number | null;\n    m?: number;\n    raw?: P;\n    list: string[];\n",
		"/** Ask asks. */\nexport const Ask = new RequestType<P, Kind[], void>(\"x/ask\");\n",
		"export const Effects: Readonly<Record<string, Kind>> = {\n    \"a-b\": \"save\",\n    c: \"crash-loop\",\n};\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks\n%s\ngot:\n%s", want, out)
		}
	}
}

// What has no TypeScript form fails the generator, naming it, instead of
// being left out of protocol.ts.
func TestGenerateRefuses(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"type T struct { C chan int `json:\"c\"` }", "T.C: no TypeScript type for chan int"},
		{"type T struct { Hidden int }", "T.Hidden: every field needs a JSON name"},
		{"type B bool", "type B: a basic type translates only as an enum"},
		{"type T struct { M map[int]string `json:\"m\"` }", "a map's key must be a string"},
		{"func F() {}", "only declarations of types, constants and variables translate"},
	} {
		_, err := generate("p.go", []byte("package protocol\n"+c.src+"\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", c.src, err, c.want)
		}
	}
}

func TestCommonWords(t *testing.T) {
	for _, c := range []struct {
		names []string
		want  string
	}{
		{[]string{"StreamStdout", "StreamStderr"}, "Stream"},
		{[]string{"CodeStartupFailed", "CodeStartupTimeout", "CodeCrashed"}, "Code"},
		{[]string{"CodeStartupFailed", "CodeStartupTimeout"}, "CodeStartup"},
		{[]string{"Stop"}, ""},
		{[]string{"Ab", "Cd"}, ""},
	} {
		if got := commonWords(c.names); got != c.want {
			t.Errorf("commonWords(%q) = %q, want %q", c.names, got, c.want)
		}
	}
}
