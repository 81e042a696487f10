package cli

import (
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/redeploy-drill/drill/drills"
)

// ignoreSIGPIPE makes a write to a closed stdout or stderr (`drill run ... |
// head -1`) return an error instead of killing drill: the drill must finish,
// run its teardown and record its result whoever stopped reading. The
// signal is handled rather than ignored, because an ignored signal would
// stay ignored in every step and terraform drill starts, and a handled one
// is reset to its default for them.
var ignoreSIGPIPE = sync.OnceFunc(func() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
})

// outputStreams wraps an invocation's stdout and stderr in the one
// redactor every writer goes through: progress, logs, tables, JSON, errors
// and messages all reach the terminal (or a CI log) through it, so a
// secret drill learns (a scenario's secrets, sensitive Terraform outputs, a
// dead run's secrets read by gc) is masked there whatever code printed it.
// Write errors are swallowed: drill's own output going away (a closed pipe)
// must never change what a drill does or records.
type outputStreams struct {
	out, err io.WriteCloser
}

func wrapStreams(s Streams, r *drills.Redactor) (Streams, *outputStreams) {
	o := &outputStreams{out: r.Writer(&quietWriter{w: s.Out}), err: r.Writer(&quietWriter{w: s.Err})}
	return Streams{In: s.In, Out: o.out, Err: o.err}, o
}

// close flushes what the redactors hold back.
func (o *outputStreams) close() {
	_ = o.out.Close()
	_ = o.err.Close()
}

// quietWriter writes to w until the first error, then drops everything,
// and never reports an error: see outputStreams.
type quietWriter struct {
	mu     sync.Mutex
	w      io.Writer
	broken bool
}

func (q *quietWriter) Write(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.broken && q.w != nil {
		if _, err := q.w.Write(p); err != nil {
			q.broken = true
		}
	}
	return len(p), nil
}

// terminals says which of an invocation's streams are terminals, read
// before they are wrapped.
type terminals struct{ in, err bool }

func terminalOf(s Streams) terminals {
	return terminals{in: isTerminalReader(s.In), err: isTerminal(s.Err)}
}

func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && isTerminal(f)
}
