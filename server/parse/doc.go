// Package parse reads what Django's runserver prints: the reloader's lines
// and Python tracebacks. (Its bind errors belong to port conflicts, in
// portcheck.) It is pure text processing, fed line by line, so every parser
// is fuzzed and tested on output captured from real Django in
// testdata/django-output.
package parse
