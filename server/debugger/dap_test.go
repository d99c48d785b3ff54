package debugger

import "testing"

// Renumbering touches the top-level seq alone, every other byte as it was.
func TestWithNumberSetsTheTopLevelSeqOnly(t *testing.T) {
	for _, c := range [][2]string{
		{`{"seq":1,"type":"event"}`, `{"seq":42,"type":"event"}`},
		{`{ "type":"event", "body":{"seq":5}, "seq" : 7 }`, `{ "type":"event", "body":{"seq":5}, "seq" : 42 }`},
		{`{"type":"event"}`, `{"seq":42,"type":"event"}`},
		{`{}`, `{"seq":42}`},
	} {
		if got := string(withNumber([]byte(c[0]), "seq", 42)); got != c[1] {
			t.Errorf("%s became %s, want %s", c[0], got, c[1])
		}
	}
}
