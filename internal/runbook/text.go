package runbook

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/redeploy-drill/drill/internal/plan"
)

// Text is drill plan's default output: the runbook as a terminal reads it.
func Text(w io.Writer, rb *Runbook) {
	fmt.Fprintf(w, "scenario %s (%s)\n", rb.Name, rb.File)
	if rb.Description != "" {
		fmt.Fprintf(w, "  %s\n", rb.Description)
	}
	fmt.Fprintf(w, "  owner %s · %d cycles · budget %s · freshness %s\n", orDash(rb.Owner), rb.Cycles, budget(rb), rb.Freshness)
	fmt.Fprintf(w, "  source %s\n", rb.Source)
	fmt.Fprintf(w, "  environment: %s\n", environment(rb))
	if s := rb.Scenario; s != nil && s.Spec.Target.Compose != nil && s.Spec.Source.Git == nil {
		composeServices(w, rb)
	}
	fmt.Fprintf(w, "each cycle:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  #\tSTEP\tPHASE\tTIMEOUT\tRETRIES\tACTION\n")
	for _, st := range rb.Steps {
		if st.N == 0 {
			fmt.Fprintf(tw, "  ·\t%s\t\t\t\t%s\n", st.Name, st.Action)
			continue
		}
		r := "-"
		if st.Retries > 0 {
			r = fmt.Sprint(st.Retries)
		}
		action := st.Action
		switch {
		case st.Always:
			action += " (always runs)"
		case st.Manual != "":
			action += " [manual: needs an operator]"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", st.N, st.Name, st.Phase, st.Timeout, r, action)
	}
	tw.Flush()
}

// composeServices lists the services of a compose target as its first
// cycle will see them: image or build, and each published port with the
// output that will hold its host port.
func composeServices(w io.Writer, rb *Runbook) {
	s := rb.Scenario
	services, err := plan.ComposeServices(context.Background(), s, nil, nil)
	if err != nil {
		fmt.Fprintf(w, "  compose: %v\n", err)
		return
	}
	fmt.Fprintf(w, "  compose services (%s):\n", strings.Join(s.Spec.Target.Compose.Files, ", "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, svc := range services {
		what := "image " + svc.Image
		if svc.Build != "" {
			what = fmt.Sprintf("build %s (%s) as %s", svc.Build, svc.Dockerfile, svc.Image)
		}
		ports := "-"
		if len(svc.Ports) > 0 {
			var ps []string
			for _, p := range svc.Ports {
				ps = append(ps, p.Spec+" → "+p.Output)
			}
			ports = strings.Join(ps, ", ")
		}
		fmt.Fprintf(tw, "    %s\t%s\tports %s\n", svc.Name, what, ports)
	}
	tw.Flush()
}

func budget(rb *Runbook) string {
	if rb.Budget > 0 {
		return rb.Budget.String()
	}
	return "none"
}

func environment(rb *Runbook) string {
	return "PATH HOME TMPDIR LANG DRILL_*" + list(" passEnv ", rb.PassEnv) + list(" env ", rb.Env) + list(" secrets ", rb.Secrets)
}

func list(label string, items []string) string {
	if len(items) == 0 {
		return ""
	}
	return label + strings.Join(items, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
