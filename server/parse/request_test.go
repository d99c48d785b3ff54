package parse

import (
	"testing"

	"github.com/django-runserver/django-runserver/server/contract"
)

func TestRequestLogged(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Request
		ok   bool
	}{
		{`[07/Dec/2026 01:20:39] "GET /shop/ HTTP/1.1" 200 1234`, Request{"GET", "/shop/", 200}, true},
		{`[07/Dec/2026 01:20:39] "GET /shop/?page=2&q=a%20b HTTP/1.1" 500 145`, Request{"GET", "/shop/", 500}, true},
		{`"POST /caf%C3%A9/ HTTP/1.0" 302 0`, Request{"POST", "/café/", 302}, true},
		{`INFO 2026-12-07 basehttp "HEAD / HTTP/1.1" 304 0`, Request{"HEAD", "/", 304}, true}, // a project's own LOGGING format
		// Daphne's runserver's own format.
		{`HTTP GET /shop/?page=2&q=a%20b 200 [0.01, 127.0.0.1:50312]`, Request{"GET", "/shop/", 200}, true},
		{`HTTP POST /caf%C3%A9/ 500 [0.20, None]`, Request{"POST", "/café/", 500}, true},
		{`INFO 2026-12-07 server HTTP HEAD / 304 [0.00, 127.0.0.1:1]`, Request{"HEAD", "/", 304}, true},
		{`HTTP GET /shop/ 200`, Request{}, false},
		{`HTTP get /shop/ 200 [0.01, x]`, Request{}, false},
		{`WebSocket CONNECT /ws [127.0.0.1:50312]`, Request{}, false},
		{`HTTP/1.1 GET / 200 [0.01, x]`, Request{}, false},
		{`Internal Server Error: /shop/`, Request{}, false},
		{`  File "/p/views.py", line 3, in index`, Request{}, false},
		{`"GET /shop/ HTTP/1.1" abc 0`, Request{}, false},
		{`"get /shop/ HTTP/1.1" 200 0`, Request{}, false},
		{`"GET /shop/" 200 0`, Request{}, false},
		{`"`, Request{}, false},
	} {
		got, ok := RequestLogged(tc.line)
		if ok != tc.ok || got != tc.want {
			t.Errorf("RequestLogged(%q) = %+v %v, want %+v %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRequestFailed(t *testing.T) {
	line := contract.RequestErrorPrefix + `{"method": "GET", "path": "/shop/", "exception": "ZeroDivisionError", "message": "division by zero",` +
		` "frames": [{"file": "/usr/lib/python3/dist-packages/django/core/handlers/base.py", "line": 197, "func": "_get_response"},` +
		` {"file": "/p/shop/views.py", "line": 12, "func": "index"}, {"file": "/p/shop/util.py", "line": 0, "func": "broken"}],` +
		` "template": {"file": "/p/shop/templates/index.html", "line": 3}}` + "\r"
	re, ok := RequestFailed(line)
	if !ok || re == nil {
		t.Fatalf("RequestFailed = %+v %v", re, ok)
	}
	if re.Method != "GET" || re.Path != "/shop/" || re.Template == nil || *re.Template != (contract.TemplateSpot{File: "/p/shop/templates/index.html", Line: 3}) {
		t.Errorf("request error = %+v", re)
	}
	tb := RequestTraceback(re)
	if tb.Summary() != "ZeroDivisionError: division by zero" || len(tb.Frames) != 2 {
		t.Errorf("traceback = %+v, want the summary and the two frames with a line", tb)
	}
	if f, ok := tb.Locate("/p"); !ok || f.File != "/p/shop/views.py" || f.Line != 12 {
		t.Errorf("located %+v %v, want the view's frame", f, ok)
	}

	// A damaged report is still the shim's: never shown, never published.
	if re, ok := RequestFailed(contract.RequestErrorPrefix + `{"method": "GET", "exc`); !ok || re != nil {
		t.Errorf("truncated report = %+v %v, want ours and nothing", re, ok)
	}
	if _, ok := RequestFailed(`[07/Dec/2026] "GET / HTTP/1.1" 500 1`); ok {
		t.Error("Django's request line taken for a report")
	}
}
