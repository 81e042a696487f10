package scenarios

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestApplyDefaults(t *testing.T) {
	s := &Scenario{
		File:     "/srv/drills/web.yaml",
		Metadata: Metadata{Name: "web", Owner: "platform"},
		Spec: Spec{
			Source:   Source{Dir: "../stack"},
			Secrets:  []Secret{{Name: "T", FromFile: "token"}, {Name: "U", FromFile: "/abs/token"}},
			Defaults: StepDefaults{Retries: 2},
			Target:   Target{Terraform: &TerraformTarget{}},
			Steps: []Step{
				{Name: "probe", HTTP: &HTTPAction{URL: "http://x/"}},
				{Name: "own", Owner: "web", Phase: PhaseVerify, Retries: ptr(0), Timeout: dur(time.Second), Wait: &WaitAction{}},
			},
			Teardown: []Step{{Name: "stop", Run: ptr("stop")}},
		},
	}
	s.ApplyDefaults()

	sp := s.Spec
	assert.Equal(t, DefaultCycles, sp.Cycles)
	assert.Equal(t, dur(DefaultFreshness), sp.Freshness)
	assert.Equal(t, filepath.FromSlash("/srv/stack"), sp.Source.Dir)
	assert.Equal(t, []Secret{{Name: "T", FromFile: "/srv/drills/token"}, {Name: "U", FromFile: "/abs/token"}}, sp.Secrets)
	assert.Equal(t, StepDefaults{Timeout: dur(DefaultTimeout), Retries: 2, RetryDelay: dur(DefaultRetryDelay)}, sp.Defaults)
	assert.Equal(t, &TerraformTarget{Dir: ".", Idempotent: ptr(true)}, sp.Target.Terraform)

	probe := sp.Steps[0]
	assert.Equal(t, PhaseDeploy, probe.Phase)
	assert.Equal(t, dur(DefaultTimeout), probe.Timeout)
	assert.Equal(t, ptr(2), probe.Retries, "unset retries come from spec.defaults")
	assert.Equal(t, dur(DefaultRetryDelay), probe.RetryDelay)
	assert.Equal(t, "platform", probe.Owner)
	assert.Equal(t, &HTTPAction{URL: "http://x/", Method: "GET", Status: 200, Within: dur(30 * time.Second), Interval: dur(time.Second)}, probe.HTTP)

	own := sp.Steps[1]
	assert.Equal(t, PhaseVerify, own.Phase)
	assert.Equal(t, ptr(0), own.Retries, "an explicit 0 stays 0")
	assert.Equal(t, dur(time.Second), own.Timeout)
	assert.Equal(t, "web", own.Owner)
	assert.Equal(t, "ready", own.Wait.For)

	assert.Equal(t, PhaseTeardown, sp.Teardown[0].Phase)

	kind := &Scenario{Spec: Spec{Target: Target{Kind: &KindTarget{}}}}
	kind.ApplyDefaults()
	assert.Equal(t, dur(3*time.Minute), kind.Spec.Target.Kind.WaitReady)

	compose := &Scenario{Spec: Spec{Target: Target{Compose: &ComposeTarget{}}}}
	compose.ApplyDefaults()
	yes := true
	assert.Equal(t, &ComposeTarget{Files: []string{"compose.yaml"}, Build: &yes, Wait: dur(2 * time.Minute)}, compose.Spec.Target.Compose)
	no := false
	kept := &Scenario{Spec: Spec{Target: Target{Compose: &ComposeTarget{Files: []string{"a.yaml"}, Build: &no, Wait: dur(time.Second)}}}}
	kept.ApplyDefaults()
	assert.Equal(t, &ComposeTarget{Files: []string{"a.yaml"}, Build: &no, Wait: dur(time.Second)}, kept.Spec.Target.Compose)
}

func TestApplyDefaultsIsIdempotent(t *testing.T) {
	s, err := Load("testdata/valid-kind.yaml")
	require.NoError(t, err)
	again := *s
	again.Spec.Steps = append([]Step(nil), s.Spec.Steps...)
	again.ApplyDefaults()
	assert.Equal(t, s.Spec.Source, again.Spec.Source)
	assert.Equal(t, s.Spec.Steps, again.Spec.Steps)
}
