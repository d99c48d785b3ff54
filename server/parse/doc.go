// Package parse reads what Django's runserver prints: bind errors, the
// start-up banner, the reloader's lines and Python tracebacks. It is pure
// text processing, fed line by line, so every parser is fuzzed and tested on
// output captured from real Django in testdata/django-output.
package parse
