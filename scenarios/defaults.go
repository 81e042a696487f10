package scenarios

import (
	"path/filepath"
)

// Phases a step can be in. They are the same strings as results.Phase*, kept
// here so that this package needs nothing but YAML.
const (
	PhaseDeploy   = "deploy"
	PhaseVerify   = "verify"
	PhaseTeardown = "teardown"
)

// ManualGeneric is the instruction a step gets from `manual: true`.
const ManualGeneric = "Perform this step by hand as the runbook describes, then confirm."

// Defaults that types.go does not list.
const (
	DefaultHTTPMethod   = "GET"
	DefaultHTTPStatus   = 200
	DefaultWaitFor      = "ready"
	DefaultTerraformDir = "."
	// DefaultComposeFile is compose's own canonical file name.
	DefaultComposeFile = "compose.yaml"
)

// ApplyDefaults fills in every field left out (docs/contract.md section 2), so
// that the planner and runner never deal with "unset". Load and Parse call
// it; call it yourself on a Scenario built in Go. It is idempotent.
//
// Besides the documented defaults it resolves spec.source to an absolute
// path (relative to the folder of File; File's folder when unset), resolves
// a relative secrets[].fromFile the same way, gives every step the
// scenario's owner unless it names its own, and points terraform.dir at the
// workdir itself when unset.
func (s *Scenario) ApplyDefaults() {
	sp := &s.Spec
	if sp.Cycles == 0 {
		sp.Cycles = DefaultCycles
	}
	if sp.Freshness == 0 {
		sp.Freshness = Duration(DefaultFreshness)
	}
	if sp.Source.Git == nil {
		sp.Source.Dir = resolveSource(sp.Source.Dir, s.File)
	}
	for i := range sp.Secrets {
		if f := sp.Secrets[i].FromFile; f != "" && !filepath.IsAbs(f) {
			sp.Secrets[i].FromFile = resolveSource(f, s.File)
		}
	}
	if sp.Defaults.Timeout == 0 {
		sp.Defaults.Timeout = Duration(DefaultTimeout)
	}
	if sp.Defaults.RetryDelay == 0 {
		sp.Defaults.RetryDelay = Duration(DefaultRetryDelay)
	}
	if t := sp.Target.Terraform; t != nil {
		if t.Dir == "" {
			t.Dir = DefaultTerraformDir
		}
		if t.Idempotent == nil {
			yes := true
			t.Idempotent = &yes
		}
	}
	if k := sp.Target.Kind; k != nil && k.WaitReady == 0 {
		k.WaitReady = Duration(DefaultWaitReady)
	}
	if c := sp.Target.Compose; c != nil {
		if len(c.Files) == 0 {
			c.Files = []string{DefaultComposeFile}
		}
		if c.Build == nil {
			yes := true
			c.Build = &yes
		}
		if c.Wait == 0 {
			c.Wait = Duration(DefaultComposeWait)
		}
	}
	if c := sp.Target.Cluster; c != nil && c.DeleteTimeout == 0 {
		c.DeleteTimeout = Duration(DefaultDeleteTimeout)
	}
	for i := range sp.Steps {
		s.stepDefaults(&sp.Steps[i], PhaseDeploy)
	}
	for i := range sp.Teardown {
		s.stepDefaults(&sp.Teardown[i], PhaseTeardown)
	}
}

func (s *Scenario) stepDefaults(st *Step, phase string) {
	d := s.Spec.Defaults
	if phase == PhaseTeardown || st.Phase == "" {
		st.Phase = phase
	}
	if st.Timeout == 0 {
		st.Timeout = d.Timeout
	}
	if st.Retries == nil {
		r := d.Retries
		st.Retries = &r
	}
	if st.RetryDelay == 0 {
		st.RetryDelay = d.RetryDelay
	}
	if st.Owner == "" {
		st.Owner = s.Metadata.Owner
	}
	if h := st.HTTP; h != nil {
		if h.Method == "" {
			h.Method = DefaultHTTPMethod
		}
		if h.Status == 0 {
			h.Status = DefaultHTTPStatus
		}
		if h.Within == 0 {
			h.Within = Duration(DefaultWithin)
		}
		if h.Interval == 0 {
			h.Interval = Duration(DefaultInterval)
		}
	}
	if w := st.Wait; w != nil && w.For == "" {
		w.For = DefaultWaitFor
	}
	if h := st.Helm; h != nil && h.Release == "" {
		h.Release = st.Name
	}
}

// resolveSource makes p absolute: relative paths are relative to the folder
// of the scenario file, because a scenario must mean the same thing
// whichever folder drill is started from.
func resolveSource(p, file string) string {
	base := filepath.Dir(file)
	switch {
	case p == "":
		p = base
	case !filepath.IsAbs(p):
		p = filepath.Join(base, p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return filepath.Clean(p)
}
