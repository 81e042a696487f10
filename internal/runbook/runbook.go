// Package runbook turns a scenario into the document people read: every
// step of a cycle in order, who owns it, what it runs, its timeout and
// retries, what the manual ones ask of a person, and how long each step
// took in the drills measured so far. drill plan prints it as text,
// markdown or a self-contained HTML page; the scenario is the runbook, so
// the runbook cannot drift from what the drill checks.
package runbook

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redeploy-drill/drill/internal/gitsource"
	"github.com/redeploy-drill/drill/internal/plan"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/scenarios"
)

// Runbook is one scenario's runbook.
type Runbook struct {
	Name, File, Description, Owner string
	Cycles                         int
	// Budget is spec.budget (0: none); Freshness spec.freshness.
	Budget, Freshness time.Duration
	// Source says where each cycle's workdir comes from.
	Source string
	// Env names the variables steps get besides PATH HOME TMPDIR LANG DRILL_*.
	PassEnv, Env, Secrets []string
	// Steps are the steps of one cycle, in order; the idempotency check
	// between deploy and verify has N 0.
	Steps []Step
	// Measured is the number of finished runs the step durations come from
	// (0: no results yet).
	Measured int
	// Scenario is what the runbook was made from (the text form reads
	// the compose services from it).
	Scenario *scenarios.Scenario
}

// Step is one row of the runbook.
type Step struct {
	// N numbers the steps from 1; 0 is the idempotency check.
	N                  int
	Name, Phase, Owner string
	Timeout            time.Duration
	Retries            int
	// Action is one line: what the step runs.
	Action string
	// Script is the whole script of a run step.
	Script string
	// Manual is what a manual step asks of a person ("" when automated).
	Manual string
	// Always: a teardown step, run even after a failure or an interrupt.
	Always bool
	// MedianMs and P95Ms are its measured durations, over Count passed
	// executions (0: never measured).
	MedianMs, P95Ms int64
	Count           int
}

// Phases in the order a cycle runs them.
var Phases = []string{results.PhaseProvision, results.PhaseDeploy, "idempotency", results.PhaseVerify, results.PhaseTeardown}

// Build makes the runbook of s for cycles cycles (0: spec.cycles); hist,
// when not nil, gives the measured durations.
func Build(s *scenarios.Scenario, cycles int, hist *results.Summary) *Runbook {
	sp := s.Spec
	if cycles <= 0 {
		cycles = sp.Cycles
	}
	rb := &Runbook{
		Name: s.Metadata.Name, File: s.File, Description: s.Metadata.Description, Owner: s.Metadata.Owner,
		Cycles: cycles, Budget: sp.Budget.D(), Freshness: sp.Freshness.D(), Source: source(sp),
		PassEnv: sp.PassEnv, Env: sortedKeys(sp.Env), Scenario: s,
	}
	for _, sec := range sp.Secrets {
		rb.Secrets = append(rb.Secrets, sec.Name)
	}
	owner := s.Metadata.Owner
	timeout := sp.Defaults.Timeout.D()
	ns := targetNamespace(sp.Target)
	n := 0
	add := func(st Step) {
		n++
		st.N = n
		rb.Steps = append(rb.Steps, st)
	}
	fromSpec := func(st scenarios.Step, phase string) Step {
		out := Step{Name: st.Name, Phase: phase, Owner: st.Owner, Timeout: st.Timeout.D(), Action: plan.DescribeIn(st, ns), Manual: st.Manual}
		if st.Retries != nil {
			out.Retries = *st.Retries
		}
		if st.Run != nil {
			out.Script = strings.TrimSpace(*st.Run)
		}
		return out
	}
	add(Step{Name: "workdir", Phase: results.PhaseProvision, Owner: owner, Timeout: timeout, Action: "new empty folder + copy of source"})
	add(Step{Name: "provision", Phase: results.PhaseProvision, Owner: owner, Timeout: timeout, Action: DescribeTarget(sp.Target)})
	verify := false
	for _, st := range sp.Steps {
		verify = verify || st.Phase == scenarios.PhaseVerify
		if !verify {
			add(fromSpec(st, st.Phase))
		}
	}
	rb.Steps = append(rb.Steps, Step{Name: "(idempotency check)", Phase: "idempotency", Owner: owner, Action: idempotency(sp)})
	verify = false
	for _, st := range sp.Steps {
		verify = verify || st.Phase == scenarios.PhaseVerify
		if verify {
			add(fromSpec(st, st.Phase))
		}
	}
	for _, st := range sp.Teardown {
		row := fromSpec(st, results.PhaseTeardown)
		row.Always = true
		add(row)
	}
	for _, cl := range plan.Cleanups(s, ns) {
		add(Step{Name: cl.Name, Phase: results.PhaseTeardown, Owner: owner, Timeout: timeout, Action: cl.Action, Always: true})
	}
	add(Step{Name: "destroy", Phase: results.PhaseTeardown, Owner: owner, Timeout: timeout, Action: "destroy the target, then check nothing is left", Always: true})

	if hist != nil && hist.Recent > 0 {
		rb.Measured = hist.Recent
		stats := map[string]results.StepStat{}
		for _, st := range hist.Steps {
			stats[st.Name] = st
		}
		for i := range rb.Steps {
			if st, ok := stats[rb.Steps[i].Name]; ok {
				rb.Steps[i].MedianMs, rb.Steps[i].P95Ms, rb.Steps[i].Count = st.MedianMs, st.P95Ms, st.Count
			}
		}
	}
	return rb
}

// Owners groups the numbered steps by owner ("who does what"), owners in
// the order they first appear.
func (rb *Runbook) Owners() []OwnerSteps {
	var out []OwnerSteps
	idx := map[string]int{}
	for _, st := range rb.Steps {
		if st.N == 0 {
			continue
		}
		owner := st.Owner
		if owner == "" {
			owner = "(no owner)"
		}
		i, ok := idx[owner]
		if !ok {
			i = len(out)
			idx[owner] = i
			out = append(out, OwnerSteps{Owner: owner})
		}
		out[i].Steps = append(out[i].Steps, st)
	}
	return out
}

// OwnerSteps are the steps one owner is accountable for.
type OwnerSteps struct {
	Owner string
	Steps []Step
}

// Manual are the steps that still need a person.
func (rb *Runbook) Manual() []Step {
	var out []Step
	for _, st := range rb.Steps {
		if st.Manual != "" {
			out = append(out, st)
		}
	}
	return out
}

// InPhase are the steps of one of Phases.
func (rb *Runbook) InPhase(phase string) []Step {
	var out []Step
	for _, st := range rb.Steps {
		if st.Phase == phase {
			out = append(out, st)
		}
	}
	return out
}

func source(sp scenarios.Spec) string {
	if g := sp.Source.Git; g != nil {
		ref := g.Ref
		if ref == "" {
			ref = "its default branch"
		}
		in := ""
		if g.Path != "" {
			in = ", steps in " + g.Path
		}
		return fmt.Sprintf("git %s at %s (cloned fresh into a new workdir each cycle, every cycle the commit the first checked out%s)", gitsource.Display(g.URL), ref, in)
	}
	return fmt.Sprintf("%s (copied fresh into a new workdir each cycle)", sp.Source.Dir)
}

// DescribeTarget is one line on how a cycle's target is built.
func DescribeTarget(t scenarios.Target) string {
	switch {
	case t.Terraform != nil:
		return fmt.Sprintf("terraform init + apply in %s (vars: %s)", t.Terraform.Dir, strings.Join(sortedKeys(t.Terraform.Vars), ", "))
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

// targetNamespace is the namespace the target gives Kubernetes steps that
// name none ("": Kubernetes' default); for the cluster target, the
// namespace the scenario names (else each cycle gets its own).
func targetNamespace(t scenarios.Target) string {
	if t.Cluster != nil && t.Cluster.Namespace != "" {
		return t.Cluster.Namespace
	}
	return ""
}

// idempotency says what the idempotency check compares.
func idempotency(sp scenarios.Spec) string {
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

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
