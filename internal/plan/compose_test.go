package plan_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/compose"
	"github.com/redeploy-drill/drill/internal/plan"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/scenarios"
)

// composeScenario writes a scenario with a compose target and the files of
// its source, and loads it.
func composeScenario(t *testing.T, target string, files map[string]string) *scenarios.Scenario {
	t.Helper()
	dir := t.TempDir()
	files["scenario.yaml"] = `apiVersion: drill/v1
kind: Scenario
metadata: {name: shop}
spec:
  env: {WEB_TAG: "1.2"}
  passEnv: [REGISTRY]
  secrets: [{name: DB_PASSWORD, fromEnv: HOST_DB_PASSWORD}]
  defaults: {timeout: 3m}
  target:
` + target + `
  steps:
    - {name: build, run: "true"}
`
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	s, err := scenarios.Load(filepath.Join(dir, "scenario.yaml"))
	require.NoError(t, err)
	return s
}

func TestComposeTargetPlan(t *testing.T) {
	s := composeScenario(t, "    compose: {files: [deploy/compose.yaml], wait: 1m}", map[string]string{})
	p, err := plan.Build(s, optionsOf(host))
	require.NoError(t, err)
	assert.Equal(t, "compose", p.Target.Kind)
	assert.Equal(t, 4*time.Minute, p.Target.Timeout, "the step timeout for the build, plus the wait")

	workdir := t.TempDir()
	env := &drills.Env{RunID: "20261201T000000Z-abcdef", Scenario: "shop", Cycle: 2, Workdir: workdir,
		Vars: map[string]string{"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}}
	target, err := p.Target.New(env)
	require.NoError(t, err)
	ct, ok := target.(*compose.Target)
	require.True(t, ok, "%T", target)
	assert.Equal(t, "drill-shop-abcdef-c2", ct.Project())

	e := p.Target.Ledger(env, target)
	require.NotNil(t, e)
	assert.Equal(t, resultstore.LedgerEntry{Kind: resultstore.LedgerComposeProject, Project: "drill-shop-abcdef-c2",
		DockerHost: "unix:///run/user/1000/docker.sock"}, *e)
	assert.Equal(t, "compose project drill-shop-abcdef-c2", e.Describe())

	// drill gc talks to the engine the run used.
	gcEnv := &drills.Env{Vars: map[string]string{}}
	gc := plan.ComposeFromLedger(resultstore.LedgerEntry{Project: "drill-shop-abcdef-c2", DockerContext: "remote", Images: []string{"shop-web"}}, gcEnv, nil)
	assert.Equal(t, "drill-shop-abcdef-c2", gc.Project())
	assert.Equal(t, []string{"shop-web"}, gc.Images())
	assert.Equal(t, map[string]string{"DOCKER_CONTEXT": "remote"}, gcEnv.Vars)
}

func TestComposeTargetProjectAndFiles(t *testing.T) {
	s := composeScenario(t, `    compose: {files: ["deploy/${WEB_TAG}.yaml", "link/compose.yaml"], project: "shop-${DRILL_CYCLE}"}`, map[string]string{})
	p, err := plan.Build(s, optionsOf(host))
	require.NoError(t, err)
	workdir := t.TempDir()
	env := &drills.Env{RunID: "20261201T000000Z-abcdef", Cycle: 3, Workdir: workdir,
		Vars: map[string]string{"WEB_TAG": "1.2", scenarios.VarCycle: "3"}}

	// A symlink in the workdir may not lead a cycle out of its copy.
	require.NoError(t, os.Symlink(t.TempDir(), filepath.Join(workdir, "link")))
	_, err = p.Target.New(env)
	var pe *plan.PathError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "spec.target.compose.files[1]", pe.Field)

	require.NoError(t, os.Remove(filepath.Join(workdir, "link")))
	target, err := p.Target.New(env)
	require.NoError(t, err)
	assert.Equal(t, "shop-3", target.(*compose.Target).Project())
}

func TestCheckCompose(t *testing.T) {
	hostEnv := map[string]string{"PATH": "/usr/bin", "REGISTRY": "registry.example"}
	lookup := func(k string) (string, bool) { v, ok := hostEnv[k]; return v, ok }
	environ := func() []string { return []string{"PATH=/usr/bin", "REGISTRY=registry.example", "DRILL_EXTRA=x"} }
	valid := `services:
  web:
    image: "${REGISTRY}/web:${WEB_TAG}"
    environment: {DB_PASSWORD: "${DB_PASSWORD}", RUN: "${DRILL_RUN_ID}", EXTRA: "${DRILL_EXTRA}"}
    ports: ["127.0.0.1::8080"]
  api:
    build: ../api
    ports: ["9090:9090"]
`
	tests := []struct {
		name   string
		target string
		files  map[string]string
		line   int
		field  string
		msg    string
	}{
		{name: "valid", target: "    compose: {files: [deploy/compose.yaml]}", files: map[string]string{"deploy/compose.yaml": valid}},
		{name: "missing file", target: "    compose:\n      files: [deploy/compose.yaml, deploy/prod.yaml]",
			files: map[string]string{"deploy/compose.yaml": valid}, line: 11, field: "spec.target.compose.files[1]",
			msg: "compose: deploy/prod.yaml: no such file in the source folder"},
		{name: "default file missing", target: "    compose: {}", files: map[string]string{}, line: 10, field: "spec.target.compose.files[0]",
			msg: "compose: compose.yaml: no such file"},
		{name: "invalid compose file", target: "    compose:\n      files: [deploy/compose.yaml]",
			files: map[string]string{"deploy/compose.yaml": "services:\n  web:\n    ports: 8080\n"}, line: 11, field: "spec.target.compose.files[0]",
			msg: "compose: deploy/compose.yaml: "},
		{name: "required variable", target: "    compose: {files: [compose.yaml]}",
			files: map[string]string{"compose.yaml": "services:\n  web: {image: \"${NOPE:?set NOPE}\"}\n"}, line: 10, field: "spec.target.compose.files",
			msg: "set NOPE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := composeScenario(t, tt.target, tt.files)
			err := plan.CheckCompose(context.Background(), s, lookup, environ)
			if tt.msg == "" {
				require.NoError(t, err)
				services, err := plan.ComposeServices(context.Background(), s, lookup, environ)
				require.NoError(t, err)
				require.Len(t, services, 2)
				assert.Equal(t, "drill-shop-run-c1-api", services[0].Image)
				assert.Equal(t, "registry.example/web:1.2", services[1].Image, "spec.env and passEnv interpolated")
				return
			}
			var le *scenarios.LoadError
			require.True(t, errors.As(err, &le), "want a *scenarios.LoadError, got %T: %v", err, err)
			require.Len(t, le.Problems, 1)
			pr := le.Problems[0]
			assert.Equal(t, s.File, pr.File)
			assert.Equal(t, tt.line, pr.Line)
			assert.Equal(t, tt.field, pr.Field)
			assert.Contains(t, pr.Message, tt.msg)
		})
	}

	none := composeScenario(t, "    none: {}", map[string]string{})
	assert.NoError(t, plan.CheckCompose(context.Background(), none, lookup, environ), "other targets pass")
}
