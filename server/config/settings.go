// Package config turns what the editor sends into what the engine runs:
// typed, validated settings, the environment, and the manage.py and Python
// of a folder.
package config

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/django-runserver/django-runserver/protocol"
)

// DefaultStartupTimeout is how long, in seconds, a server may take to accept
// connections. Big projects with slow system checks take several seconds.
const DefaultStartupTimeout = 60

// DefaultPollInterval and MinPollInterval bound, in seconds, the time
// between two polls of a polled folder. A poll stats every file, so a
// shorter interval costs CPU in proportion (see docs/benchmarks.md).
const (
	DefaultPollInterval = 1
	MinPollInterval     = 0.1
)

// Invalid is Resolve's error: each setting whose value is wrong, and what
// is wrong with it. Each face names the settings in its own words: the
// editor by their keys, the terminal by its flags.
type Invalid struct {
	Problems []Problem // sorted by key
}

// Problem is one setting's wrong value.
type Problem struct {
	Key string // the settings key, "pollInterval"
	// Text says what is wrong, after the setting's name: "must be at least
	// 0.1 seconds, not 0.05".
	Text string
}

// Error names the settings by their keys in the settings section, as an
// editor's settings do.
func (e *Invalid) Error() string {
	return "invalid settings: " + e.Words(func(key string) string { return protocol.SettingsSection + "." + key }) +
		". Fix them in the settings"
}

// Words lists the problems, each setting named by name(key).
func (e *Invalid) Words(name func(key string) string) string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = name(p.Key) + " " + p.Text
	}
	return strings.Join(parts, "; ")
}

// Resolve merges a folder's overrides over the global settings and checks
// every value's type. Unknown keys are ignored: editors send their own
// settings in the same section. A bad value gives an *Invalid naming each
// bad key and saying what it must be.
func Resolve(global, folder map[string]any) (protocol.Settings, error) {
	merged := map[string]any{}
	for k, v := range global {
		merged[k] = v
	}
	for k, v := range folder {
		merged[k] = v
	}
	var s protocol.Settings
	var problems []Problem
	field := func(key string, dst any, want string) {
		v, ok := merged[key]
		if !ok || v == nil {
			return
		}
		raw, _ := json.Marshal(v)
		// json decodes a null element as "" into a string: refuse it instead.
		if err := json.Unmarshal(raw, dst); err != nil || hasNullElement(v) {
			problems = append(problems, Problem{key, fmt.Sprintf("must be %s, not %s", want, describe(v))})
		}
	}
	field("python", &s.Python, "a string")
	field("managePy", &s.ManagePy, "a string")
	field("address", &s.Address, "a string")
	field("args", &s.Args, "an array of strings")
	field("env", &s.Env, "an object of strings")
	field("envFile", &s.EnvFile, "a string")
	field("reload", &s.Reload, alternatives(reloadModes))
	field("watchExclude", &s.WatchExclude, "an array of strings")
	field("onPortConflict", &s.OnPortConflict, alternatives(portConflictActions))
	field("startupTimeout", &s.StartupTimeout, "a number of seconds")
	field("watch", &s.Watch, alternatives(watchModes))
	field("pollInterval", &s.PollInterval, "a number of seconds")
	field("browserReload", &s.BrowserReload, "true or false")
	field("preload", &s.Preload, alternatives(preloadModes))

	problems = append(problems, oneOf(&s.Reload, "reload", reloadModes)...)
	problems = append(problems, oneOf(&s.OnPortConflict, "onPortConflict", portConflictActions)...)
	problems = append(problems, oneOf(&s.Watch, "watch", watchModes)...)
	problems = append(problems, oneOf(&s.Preload, "preload", preloadModes)...)
	switch {
	case s.StartupTimeout == 0:
		s.StartupTimeout = DefaultStartupTimeout
	case s.StartupTimeout < 0:
		problems = append(problems, Problem{"startupTimeout", "must be a positive number of seconds"})
	}
	switch {
	case s.PollInterval == 0:
		s.PollInterval = DefaultPollInterval
	case s.PollInterval < MinPollInterval:
		problems = append(problems, Problem{"pollInterval", fmt.Sprintf("must be at least %g seconds, not %g", MinPollInterval, s.PollInterval)})
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			problems = append(problems, Problem{"env", fmt.Sprintf("has an invalid variable name %q", k)})
		}
	}
	if len(problems) > 0 {
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].Key < problems[j].Key })
		return s, &Invalid{problems}
	}
	return s, nil
}

// The values of each choice, its default first.
var (
	reloadModes         = []protocol.ReloadMode{protocol.ReloadFast, protocol.ReloadDjango, protocol.ReloadOff}
	portConflictActions = []protocol.PortConflictAction{protocol.PortConflictAsk, protocol.PortConflictNextFree, protocol.PortConflictFail}
	watchModes          = []protocol.WatchMode{protocol.WatchAuto, protocol.WatchEvents, protocol.WatchPoll}
	preloadModes        = []protocol.PreloadMode{protocol.PreloadAuto, protocol.PreloadOn, protocol.PreloadOff}
)

// oneOf sets an unset choice to its default, allowed[0], and names a value
// that is not allowed.
func oneOf[T ~string](v *T, key string, allowed []T) []Problem {
	switch {
	case *v == "":
		*v = allowed[0]
	case !slices.Contains(allowed, *v):
		return []Problem{{key, fmt.Sprintf("must be %s, not %q", alternatives(allowed), *v)}}
	}
	return nil
}

// alternatives words a choice's values: "a", "b" or "c".
func alternatives[T ~string](allowed []T) string {
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = strconv.Quote(string(a))
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
}

// hasNullElement reports a null inside an array or object.
func hasNullElement(v any) bool {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if e == nil {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if e == nil {
				return true
			}
		}
	}
	return false
}

func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
