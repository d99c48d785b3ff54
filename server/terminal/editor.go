package terminal

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// The -editor flag: the command that opens a traceback frame a page's user
// clicked, as argv (never a shell), with {file} and {line} in its words.

// editorExample is what an error about -editor suggests.
const editorExample = "-editor 'code -g {file}:{line}'"

// EditorCommand is the -editor command's words, with their placeholders.
type EditorCommand []string

// ParseEditor splits s into words as a POSIX shell would, with no shell:
// white space separates words, 'single' and "double" quotes and a
// backslash keep it in one, nothing else is special. The command must
// name {file} and a program that exists.
func ParseEditor(s string) (EditorCommand, error) {
	words, err := splitWords(s)
	if err == nil && len(words) == 0 {
		err = errors.New("it is empty")
	}
	if err == nil && !strings.Contains(strings.Join(words, " "), "{file}") {
		err = errors.New("it does not say where the file goes: put {file} (and {line}) in it")
	}
	if err == nil {
		if _, lookErr := exec.LookPath(words[0]); lookErr != nil {
			err = fmt.Errorf("there is no program %s (%v)", words[0], lookErr)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("invalid -editor %q: %w. Give your editor's command, e.g. %s", s, err, editorExample)
	}
	return words, nil
}

// splitWords splits s into words, with quotes and backslashes as ParseEditor says.
func splitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
			continue
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("its %c quote is not closed", c)
			}
			w.WriteString(s[i+1 : i+1+end])
			i += end + 1
		default:
			w.WriteByte(c)
		}
		inWord = true
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// Argv is the command for file at line.
func (c EditorCommand) Argv(file string, line int) []string {
	r := strings.NewReplacer("{file}", file, "{line}", strconv.Itoa(line))
	argv := make([]string, len(c))
	for i, w := range c {
		argv[i] = r.Replace(w)
	}
	return argv
}

// editor runs the -editor command for each click, and waits for each run
// so that none is left unreaped.
type editor struct {
	cmd  EditorCommand
	p    *printer
	runs sync.WaitGroup
}

func (e *editor) open(file string, line int) {
	argv := e.cmd.Argv(file, line)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = e.p.err, e.p.err
	if err := cmd.Start(); err != nil {
		e.p.line(fmt.Sprintf("error: cannot open %s:%d with the -editor command %s: %v. Check the -editor flag.", file, line, argv[0], err))
		return
	}
	e.p.line(fmt.Sprintf("opening %s:%d in the editor (-editor)", file, line))
	e.runs.Add(1)
	go func() {
		defer e.runs.Done()
		if err := cmd.Wait(); err != nil {
			e.p.line(fmt.Sprintf("error: the -editor command %s, for %s:%d, failed: %v. Check the -editor flag.", argv[0], file, line, err))
		}
	}()
}
