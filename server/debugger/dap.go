package debugger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// message is the part of a DAP message the relay reads.
type message struct {
	Seq        int             `json:"seq"`
	RequestSeq int             `json:"request_seq"`
	Success    bool            `json:"success"`
	Message    string          `json:"message"`
	Type       string          `json:"type"`
	Command    string          `json:"command"`
	Event      string          `json:"event"`
	Arguments  json.RawMessage `json:"arguments"`
	Body       json.RawMessage `json:"body"`
}

// threadBody is the part of a stopped or continued event, or of a
// continue request's arguments, the relay reads.
type threadBody struct {
	ThreadID            int    `json:"threadId"`
	AllThreadsStopped   bool   `json:"allThreadsStopped"`
	AllThreadsContinued *bool  `json:"allThreadsContinued"`
	SingleThread        bool   `json:"singleThread"`
	Reason              string `json:"reason"`
	Category            string `json:"category"`
	Threads             []struct {
		ID int `json:"id"`
	} `json:"threads"`
}

// writeFrame writes body framed as DAP frames it.
func writeFrame(w io.Writer, body []byte) error {
	_, err := w.Write(append([]byte("Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"), body...))
	return err
}

// withNumber returns body, a JSON object, with its top-level key set to n,
// every other byte as it was: the relay renumbers what passes, and must
// not otherwise touch it.
func withNumber(body []byte, key string, n int) []byte {
	num := strconv.Itoa(n)
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return body
	}
	open := dec.InputOffset()
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return body
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return body
		}
		if k == key {
			end := int(dec.InputOffset())
			start := end - len(v)
			return append(append(append([]byte{}, body[:start]...), num...), body[end:]...)
		}
	}
	// Missing: added first.
	sep := ","
	if bytes.TrimSpace(body[open:])[0] == '}' {
		sep = ""
	}
	return append(append(append([]byte{}, body[:open]...), fmt.Sprintf("%q:%s%s", key, num, sep)...), body[open:]...)
}

// newMessage is a message of the relay's own to the editor, numbered by
// the session when it is sent.
func newMessage(fields map[string]any) []byte {
	b, _ := json.Marshal(fields)
	return b
}

func event(name string, body any) []byte {
	return newMessage(map[string]any{"type": "event", "event": name, "body": body})
}

func errorResponse(seq int, command, text string) []byte {
	return newMessage(map[string]any{"type": "response", "request_seq": seq, "command": command,
		"success": false, "message": text, "body": map[string]any{"error": map[string]any{"id": 1, "format": text, "showUser": false}}})
}
