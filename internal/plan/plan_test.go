package plan_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/none"
	"github.com/redeploy-drill/drill/internal/plan"
	"github.com/redeploy-drill/drill/scenarios"
)

// host is the environment of the drill process in these tests: more than a
// step may see.
var host = map[string]string{
	"PATH": "/usr/bin:/bin", "HOME": "/home/sre", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
	"AWS_PROFILE": "drills", "AWS_SECRET_ACCESS_KEY": "leak-me-not", "KUBECONFIG": "/home/sre/.kube/config",
	"DRILL_KIND_NODE_IMAGE": "kindest/node:test", "HOST_DB_PASSWORD": "s3cr3t",
}

func options() plan.Options { return optionsOf(host) }

// optionsOf reads a host environment from the map.
func optionsOf(host map[string]string) plan.Options {
	return plan.Options{
		LookupEnv: func(k string) (string, bool) { v, ok := host[k]; return v, ok },
		Environ: func() []string {
			var out []string
			for k, v := range host {
				out = append(out, k+"="+v)
			}
			return out
		},
	}
}

func load(t *testing.T) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Load("testdata/env.yaml")
	require.NoError(t, err)
	return s
}

func TestBuildEnvironmentHoldsOnlyWhatIsAllowed(t *testing.T) {
	p, err := plan.Build(load(t), options())
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"PATH": "/usr/bin:/bin", "HOME": "/home/sre", "LANG": "C.UTF-8", "TMPDIR": "/tmp", // the host basics
		"DRILL_KIND_NODE_IMAGE": "kindest/node:test", // DRILL_* pass through
		"AWS_PROFILE":           "drills",            // passEnv; NOT_SET_ON_HOST stays unset
		"APP_PORT":              "18080",             // spec.env
		"DB_PASSWORD":           "s3cr3t",            // a secret, by its name
	}, p.Env, "AWS_SECRET_ACCESS_KEY, KUBECONFIG and HOST_DB_PASSWORD never reach a step")
	assert.Equal(t, []string{"s3cr3t"}, p.Secrets)
}

func TestBuildResolvesStepsAndTarget(t *testing.T) {
	p, err := plan.Build(load(t), options())
	require.NoError(t, err)

	assert.Equal(t, 2, p.Cycles)
	assert.Equal(t, "terraform", p.Target.Kind)
	assert.False(t, p.Target.Idempotent, "idempotent: false turns the check off")
	assert.Equal(t, 2*time.Minute, p.Target.Timeout)

	require.Len(t, p.Steps, 3)
	build, healthy, confirm := p.Steps[0], p.Steps[1], p.Steps[2]
	assert.Equal(t, []any{"build", "run", "deploy", 2 * time.Minute, 1, 3 * time.Second, "platform"},
		[]any{build.Name, build.Kind, build.Phase, build.Timeout, build.Retries, build.RetryDelay, build.Owner})
	assert.Equal(t, []any{"healthy", "http", "verify", 30 * time.Second}, []any{healthy.Name, healthy.Kind, healthy.Phase, healthy.Timeout})
	assert.Equal(t, "manual", confirm.Kind)
	assert.Equal(t, "Check the dashboard by hand.", confirm.Manual)
	assert.Nil(t, confirm.Action, "a manual step without an action is only a human's task")

	require.Len(t, p.Teardown, 1)
	assert.Equal(t, []any{"stop", "teardown", "oncall"}, []any{p.Teardown[0].Name, p.Teardown[0].Phase, p.Teardown[0].Owner})
}

func TestBuildFailsOnAMissingSecret(t *testing.T) {
	opts := options()
	opts.LookupEnv = func(k string) (string, bool) {
		if k == "HOST_DB_PASSWORD" {
			return "", false
		}
		v, ok := host[k]
		return v, ok
	}
	_, err := plan.Build(load(t), opts)
	require.Error(t, err)
	assert.ErrorIs(t, err, scenarios.ErrSecretNotSet)
	assert.Contains(t, err.Error(), "DB_PASSWORD")
}

// imageLoader is a kind-like target that records the images it is asked to load.
type imageLoader struct {
	none.Target
	loaded []string
}

func (l *imageLoader) LoadImages(_ context.Context, _ *drills.Env, images []string) error {
	l.loaded = append(l.loaded, images...)
	return nil
}

func TestBuildLoadImagesExpandsAtRunTime(t *testing.T) {
	s, err := scenarios.Parse("t.yaml", []byte(`apiVersion: drill/v1
kind: Scenario
metadata: {name: load}
spec:
  env: {TAG: dev}
  target: {kind: {}}
  steps:
    - name: images
      loadImages: ["hello:${TAG}", "db:${DRILL_OUTPUT_CLUSTER}"]
`), scenarios.WithLookupEnv(optionsOf(host).LookupEnv))
	require.NoError(t, err)
	p, err := plan.Build(s, options())
	require.NoError(t, err)
	require.Len(t, p.Steps, 1)
	st := p.Steps[0]
	assert.Equal(t, "loadImages", st.Kind)
	assert.Equal(t, `loadImages: hello:${TAG}, db:${DRILL_OUTPUT_CLUSTER}`, plan.Describe(s.Spec.Steps[0]))

	target := &imageLoader{}
	env := &drills.Env{Target: target, Vars: map[string]string{"TAG": "dev", "DRILL_OUTPUT_CLUSTER": "drill-load-3f9a1c"}}
	require.NoError(t, st.Action.Run(context.Background(), env))
	assert.Equal(t, []string{"hello:dev", "db:drill-load-3f9a1c"}, target.loaded)

	// A variable gone at run time is named by its step and field.
	delete(env.Vars, "TAG")
	err = st.Action.Run(context.Background(), env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "step images: loadImages[0]")
}
