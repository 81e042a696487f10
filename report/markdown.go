package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/redeploy-drill/drill/results"
)

// verdictEmoji marks a verdict where colour is not available.
func verdictEmoji(v results.Verdict) string {
	switch v {
	case results.VerdictHolds:
		return "✅"
	case results.VerdictBroken:
		return "❌"
	case results.VerdictStale:
		return "⏰"
	case results.VerdictAborted:
		return "💀"
	}
	return "⚪"
}

// mdEscaper makes untrusted text (scenario names, error messages) inert in
// GitHub-flavoured Markdown, which also renders inline HTML: it cannot open
// a tag, a link, an emphasis, a code span or a new table cell.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", "&lt;", ">", "&gt;", "&", "&amp;", "|", `\|`, "#", `\#`, "~", `\~`,
	"\r", " ", "\n", " ",
)

func md(s string) string { return mdEscaper.Replace(s) }

// writeMarkdown renders a summary for $GITHUB_STEP_SUMMARY or a chat
// message: a headline, a table of scenarios and what fails.
func writeMarkdown(w io.Writer, h *History, opts Options) error {
	bw := bufio.NewWriter(w)
	holding := 0
	for _, sc := range h.Scenarios {
		if sc.Verdict == results.VerdictHolds {
			holding++
		}
	}
	fmt.Fprintf(bw, "## %s: %d of %d scenarios hold\n\n", md(opts.title()), holding, len(h.Scenarios))
	if len(h.Scenarios) == 0 {
		bw.WriteString("No drill has recorded results yet.\n")
		return bw.Flush()
	}
	bw.WriteString("| | Scenario | Owner | Verdict | Newest | Last success | Pass | Flaky | Median | Trend |\n")
	bw.WriteString("|---|---|---|---|---|---|---:|---:|---:|---|\n")
	for _, sc := range h.Scenarios {
		s := sc.Summary
		newest, last, trend := "–", "never", "–"
		if s.Newest != nil {
			newest = fmt.Sprintf("%s %s (%s)", s.Newest.Status, ago(h.GeneratedAt, s.Newest.StartedAt), ms(s.Newest.DurationMs))
		}
		if s.LastSuccess != nil {
			last = ago(h.GeneratedAt, *s.LastSuccess)
		}
		if s.Slower {
			trend = fmt.Sprintf("slower (median %s)", ms(s.BaselineMs))
		}
		pass, flaky, median := "–", "–", "–"
		if s.Recent > 0 {
			pass, flaky = fmt.Sprintf("%.0f%%", 100*s.PassRate), fmt.Sprintf("%.0f%%", 100*s.FlakyRate)
		}
		if s.MedianMs > 0 {
			median = ms(s.MedianMs)
		}
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			verdictEmoji(sc.Verdict), md(sc.Name), md(orDash(sc.Owner)), sc.Verdict, newest, last, pass, flaky, median, trend)
	}

	var problems []string
	for _, sc := range h.Scenarios {
		s := sc.Summary
		if sc.Verdict == results.VerdictStale {
			problems = append(problems, fmt.Sprintf("**%s**: no drill passed with the guideline holding within %s", md(sc.Name), ms(s.FreshnessMs)))
		}
		if len(s.Aborted) > 0 {
			problems = append(problems, fmt.Sprintf("**%s**: the drill of run %s died before the run finished: run `drill gc`", md(sc.Name), md(strings.Join(s.Aborted, ", "))))
		}
		if s.Newest == nil {
			continue
		}
		for _, c := range s.Newest.Failing {
			detail := ""
			if c.Detail != "" {
				detail = ": " + md(firstLine(c.Detail, 200))
			}
			problems = append(problems, fmt.Sprintf("**%s**: check %s fails%s", md(sc.Name), md(c.Name), detail))
		}
		if e := s.Newest.Error; e != nil {
			problems = append(problems, fmt.Sprintf("**%s**: %s: %s", md(sc.Name), md(string(e.Reason)), md(firstLine(e.Message, 300))))
		}
		if s.Slower {
			problems = append(problems, fmt.Sprintf("**%s**: the newest drill took %s, more than 1.5 × the median %s", md(sc.Name), ms(s.Newest.DurationMs), ms(s.BaselineMs)))
		}
	}
	if len(problems) > 0 {
		bw.WriteString("\n### Needs attention\n\n")
		for _, p := range problems {
			bw.WriteString("- " + p + "\n")
		}
	}
	return bw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
