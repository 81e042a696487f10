package runbook

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/redeploy-drill/drill/report"
)

// phaseTitles head the runbook's sections.
var phaseTitles = map[string]string{
	"provision":   "Provision",
	"deploy":      "Deploy",
	"idempotency": "Idempotency check",
	"verify":      "Verify",
	"teardown":    "Teardown (always runs, even after a failure or an interrupt)",
}

// Markdown writes the runbooks as one markdown document (CommonMark with
// GitHub's tables), a section per scenario.
func Markdown(w io.Writer, rbs []*Runbook) error {
	b := bufio.NewWriter(w)
	for i, rb := range rbs {
		if i > 0 {
			fmt.Fprint(b, "\n---\n\n")
		}
		markdown(b, rb)
	}
	return b.Flush()
}

func markdown(b *bufio.Writer, rb *Runbook) {
	fmt.Fprintf(b, "# Runbook: %s\n\n", inline(rb.Name))
	if rb.Description != "" {
		// One paragraph: a line of the description must not become a
		// heading, a table or a list.
		fmt.Fprintf(b, "%s\n\n", inline(rb.Description))
	}
	fmt.Fprint(b, "| | |\n|---|---|\n")
	row := func(k, v string) { fmt.Fprintf(b, "| %s | %s |\n", k, cell(v)) }
	row("Owner", orDash(rb.Owner))
	row("Scenario file", rb.File)
	row("Cycles", fmt.Sprintf("%d, each from nothing: provision, deploy, verify, tear down", rb.Cycles))
	row("Budget", budgetText(rb))
	row("Freshness", fmt.Sprintf("%s: a drill must pass with the guideline holding at least this often", rb.Freshness))
	row("Source", rb.Source)
	row("Environment", environment(rb))
	row("Measured", measuredText(rb))
	fmt.Fprintln(b)

	fmt.Fprint(b, "## Who does what\n\n| Owner | Steps |\n|---|---|\n")
	for _, o := range rb.Owners() {
		var names []string
		for _, st := range o.Steps {
			names = append(names, fmt.Sprintf("%d. %s", st.N, st.Name))
		}
		fmt.Fprintf(b, "| %s | %s |\n", cell(o.Owner), cell(strings.Join(names, ", ")))
	}
	fmt.Fprintln(b)

	fmt.Fprint(b, "## Manual steps\n\n")
	if manual := rb.Manual(); len(manual) == 0 {
		fmt.Fprint(b, "None: every step is automated.\n\n")
	} else {
		for _, st := range manual {
			fmt.Fprintf(b, "- **%d. %s** (%s): %s\n", st.N, inline(st.Name), inline(orDash(st.Owner)), escapeText(oneParagraph(st.Manual)))
		}
		fmt.Fprintln(b)
	}

	for _, phase := range Phases {
		steps := rb.InPhase(phase)
		if len(steps) == 0 {
			continue
		}
		fmt.Fprintf(b, "## %s\n\n", phaseTitles[phase])
		if phase == "idempotency" {
			fmt.Fprintf(b, "After the deploy steps of every cycle: %s.\n\n", escapeText(steps[0].Action))
			continue
		}
		fmt.Fprint(b, "| # | Step | Owner | Runs | Timeout | Retries | Median | p95 |\n|---|---|---|---|---|---|---|---|\n")
		for _, st := range steps {
			runs := st.Action
			if st.Manual != "" {
				runs += " (manual: needs an operator)"
			}
			fmt.Fprintf(b, "| %d | %s | %s | %s | %s | %d | %s | %s |\n", st.N, cell(st.Name), cell(orDash(st.Owner)), cell(runs),
				st.Timeout, st.Retries, measured(st.MedianMs, st.Count), measured(st.P95Ms, st.Count))
		}
		fmt.Fprintln(b)
		for _, st := range steps {
			if strings.Contains(st.Script, "\n") {
				fmt.Fprintf(b, "**%d. %s** runs:\n\n%s\n\n", st.N, inline(st.Name), fence(st.Script))
			}
		}
	}
}

func budgetText(rb *Runbook) string {
	if rb.Budget > 0 {
		return rb.Budget.String() + " for the whole run (measured, not enforced)"
	}
	return "none"
}

func measuredText(rb *Runbook) string {
	if rb.Measured == 0 {
		return "no drill of it has finished in the results folder yet"
	}
	if rb.Measured == 1 {
		return "each step's duration in the last drill"
	}
	return fmt.Sprintf("median and p95 of each step's passed executions in the last %d drills", rb.Measured)
}

func measured(ms int64, count int) string {
	if count == 0 {
		return "-"
	}
	return report.FormatMs(ms)
}

// cell makes text safe inside a table cell: one line, pipes escaped.
func cell(s string) string {
	return strings.ReplaceAll(escapeText(oneParagraph(s)), "|", `\|`)
}

// inline is text inside emphasis or a heading.
func inline(s string) string { return escapeText(oneParagraph(s)) }

func oneParagraph(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// escapeText keeps characters markdown would read as markup (or HTML)
// literal.
func escapeText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '#', '~':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// fence puts a script in a fenced code block longer than any backtick
// run inside it.
func fence(script string) string {
	n := 3
	for run, i := 0, 0; i < len(script); i++ {
		if script[i] == '`' {
			run++
			if run >= n {
				n = run + 1
			}
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", n)
	return f + "bash\n" + script + "\n" + f
}
