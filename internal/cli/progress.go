package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/redeploy-drill/drill/internal/janitor"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/runner"
)

// progress shows each step as it runs. In a terminal one status line is
// redrawn with the running step's elapsed time, then replaced by the step's
// final line; elsewhere (CI=true, NO_COLOR, a file or pipe) it prints plain
// lines, no colour, no animation, so logs of nightly jobs stay readable.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	live    bool
	prefix  bool // several scenarios at once: prefix lines with the scenario
	running map[string]runningStep
	stopped chan struct{}
	once    sync.Once
	// runs remembers the runs under way, to read their ledgers if drill
	// must exit at once.
	runs  map[string]*results.Run
	store *results.Store
}

type runningStep struct {
	scenario, label string
	since           time.Time
}

func newProgress(w io.Writer, terminal bool, prefix bool, store *results.Store) *progress {
	p := &progress{w: w, prefix: prefix, running: map[string]runningStep{}, stopped: make(chan struct{}), runs: map[string]*results.Run{}, store: store}
	p.live = terminal && os.Getenv("CI") != "true" && os.Getenv("NO_COLOR") == ""
	if p.live {
		go p.tick()
	}
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p *progress) tick() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stopped:
			return
		case <-t.C:
			p.mu.Lock()
			p.redraw()
			p.mu.Unlock()
		}
	}
}

// redraw rewrites the status line with every running step.
func (p *progress) redraw() {
	if !p.live || len(p.running) == 0 {
		return
	}
	var parts []string
	for _, r := range p.running {
		parts = append(parts, fmt.Sprintf("%s %s", r.label, time.Since(r.since).Round(100*time.Millisecond)))
	}
	fmt.Fprintf(p.w, "\r\033[K  \033[36m⟳\033[0m %s", strings.Join(parts, " · "))
}

func (p *progress) clearLine() {
	if p.live {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func (p *progress) observe(e runner.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	name := e.Run.Scenario.Name
	pre := ""
	if p.prefix {
		pre = "[" + name + "] "
	}
	p.clearLine()
	switch e.Kind {
	case runner.RunStarted:
		budget := ""
		if e.Run.BudgetMs > 0 {
			budget = ", budget " + ms(e.Run.BudgetMs)
		}
		p.runs[name] = e.Run
		fmt.Fprintf(p.w, "%sdrill %s: run %s of %s%s\n", pre, name, e.Run.RunID, e.Run.Scenario.File, budget)
	case runner.CycleStarted:
		fmt.Fprintf(p.w, "%scycle %d\n", pre, e.Cycle.Index)
	case runner.StepStarted:
		label := fmt.Sprintf("%s%-9s %s", pre, e.Step.Phase, e.Step.Name)
		p.running[name] = runningStep{scenario: name, label: label, since: time.Now()}
		if !p.live {
			fmt.Fprintf(p.w, "%s  %-9s %-20s started\n", pre, e.Step.Phase, e.Step.Name)
		}
	case runner.StepFinished:
		delete(p.running, name)
		fmt.Fprintf(p.w, "%s  %s %-9s %-20s %8s%s\n", pre, p.mark(e.Step.Status), e.Step.Phase, e.Step.Name, ms(e.Step.DurationMs), stepNote(e.Step))
	case runner.CycleFinished:
		fmt.Fprintf(p.w, "%scycle %d %s in %s\n", pre, e.Cycle.Index, e.Cycle.Status, ms(e.Cycle.DurationMs))
	case runner.RunFinished:
		fmt.Fprintf(p.w, "%sdrill %s %s in %s\n", pre, name, e.Run.Status, ms(e.Run.DurationMs))
	case runner.Notice:
		fmt.Fprintf(p.w, "%s%s\n", pre, e.Message)
	}
	p.redraw()
}

func (p *progress) mark(s results.Status) string {
	sym := map[results.Status]string{
		results.StatusPassed: "✓", results.StatusFailed: "✗", results.StatusTimedOut: "⏱",
		results.StatusCanceled: "⊘", results.StatusSkipped: "-",
	}[s]
	if !p.live {
		return fmt.Sprintf("%-8s", s)
	}
	color := map[results.Status]string{results.StatusPassed: "32", results.StatusFailed: "31", results.StatusTimedOut: "31", results.StatusCanceled: "33"}[s]
	if color == "" {
		return sym
	}
	return "\033[" + color + "m" + sym + "\033[0m"
}

func stepNote(s *results.Step) string {
	var notes []string
	if s.Attempts > 1 {
		notes = append(notes, fmt.Sprintf("%d attempts", s.Attempts))
	}
	if s.Flaky {
		notes = append(notes, "flaky")
	}
	if s.Error != nil && s.Status != results.StatusSkipped {
		msg := s.Error.Message
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		notes = append(notes, msg)
	}
	if s.Error != nil && s.Status == results.StatusSkipped {
		notes = append(notes, s.Error.Message)
	}
	if len(notes) == 0 {
		return ""
	}
	return "  (" + strings.Join(notes, "; ") + ")"
}

// leftBehind says what may be left when drill exits at once on a third
// signal: what the ledgers of the runs under way record and never released.
func (p *progress) leftBehind() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var lines []string
	for name, r := range p.runs {
		entries, err := results.ReadLedger(p.store.Ledger(name, r.RunID).Path())
		if err != nil {
			lines = append(lines, fmt.Sprintf("  %s/%s: ledger unreadable: %v", name, r.RunID, err))
		}
		for _, e := range entries {
			lines = append(lines, fmt.Sprintf("  %s/%s: %s", name, r.RunID, janitor.Describe(e)))
		}
	}
	if len(lines) == 0 {
		return "nothing is recorded as left"
	}
	return "may be left behind:\n" + strings.Join(lines, "\n")
}
func (p *progress) close() {
	p.once.Do(func() {
		close(p.stopped)
		p.mu.Lock()
		p.clearLine()
		p.mu.Unlock()
	})
}

// printSummary is the table at the end of drill run, on stdout.
func printSummary(w io.Writer, runs []*results.Run, dir string) {
	if len(runs) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tRUN\tSTATUS\tCYCLES\tDURATION\tBUDGET\tGUIDELINE")
	for _, r := range runs {
		passed := 0
		for _, c := range r.Cycles {
			if c.Status == results.StatusPassed {
				passed++
			}
		}
		g := "-"
		if r.Guideline != nil {
			g = holdsWord(r.Guideline.Holds)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d passed\t%s\t%s\t%s\n", r.Scenario.Name, r.RunID, r.Status, passed, len(r.Cycles), ms(r.DurationMs), ms(r.BudgetMs), g)
	}
	tw.Flush()
	for _, r := range runs {
		if r.Error != nil {
			fmt.Fprintf(w, "%s: %s: %s\n", r.Scenario.Name, r.Error.Reason, r.Error.Message)
		}
		for _, warning := range r.Warnings {
			fmt.Fprintf(w, "%s: warning: %s\n", r.Scenario.Name, warning)
		}
		for _, c := range r.Guideline.Failing() {
			fmt.Fprintf(w, "%s: guideline check %s fails: %s\n", r.Scenario.Name, c.Name, c.Detail)
		}
		fmt.Fprintf(w, "%s: result %s/%s/%s.json\n", r.Scenario.Name, dir, r.Scenario.Name, r.RunID)
	}
}
