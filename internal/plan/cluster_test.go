package plan_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/cluster"
	"github.com/redeploy-drill/drill/internal/plan"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/scenarios"
)

// clusterPlan builds the plan of a cluster-target scenario whose target
// fields are given, with a kubeconfig at kube/config beside it.
func clusterPlan(t *testing.T, target, env string, host map[string]string) (*plan.Options, *scenarios.Scenario, string) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "kube"), 0o755))
	kubeconfig := filepath.Join(dir, "kube", "config")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
current-context: lab
clusters: [{name: lab, cluster: {server: "https://lab.invalid:6443"}}]
users: [{name: lab, user: {token: t0ken}}]
contexts: [{name: lab, context: {cluster: lab, user: lab}}]
`), 0o600))
	file := filepath.Join(dir, "web.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`apiVersion: drill/v1
kind: Scenario
metadata: {name: web}
spec:
  env: {`+env+`}
  target:
    cluster: `+target+`
  steps:
    - {name: deploy, apply: {path: k8s}}
`), 0o644))
	lookup := func(k string) (string, bool) { v, ok := host[k]; return v, ok }
	s, err := scenarios.Load(file, scenarios.WithLookupEnv(lookup))
	require.NoError(t, err)
	opts := optionsOf(host)
	return &opts, s, kubeconfig
}

func cycleEnv(p map[string]string, cycle int) *drills.Env {
	env := &drills.Env{RunID: "20261201T000000Z-abcdef", Scenario: "web", Cycle: cycle, RunDir: "/results/web/20261201T000000Z-abcdef", Vars: map[string]string{}}
	for k, v := range p {
		env.Vars[k] = v
	}
	env.Vars["DRILL_CYCLE"] = strconv.Itoa(cycle)
	return env
}

func TestBuildClusterTarget(t *testing.T) {
	t.Run("defaults: the namespace of the cycle, the kubeconfig of $KUBECONFIG", func(t *testing.T) {
		opts, s, kubeconfig := clusterPlan(t, "{}", "", map[string]string{"PATH": "/usr/bin", "HOME": "/home/sre"})
		opts.LookupEnv = func(k string) (string, bool) {
			if k == "KUBECONFIG" {
				return kubeconfig, true
			}
			return "", false
		}
		p, err := plan.Build(s, *opts)
		require.NoError(t, err)
		assert.Equal(t, "cluster", p.Target.Kind)
		assert.True(t, p.Target.Idempotent)
		assert.Equal(t, scenarios.DefaultTimeout+scenarios.DefaultDeleteTimeout, p.Target.Timeout, "destroy may wait deleteTimeout for the namespace")

		env := cycleEnv(p.Env, 2)
		tg, err := p.Target.New(env)
		require.NoError(t, err)
		ct, ok := tg.(*cluster.Target)
		require.True(t, ok)
		assert.Equal(t, "drill-web-abcdef-c2", ct.Namespace())

		e := p.Target.Ledger(env, tg)
		require.NotNil(t, e)
		assert.Equal(t, resultstore.LedgerEntry{Kind: resultstore.LedgerNamespace, Namespace: "drill-web-abcdef-c2", Context: "lab", Kubeconfig: kubeconfig}, *e,
			"the user's kubeconfig file and the context, resolved before anything is made")
		assert.Equal(t, "namespace drill-web-abcdef-c2 (context lab)", e.Describe())
	})

	t.Run("fields expanded, a relative kubeconfig beside the scenario", func(t *testing.T) {
		opts, s, kubeconfig := clusterPlan(t, "{kubeconfig: kube/config, context: lab, namespace: 'web-${DRILL_CYCLE}', deleteTimeout: 30s}", "",
			map[string]string{"PATH": "/usr/bin"})
		p, err := plan.Build(s, *opts)
		require.NoError(t, err)
		assert.Equal(t, scenarios.DefaultTimeout+30*time.Second, p.Target.Timeout)
		env := cycleEnv(p.Env, 2)
		tg, err := p.Target.New(env)
		require.NoError(t, err)
		assert.Equal(t, "web-2", tg.(*cluster.Target).Namespace())
		e := p.Target.Ledger(env, tg)
		require.NotNil(t, e)
		assert.Equal(t, kubeconfig, e.Kubeconfig)
	})

	t.Run("an expanded namespace that is no DNS label fails the provision, naming the field", func(t *testing.T) {
		opts, s, _ := clusterPlan(t, "{namespace: 'web-${SUFFIX}'}", "SUFFIX: Not_Valid", map[string]string{"PATH": "/usr/bin"})
		p, err := plan.Build(s, *opts)
		require.NoError(t, err)
		_, err = p.Target.New(cycleEnv(p.Env, 1))
		require.Error(t, err)
		assert.Contains(t, err.Error(), `spec.target.cluster.namespace: "web-Not_Valid" is not a namespace name`)
	})
}
