package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// ui writes what drill tells the operator on stderr: errors, warnings,
// notices and progress. With --log-format console it writes the text as
// it is; with --log-format json every line is one JSON object, in the shape
// of drill's zap log lines ({"level","time","msg", fields...}), so a log
// pipeline can parse all of stderr. Every writer of stderr goes through it.
type ui struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
	now  func() time.Time
}

func newUI(w io.Writer, format string) *ui {
	return &ui{w: w, json: format == "json", now: time.Now}
}

// field is one key and value of a JSON line.
type field struct {
	key   string
	value any
}

func f(key string, value any) field { return field{key, value} }

// emit writes one message: text in console mode (as is, a newline added
// when it lacks one), one JSON object in json mode with msg and fields.
func (u *ui) emit(level, text, msg string, fields ...field) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.json {
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		_, _ = io.WriteString(u.w, text)
		return
	}
	var b bytes.Buffer
	b.WriteString(`{"level":`)
	writeJSON(&b, level)
	b.WriteString(`,"time":`)
	writeJSON(&b, u.now().UTC().Format("2006-01-02T15:04:05.000Z0700"))
	b.WriteString(`,"msg":`)
	writeJSON(&b, msg)
	for _, fl := range fields {
		if fl.value == nil {
			continue
		}
		b.WriteByte(',')
		writeJSON(&b, fl.key)
		b.WriteByte(':')
		writeJSON(&b, fl.value)
	}
	b.WriteString("}\n")
	_, _ = u.w.Write(b.Bytes())
}

func writeJSON(b *bytes.Buffer, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		data, _ = json.Marshal(fmt.Sprint(v))
	}
	b.Write(data)
}

// errorf, warnf and infof write a message of drill's own, "drill: ..." in
// console mode.
func (u *ui) errorf(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	u.emit("error", "drill: "+msg, msg)
}

func (u *ui) warnf(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	u.emit("warn", "drill: warning: "+msg, msg)
}

func (u *ui) infof(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	u.emit("info", "drill: "+msg, msg)
}

// raw writes text that controls the terminal (the live progress line) in
// console mode only: a JSON log has no status line to redraw.
func (u *ui) raw(text string) {
	if u.json {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	_, _ = io.WriteString(u.w, text)
}
