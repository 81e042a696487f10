package kind

import (
	"fmt"
	"io"
	"strings"
	"sync"

	kindlog "sigs.k8s.io/kind/pkg/log"
)

// kindLogger writes kind's user-facing messages (V(0): "Creating cluster",
// " ✓ Preparing nodes") and its warnings and errors into the step log, one
// line per message. Debug levels (V(1) and up) are dropped. kind logs from
// several goroutines, so writes are serialized; write errors are ignored (a
// creation that outlives its step may write after the step log was closed).
type kindLogger struct {
	mu *sync.Mutex
	w  io.Writer
}

func newKindLogger(w io.Writer) kindLogger { return kindLogger{mu: &sync.Mutex{}, w: w} }

func (l kindLogger) write(prefix, msg string) {
	msg = strings.TrimRight(msg, "\n")
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, prefix+msg+"\n")
}

func (l kindLogger) Warn(message string) { l.write("kind: WARNING: ", message) }
func (l kindLogger) Warnf(format string, args ...any) {
	l.write("kind: WARNING: ", fmt.Sprintf(format, args...))
}
func (l kindLogger) Error(message string) { l.write("kind: ERROR: ", message) }
func (l kindLogger) Errorf(format string, args ...any) {
	l.write("kind: ERROR: ", fmt.Sprintf(format, args...))
}

func (l kindLogger) V(level kindlog.Level) kindlog.InfoLogger {
	return kindInfo{l: l, enabled: level <= 0}
}

type kindInfo struct {
	l       kindLogger
	enabled bool
}

func (i kindInfo) Info(message string) {
	if i.enabled && strings.TrimSpace(message) != "" {
		i.l.write("kind: ", message)
	}
}

func (i kindInfo) Infof(format string, args ...any) { i.Info(fmt.Sprintf(format, args...)) }
func (i kindInfo) Enabled() bool                    { return i.enabled }
