package plan_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/internal/plan"
	"github.com/redeploy-drill/drill/scenarios"
)

func TestBuildHelmSteps(t *testing.T) {
	s, err := scenarios.Load("testdata/helm.yaml")
	require.NoError(t, err)
	p, err := plan.Build(s, options())
	require.NoError(t, err)

	require.Len(t, p.Steps, 4)
	web, db := p.Steps[0], p.Steps[1]
	assert.Equal(t, []any{"helm", true}, []any{web.Kind, web.IdempotencyOff})
	assert.Equal(t, []any{"helm", false}, []any{db.Kind, db.IdempotencyOff})
	assert.Equal(t, scenarios.DefaultTimeout, p.DefaultTimeout, "an uninstall gets spec.defaults.timeout")

	assert.Equal(t, "helm: ${CHART} as release web in apps", plan.Describe(s.Spec.Steps[0]))
	assert.Equal(t, "helm: charts/db as release db in default", plan.Describe(s.Spec.Steps[1]))
	assert.Equal(t, "helm: charts/db as release db in drill-helm-c1", plan.DescribeIn(s.Spec.Steps[1], "drill-helm-c1"))
	assert.Equal(t, []plan.CleanupPlan{
		{Name: "uninstall db", Action: "helm uninstall db from default (foreground, no history kept), check nothing of it is left"},
		{Name: "uninstall web", Action: "helm uninstall web from apps (foreground, no history kept), check nothing of it is left"},
	}, plan.Cleanups(s, ""), "one uninstall per release, newest install first")
}

// A helm step's chart and values files are checked inside the workdir
// after expansion and through symlinks, before any cluster is contacted.
func TestHelmPathsStayInsideTheWorkdir(t *testing.T) {
	s, err := scenarios.Load("testdata/helm.yaml")
	require.NoError(t, err)
	p, err := plan.Build(s, options())
	require.NoError(t, err)
	web := p.Steps[0].Action

	workdir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(workdir, "charts", "web"), 0o755))
	require.NoError(t, os.Symlink("/etc", filepath.Join(workdir, "escape")))
	for name, tc := range map[string]struct {
		vars    map[string]string
		wantErr string
	}{
		"inside": {vars: map[string]string{"CHART": "charts/web", "VALUES": "values.yaml"}},
		"a chart climbing out": {vars: map[string]string{"CHART": "../charts", "VALUES": "values.yaml"},
			wantErr: `step web: helm.chart: "${CHART}" (expanded: "../charts") leaves the workdir`},
		"a chart through a symlink": {vars: map[string]string{"CHART": "escape", "VALUES": "values.yaml"},
			wantErr: "step web: helm.chart: \"${CHART}\" (expanded: \"escape\") leads outside the workdir through a symlink (to /etc)"},
		"a values file through a symlink": {vars: map[string]string{"CHART": "charts/web", "VALUES": "escape/passwd"},
			wantErr: "step web: helm.valuesFiles[0]"},
	} {
		t.Run(name, func(t *testing.T) {
			env := &drills.Env{Workdir: workdir, Vars: tc.vars}
			err := web.Run(context.Background(), env)
			require.Error(t, err)
			if tc.wantErr == "" {
				assert.Contains(t, err.Error(), "no Kubernetes cluster", "the paths pass; there is no cluster to install to")
				return
			}
			var pe *plan.PathError
			require.ErrorAs(t, err, &pe)
			assert.Contains(t, err.Error(), tc.wantErr)
			// The idempotency check reads the same inputs the same way.
			ic, ok := web.(interface {
				CheckIdempotent(context.Context, *drills.Env) error
			})
			require.True(t, ok, "the helm step offers its idempotency check")
			assert.ErrorAs(t, ic.CheckIdempotent(context.Background(), env), &pe)
		})
	}
}
