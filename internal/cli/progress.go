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
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/internal/textsafe"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/runner"
)

// progress shows each step as it runs. In a terminal one status line is
// redrawn with the running step's elapsed time, then replaced by the step's
// final line; elsewhere (CI=true, NO_COLOR, a file or pipe) it prints plain
// lines, no colour, no animation, so logs of nightly jobs stay readable;
// with --log-format json every line is a JSON object with the step's
// fields. A step that did not pass shows the end of its output and the path
// of its log right there, so the operator and the CI log have the failure in
// front of them.
type progress struct {
	mu      sync.Mutex
	ui      *ui
	live    bool
	prefix  bool // several scenarios at once: prefix lines with the scenario
	running map[string]runningStep
	stopped chan struct{}
	once    sync.Once
	// runs remembers the runs under way, to read their ledgers if drill
	// must exit at once.
	runs  map[string]*results.Run
	store *resultstore.Store
}

type runningStep struct {
	scenario, label string
	since           time.Time
}

// tailShown is how many lines of a failed step's output the progress shows.
const tailShown = 10

func newProgress(u *ui, terminal bool, prefix bool, store *resultstore.Store) *progress {
	p := &progress{ui: u, prefix: prefix, running: map[string]runningStep{}, stopped: make(chan struct{}), runs: map[string]*results.Run{}, store: store}
	p.live = terminal && !u.json && os.Getenv("CI") != "true" && os.Getenv("NO_COLOR") == ""
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
	p.ui.raw(fmt.Sprintf("\r\033[K  \033[36m⟳\033[0m %s", strings.Join(parts, " · ")))
}

func (p *progress) clearLine() {
	if p.live {
		p.ui.raw("\r\033[K")
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
	run := []field{f("scenario", name), f("run", e.Run.RunID)}
	p.clearLine()
	switch e.Kind {
	case runner.RunStarted:
		budget := ""
		if e.Run.BudgetMs > 0 {
			budget = ", budget " + ms(e.Run.BudgetMs)
		}
		p.runs[name] = e.Run
		p.ui.emit("info", fmt.Sprintf("%sdrill %s: run %s of %s%s", pre, name, e.Run.RunID, e.Run.Scenario.File, budget),
			"run started", append(run, f("file", e.Run.Scenario.File), f("budgetMs", e.Run.BudgetMs))...)
	case runner.CycleStarted:
		p.ui.emit("info", fmt.Sprintf("%scycle %d", pre, e.Cycle.Index), "cycle started", append(run, f("cycle", e.Cycle.Index))...)
	case runner.StepStarted:
		label := fmt.Sprintf("%s%-9s %s", pre, e.Step.Phase, e.Step.Name)
		p.running[name] = runningStep{scenario: name, label: label, since: time.Now()}
		if !p.live {
			p.ui.emit("info", fmt.Sprintf("%s  %-9s %-20s started", pre, e.Step.Phase, e.Step.Name), "step started",
				append(run, f("cycle", e.Cycle.Index), f("step", e.Step.Name), f("phase", e.Step.Phase))...)
		}
	case runner.StepFinished:
		delete(p.running, name)
		p.stepFinished(pre, run, e)
	case runner.CycleFinished:
		p.ui.emit(levelOf(e.Cycle.Status), fmt.Sprintf("%scycle %d %s in %s", pre, e.Cycle.Index, e.Cycle.Status, ms(e.Cycle.DurationMs)), "cycle finished",
			append(run, f("cycle", e.Cycle.Index), f("status", e.Cycle.Status), f("durationMs", e.Cycle.DurationMs))...)
	case runner.RunFinished:
		p.ui.emit(levelOf(e.Run.Status), fmt.Sprintf("%sdrill %s %s in %s", pre, name, e.Run.Status, ms(e.Run.DurationMs)), "run finished",
			append(run, f("status", e.Run.Status), f("durationMs", e.Run.DurationMs))...)
	case runner.Notice:
		fields := run
		if e.Cycle != nil {
			fields = append(fields, f("cycle", e.Cycle.Index))
		}
		p.ui.emit("warn", pre+e.Message, e.Message, fields...)
	}
	p.redraw()
}

// stepFinished prints a step's final line and, when it did not pass, the
// end of its output and where its log is.
func (p *progress) stepFinished(pre string, run []field, e runner.Event) {
	s := e.Step
	fields := append(run, f("cycle", e.Cycle.Index), f("step", s.Name), f("phase", s.Phase), f("status", s.Status), f("durationMs", s.DurationMs))
	if s.Attempts > 1 {
		fields = append(fields, f("attempts", s.Attempts))
	}
	failed := s.Error != nil && s.Status != results.StatusSkipped && s.Status != results.StatusPassed
	var log string
	if failed {
		fields = append(fields, f("reason", s.Error.Reason), f("error", textsafe.Escape(s.Error.Message)))
		if s.Log != "" {
			if path, err := p.store.Resolve(s.Log); err == nil {
				log = path
				fields = append(fields, f("log", log))
			}
		}
		if tail := lastLines(s.Error.OutputTail, tailShown); tail != "" {
			fields = append(fields, f("outputTail", textsafe.Escape(tail)))
		}
	}
	var text strings.Builder
	fmt.Fprintf(&text, "%s  %s %-9s %-20s %8s%s\n", pre, p.mark(s.Status), s.Phase, s.Name, ms(s.DurationMs), stepNote(s))
	if failed {
		if tail := lastLines(s.Error.OutputTail, tailShown); tail != "" {
			fmt.Fprintf(&text, "%s      ┌ last lines of its output:\n", pre)
			for _, line := range strings.Split(tail, "\n") {
				fmt.Fprintf(&text, "%s      │ %s\n", pre, textsafe.Escape(line))
			}
			fmt.Fprintf(&text, "%s      └\n", pre)
		}
		if log != "" {
			fmt.Fprintf(&text, "%s      log: %s\n", pre, log)
		}
	}
	p.ui.emit(levelOf(s.Status), text.String(), "step finished", fields...)
}

// lastLines returns the last n lines of s, without a trailing empty line.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

func levelOf(s results.Status) string {
	switch s {
	case results.StatusFailed, results.StatusTimedOut:
		return "error"
	case results.StatusCanceled:
		return "warn"
	}
	return "info"
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
		notes = append(notes, textsafe.Escape(msg))
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
		entries, err := resultstore.ReadLedger(p.store.Ledger(name, r.RunID).Path())
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
