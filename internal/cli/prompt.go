package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/redeploy-drill/drill/drills"
)

// terminalPrompter asks the operator at the terminal to perform a manual
// step. It exists only when stdin and stderr are terminals and CI is not set:
// a scheduled job has nobody to answer, so its manual steps fail.
type terminalPrompter struct {
	mu  sync.Mutex
	in  *bufio.Reader
	out io.Writer
}

func newPrompter(s Streams, t terminals) *terminalPrompter {
	if !t.in || !t.err || os.Getenv("CI") == "true" {
		return nil
	}
	return &terminalPrompter{in: bufio.NewReader(s.In), out: s.Err}
}

// Confirm shows the instructions and waits for "done" (or "abort").
func (p *terminalPrompter) Confirm(ctx context.Context, step, instructions string) error {
	if p == nil {
		return &drills.ManualStepError{Step: step}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, "\nmanual step %q:\n  %s\nType 'done' when finished, or 'abort': ", step, strings.ReplaceAll(instructions, "\n", "\n  "))
	answer := make(chan string, 1)
	go func() {
		line, _ := p.in.ReadString('\n')
		answer <- strings.TrimSpace(line)
	}()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case a := <-answer:
		if a == "done" {
			return nil
		}
		return fmt.Errorf("operator answered %q instead of done", a)
	}
}
