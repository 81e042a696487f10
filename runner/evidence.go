package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/results"
)

// noticeLostResults checks, before the document is saved again, that it is
// still where drill wrote it. When the results folder was removed during the
// run (by hand, by a cleanup job) the save writes the document again, but
// the ledger is gone with the folder: it is written again at once, so that
// a kill -9 from now on still leaves `drill gc` a full record of what the
// run created. The document then says that its evidence is incomplete.
func (x *run) noticeLostResults(c *results.Cycle, step string) {
	if _, err := os.Stat(x.files.Document()); !errors.Is(err, fs.ErrNotExist) {
		return
	}
	if x.ledger != nil {
		if err := x.ledger.Restore(); err != nil {
			x.log.Warn("could not write the ledger again", zap.Error(err))
		}
	}
	if x.lostResults {
		return
	}
	x.lostResults = true
	msg := fmt.Sprintf("the run's document was removed from the results folder %s during the run (noticed at cycle %d, step %s); it was written again, but the logs written before are lost", x.files.Folder(), c.Index, step)
	x.doc.Warnings = append(x.doc.Warnings, msg)
	x.log.Warn("results folder removed during the run", zap.String("step", step), zap.Int("cycle", c.Index))
	x.emit(Event{Kind: Notice, Run: x.doc, Cycle: c, Message: "warning: " + msg})
}

// dropLostLogs makes the finished document point only to logs that exist:
// a step whose log vanished (its results folder was removed during the
// run) keeps its status but loses its log path, and the document says which
// logs are lost rather than promising evidence that is not there.
func (x *run) dropLostLogs() {
	var lost []string
	for ci := range x.doc.Cycles {
		c := &x.doc.Cycles[ci]
		for si := range c.Steps {
			s := &c.Steps[si]
			if s.Log == "" {
				continue
			}
			path, err := x.files.Resolve(s.Log)
			if err != nil {
				continue
			}
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				lost = append(lost, fmt.Sprintf("c%d/%s", c.Index, s.Name))
				s.Log = ""
			}
		}
	}
	if len(lost) == 0 {
		return
	}
	msg := fmt.Sprintf("step logs lost (removed from the results folder during the run): %s", strings.Join(lost, ", "))
	x.doc.Warnings = append(x.doc.Warnings, msg)
	x.log.Warn("step logs lost", zap.Strings("steps", lost))
}

// announceBudget bounds the notifications once the run's context ended
// (--timeout, a signal): the job's grace period is short, and the
// teardown has used some of it.
const announceBudget = 5 * time.Second

// announce tells the Announcer how the run ended; what could not be told
// becomes a warning of the run. An interrupted drill says nothing: an
// operator's Ctrl-C is not news for the channel.
func (x *run) announce() {
	if x.r.announce == nil || x.doc.Status == results.StatusCanceled {
		return
	}
	// The notifications outlive a --timeout or an interrupt that ends the
	// run, but by announceBudget at most.
	ctx, cancel := context.WithCancel(context.WithoutCancel(x.ctx))
	defer cancel()
	stop := context.AfterFunc(x.ctx, func() { time.AfterFunc(announceBudget, cancel) })
	defer stop()
	for _, w := range x.r.announce(ctx, x.doc) {
		w = x.redactor.Redact(w)
		x.doc.Warnings = append(x.doc.Warnings, w)
		x.emit(Event{Kind: Notice, Run: x.doc, Message: "warning: " + w})
	}
}
