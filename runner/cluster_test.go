package runner_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/runner"
)

// applierTarget is a fake target steps apply manifests to (kind, an
// existing cluster), whose from-scratch check says what it covers.
type applierTarget struct {
	*fakeTarget
	scope string
}

func (a applierTarget) Kubeconfig() string   { return a.outputs["KUBECONFIG"] }
func (a applierTarget) ScratchScope() string { return a.scope }

var (
	_ drills.Applier       = applierTarget{}
	_ runner.ScratchScoper = applierTarget{}
)

// Any target steps apply manifests to hands its kubeconfig to the steps as
// KUBECONFIG, without the runner knowing its kind; an output of that name
// from another target (a Terraform output) stays DRILL_OUTPUT_KUBECONFIG.
func TestRunKubeconfigOfAnApplierReachesSteps(t *testing.T) {
	tests := []struct {
		name    string
		applier bool
		want    string
	}{
		{name: "applier", applier: true, want: "/results/run/kubeconfig-c1"},
		{name: "other target", applier: false, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				h.plan.Cycles = 1
				h.target.outputs = map[string]string{"KUBECONFIG": "/results/run/kubeconfig-c1", "NAMESPACE": "drill-demo-c1"}
				var target drills.Target = h.target
				if tt.applier {
					target = applierTarget{fakeTarget: h.target}
				}
				h.plan.Target.New = func(*drills.Env) (drills.Target, error) { return target, nil }
				var seen map[string]string
				h.plan.Steps = []runner.Step{step("deploy", deploy, time.Minute, func(_ context.Context, env *drills.Env) error {
					seen = maps(env.Vars)
					return nil
				})}

				h.run(t.Context())

				assert.Equal(t, tt.want, seen["KUBECONFIG"])
				assert.Equal(t, "/results/run/kubeconfig-c1", seen["DRILL_OUTPUT_KUBECONFIG"])
				assert.Equal(t, "drill-demo-c1", seen["DRILL_OUTPUT_NAMESPACE"])
			})
		})
	}
}

// A target whose from-scratch check covers less than everything says so in
// the check's detail, passing or not.
func TestRunFromScratchSaysItsScope(t *testing.T) {
	const scope = "each cycle's namespace"
	for _, found := range [][]string{nil, {"namespace drill-demo-c1 (not made by drill)"}} {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			h.plan.Cycles = 1
			h.target.preexisting = found
			target := applierTarget{fakeTarget: h.target, scope: scope}
			h.plan.Target.New = func(*drills.Env) (drills.Target, error) { return target, nil }
			h.plan.Steps = []runner.Step{step("deploy", deploy, time.Minute, sleeper(0))}

			doc := h.run(t.Context())

			c := checks(t, doc)[runner.CheckFromScratch]
			assert.Equal(t, found == nil, c.OK)
			assert.Contains(t, c.Detail, "(scope: "+scope+")")
		})
	}
}

// A cluster that cannot be used is drill's environment failing: the
// provision says why with its own reason, the destroy has nothing to do, and
// no further cycle starts, since it would fail the same way.
func TestRunUnreachableClusterStopsTheRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.plan.Cycles = 3
		h.target.provision = func(context.Context, *drills.Env) error {
			return &drills.ClusterUnreachableError{Context: "kind-gone", Server: "https://127.0.0.1:1",
				Err: errors.New("the API server does not answer GET /version: connection refused")}
		}
		h.plan.Steps = []runner.Step{step("deploy", deploy, time.Minute, mustNotRun(t))}

		doc := h.run(t.Context())

		require.Len(t, doc.Cycles, 1, "no further cycle once the cluster is known to be unusable")
		prov := stepNamed(t, doc.Cycles[0], "provision")
		require.NotNil(t, prov.Error)
		assert.Equal(t, results.ReasonClusterUnreachable, prov.Error.Reason)
		assert.Contains(t, prov.Error.Message, "context kind-gone, server https://127.0.0.1:1")
		require.NotNil(t, doc.Error)
		assert.Equal(t, results.ReasonClusterUnreachable, doc.Error.Reason)
		assert.Equal(t, results.StatusPassed, stepNamed(t, doc.Cycles[0], "destroy").Status)
	})
}

// When the from-scratch check is where the target first meets an unusable
// cluster, its error is the provision's, unwrapped: what is missing is the
// news, not the check.
func TestRunUnreachableClusterFoundByTheScratchCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.plan.Cycles = 2
		unreachable := &drills.ClusterUnreachableError{Context: "lab", Err: errors.New("kubeconfig /nope does not exist")}
		target := scratchFails{fakeTarget: h.target, err: unreachable}
		h.plan.Target.New = func(*drills.Env) (drills.Target, error) { return target, nil }
		h.plan.Steps = []runner.Step{step("deploy", deploy, time.Minute, mustNotRun(t))}

		doc := h.run(t.Context())

		require.Len(t, doc.Cycles, 1)
		prov := stepNamed(t, doc.Cycles[0], "provision")
		require.NotNil(t, prov.Error)
		assert.Equal(t, results.ReasonClusterUnreachable, prov.Error.Reason)
		assert.Equal(t, unreachable.Error(), prov.Error.Message)
		assert.NotContains(t, h.target.Calls(), "provision", "nothing is provisioned")
	})
}

// scratchFails is a target whose from-scratch check fails with err.
type scratchFails struct {
	*fakeTarget
	err error
}

func (s scratchFails) Preexisting(context.Context, *drills.Env) ([]string, error) { return nil, s.err }
