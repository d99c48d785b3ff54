package engine

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/config"
)

// The engine applies at once exactly the settings that protocol.SettingEffects
// says it does: a change to one of them sets the watcher of a running server
// up again, and a change to any other leaves the server and its watcher be.
// The table is what the spec shows and the editor reads to offer a restart,
// so the engine must not drift from it.
func TestSettingEffectsAtOnce(t *testing.T) {
	// A valid value, other than the rig's, for every key.
	changed := map[string]any{
		"python":         "/usr/bin/python3",
		"managePy":       "manage.py",
		"address":        "127.0.0.1:8001",
		"args":           []any{"--nostatic"},
		"env":            map[string]any{"A": "1"},
		"envFile":        ".env",
		"reload":         "django",
		"watchExclude":   []any{"*.log"},
		"onPortConflict": "nextFree",
		"startupTimeout": 5,
		"watch":          "poll",
		"pollInterval":   0.5,
		"browserReload":  false,
		"preload":        "off",
	}
	keys := slices.Sorted(maps.Keys(protocol.SettingEffects))
	if got := slices.Sorted(maps.Keys(changed)); !slices.Equal(got, keys) {
		t.Fatalf("this test changes %q, protocol.SettingEffects has %q: give each setting a value here", got, keys)
	}
	r := newRig(t, nil, nil)
	r.running(t)
	applied := func() int { // times a watcher was set up
		r.rec.mu.Lock()
		defer r.rec.mu.Unlock()
		n := 0
		for _, m := range r.rec.messages {
			if strings.Contains(m.Text, "Watching with") || strings.Contains(m.Text, "Polling for changes") {
				n++
			}
		}
		return n
	}
	set := func(key string, value any) {
		// The rig's settings (see newRig), with key changed.
		all := map[string]any{"python": os.Args[0], "address": "127.0.0.1:8000", "onPortConflict": "fail"}
		if key != "" {
			all[key] = value
		}
		s, err := config.Resolve(all, nil)
		if err != nil {
			t.Fatalf("%s = %v: %v", key, value, err)
		}
		r.e.SetSettings(s, nil)
		r.e.Status() // the engine has handled the settings
	}
	if applied() == 0 {
		t.Fatal("the running server's folder is not watched")
	}
	var atOnce []string
	for _, key := range keys {
		before := applied()
		set(key, changed[key])
		if applied() > before {
			atOnce = append(atOnce, key)
		}
		set("", nil) // back to the rig's settings, before the next key
		if st := r.e.Status(); st.State != protocol.StateRunning {
			t.Fatalf("after a change to %s the server is %s, want it left running", key, st.State)
		}
	}
	var want []string
	for _, key := range keys {
		if protocol.SettingEffects[key] == protocol.EffectAtOnce {
			want = append(want, key)
		}
	}
	if !slices.Equal(atOnce, want) {
		t.Errorf("the engine applies %q to a running server at once; protocol.SettingEffects says %q", atOnce, want)
	}
}
