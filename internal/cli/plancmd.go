package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/redeploy-drill/drill/internal/gitsource"
	"github.com/redeploy-drill/drill/internal/plan"
	"github.com/redeploy-drill/drill/scenarios"
)

func newPlanCommand(a *app) *cobra.Command {
	var (
		cycles int
		shards shardFlags
	)
	cmd := &cobra.Command{
		Use:   "plan PATH",
		Short: "Print what a run would do, in order, with timeouts and budget; nothing is run or created",
		Args:  usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			list, err := loadAll(a, args)
			if err != nil {
				return err
			}
			all := len(list)
			list, sh, err := selectShard(&shards, list)
			if err != nil {
				return err
			}
			if !sh.IsZero() {
				names := make([]string, len(list))
				for i, s := range list {
					names[i] = s.Metadata.Name
				}
				fmt.Fprintf(a.streams.Out, "shard %s: %d of the %d scenarios found: %s\n\n", sh, len(list), all, orDash(strings.Join(names, ", ")))
			}
			for i, s := range list {
				if i > 0 {
					fmt.Fprintln(a.streams.Out)
				}
				printPlan(a.streams.Out, s, cycles)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&cycles, "cycles", 0, "show the plan for this many cycles instead of spec.cycles")
	shards.add(cmd)
	return cmd
}

func printPlan(w io.Writer, s *scenarios.Scenario, cycles int) {
	if cycles <= 0 {
		cycles = s.Spec.Cycles
	}
	sp := s.Spec
	fmt.Fprintf(w, "scenario %s (%s)\n", s.Metadata.Name, s.File)
	if s.Metadata.Description != "" {
		fmt.Fprintf(w, "  %s\n", s.Metadata.Description)
	}
	budget := "none"
	if sp.Budget > 0 {
		budget = sp.Budget.D().String()
	}
	fmt.Fprintf(w, "  owner %s · %d cycles · budget %s · freshness %s\n", orDash(s.Metadata.Owner), cycles, budget, sp.Freshness.D())
	if g := sp.Source.Git; g != nil {
		ref := g.Ref
		if ref == "" {
			ref = "its default branch"
		}
		in := ""
		if g.Path != "" {
			in = ", steps in " + g.Path
		}
		fmt.Fprintf(w, "  source git %s at %s (cloned fresh into a new workdir each cycle, every cycle the commit the first checked out%s)\n", gitsource.Display(g.URL), ref, in)
	} else {
		fmt.Fprintf(w, "  source %s (copied fresh into a new workdir each cycle)\n", sp.Source.Dir)
	}
	fmt.Fprintf(w, "  environment: PATH HOME TMPDIR LANG DRILL_*%s%s%s\n", list(" passEnv ", sp.PassEnv), list(" env ", keys(sp.Env)), list(" secrets ", secretNames(sp.Secrets)))
	if sp.Target.Compose != nil && sp.Source.Git == nil {
		printComposeServices(w, s)
	}
	fmt.Fprintf(w, "each cycle:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  #\tSTEP\tPHASE\tTIMEOUT\tRETRIES\tACTION\n")
	n := 0
	row := func(name, phase string, timeout time.Duration, retries int, action string) {
		n++
		r := "-"
		if retries > 0 {
			r = fmt.Sprint(retries)
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", n, name, phase, timeout, r, action)
	}
	timeout := sp.Defaults.Timeout.D()
	ns := targetNamespace(sp.Target)
	row("workdir", "provision", timeout, 0, "new empty folder + copy of source")
	row("provision", "provision", timeout, 0, describeTarget(sp.Target))
	for _, st := range sp.Steps {
		if st.Phase == "verify" {
			break
		}
		row(st.Name, st.Phase, st.Timeout.D(), retries(st), plan.DescribeIn(st, ns)+manualNote(st))
	}
	fmt.Fprintf(tw, "  ·\t(idempotency check)\t\t\t\t%s\n", idemNote(sp))
	verify := false
	for _, st := range sp.Steps {
		verify = verify || st.Phase == "verify"
		if verify {
			row(st.Name, st.Phase, st.Timeout.D(), retries(st), plan.DescribeIn(st, ns)+manualNote(st))
		}
	}
	for _, st := range sp.Teardown {
		row(st.Name, "teardown", st.Timeout.D(), retries(st), plan.DescribeIn(st, ns)+" (always runs)")
	}
	for _, cl := range plan.Cleanups(s, ns) {
		row(cl.Name, "teardown", timeout, 0, cl.Action+" (always runs)")
	}
	row("destroy", "teardown", timeout, 0, "destroy the target, then check nothing is left (always runs)")
	tw.Flush()
}

func describeTarget(t scenarios.Target) string {
	switch {
	case t.Terraform != nil:
		return fmt.Sprintf("terraform init + apply in %s (vars: %s)", t.Terraform.Dir, strings.Join(keys(t.Terraform.Vars), ", "))
	case t.Compose != nil:
		c := t.Compose
		project := c.Project
		if project == "" {
			project = "drill-<scenario>-<run>-c<N>"
		}
		build := ""
		if c.Build == nil || *c.Build {
			build = " --build"
		}
		return fmt.Sprintf("docker compose -p %s -f %s up -d --wait --wait-timeout %s%s", project, strings.Join(c.Files, " -f "), c.Wait.D(), build)
	case t.Kind != nil:
		img := t.Kind.NodeImage
		if img == "" {
			img = "$DRILL_KIND_NODE_IMAGE or kind's default"
		}
		load := ""
		if len(t.Kind.LoadImages) > 0 {
			load = ", load " + strings.Join(t.Kind.LoadImages, ", ")
		}
		return fmt.Sprintf("kind cluster drill-<scenario>-<run>, node image %s, wait ready %s%s", img, t.Kind.WaitReady.D(), load)
	case t.Cluster != nil:
		c := t.Cluster
		kc := c.Kubeconfig
		if kc == "" {
			kc = "$KUBECONFIG or ~/.kube/config"
		}
		kctx := c.Context
		if kctx == "" {
			kctx = "its current context"
		}
		ns := c.Namespace
		if ns == "" {
			ns = "drill-<scenario>-<run>-c<N>"
		}
		return fmt.Sprintf("existing cluster (kubeconfig %s, context %s): create namespace %s, labelled with the run; destroy deletes it and waits up to %s until it is gone",
			kc, kctx, ns, c.DeleteTimeout.D())
	}
	return "none"
}

// printComposeServices lists the services of a compose target as its first
// cycle will see them: image or build, and each published port with the
// output that will hold its host port.
func printComposeServices(w io.Writer, s *scenarios.Scenario) {
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

// targetNamespace is the namespace the target gives Kubernetes steps that
// name none ("": Kubernetes' default); for the cluster target, the
// namespace the scenario names (else each cycle gets its own).
func targetNamespace(t scenarios.Target) string {
	if t.Cluster != nil && t.Cluster.Namespace != "" {
		return t.Cluster.Namespace
	}
	return ""
}

func idemNote(sp scenarios.Spec) string {
	t := sp.Target
	if t.Terraform != nil && t.Terraform.Idempotent != nil && !*t.Terraform.Idempotent {
		return "off (idempotent: false)"
	}
	if t.Compose != nil {
		return "not supported by target compose"
	}
	if t.Terraform == nil && t.Kind == nil && t.Cluster == nil {
		return "not supported by target none"
	}
	var checks, off []string
	if t.Terraform != nil {
		checks = append(checks, "terraform plan must be empty")
	}
	var apply, helm bool
	for _, st := range sp.Steps {
		if st.Phase != scenarios.PhaseDeploy || (st.Apply == nil && st.Helm == nil) {
			continue
		}
		if st.Idempotent != nil && !*st.Idempotent {
			off = append(off, st.Name)
			continue
		}
		apply = apply || st.Apply != nil
		helm = helm || st.Helm != nil
	}
	if apply {
		checks = append(checks, "dry-run re-apply of every apply step must change nothing")
	}
	if helm {
		checks = append(checks, "dry-run upgrade of every helm step must render the same manifest and values")
	}
	note := strings.Join(checks, "; ")
	if len(off) > 0 {
		if note != "" {
			note += "; "
		}
		note += "off for " + strings.Join(off, ", ") + " (idempotent: false)"
	}
	if note == "" {
		return "dry-run re-apply of every apply step must change nothing"
	}
	return note
}

func manualNote(st scenarios.Step) string {
	if st.Manual != "" {
		return " [manual: needs an operator]"
	}
	return ""
}

func retries(st scenarios.Step) int {
	if st.Retries == nil {
		return 0
	}
	return *st.Retries
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func secretNames(s []scenarios.Secret) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.Name)
	}
	return out
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
