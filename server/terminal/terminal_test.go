package terminal

import (
	"bytes"
	"testing"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/engine"
)

// The suggested command repeats the user's own flags, so it runs where the
// first command ran.
func TestCommandRepeatsTheUsersFlags(t *testing.T) {
	for _, tc := range []struct {
		flags     []string
		dir, addr string
		want      string
	}{
		{[]string{"-python", "/opt/venv/bin/python", "--reload=django"}, "site", "127.0.0.1:8001",
			"django-runserver run -python /opt/venv/bin/python --reload=django site 127.0.0.1:8001"},
		{nil, ".", "[::1]:8001", "django-runserver run . [::1]:8001"},
		{[]string{"-arg", "--nothreading", "-env-file", "my env/.env", "-python", "it's python"}, "/srv/my site", "127.0.0.1:8001",
			`django-runserver run -arg --nothreading -env-file 'my env/.env' -python 'it'\''s python' '/srv/my site' 127.0.0.1:8001`},
	} {
		if got := Command(tc.flags, tc.dir, tc.addr); got != tc.want {
			t.Errorf("Command(%q, %q, %q)\n got %s\nwant %s", tc.flags, tc.dir, tc.addr, got, tc.want)
		}
	}
	flags := []string{"-python", "p"}
	Command(flags[:1:2], ".", "8001")
	if flags[1] != "p" {
		t.Error("Command wrote into the caller's flags")
	}
}

// A message about a setting ends with how to set it here.
func TestPrinterPointsToTheFlag(t *testing.T) {
	var out bytes.Buffer
	p := &printer{out: &out, err: &out, pointers: map[string]string{"python": "flag -python"}}
	p.LogMessage(engine.Message{Type: protocol.MessageError, Text: "[site] x cannot import Django. Install it, or choose an interpreter that has it.", Setting: "python"})
	p.LogMessage(engine.Message{Type: protocol.MessageInfo, Text: "[site] stopped"})
	p.LogMessage(engine.Message{Type: protocol.MessageError, Text: "[site] no pointer", Setting: "unknown"})
	want := "django-runserver: error: [site] x cannot import Django. Install it, or choose an interpreter that has it. (flag -python)\n" +
		"django-runserver: [site] stopped\n" +
		"django-runserver: error: [site] no pointer\n"
	if out.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", out.String(), want)
	}
}
