package scenarios

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

func dur(d time.Duration) Duration { return Duration(d) }

func sha(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// abs is path as Load resolves spec.source: absolute, symlinks resolved.
func abs(t *testing.T, path string) string {
	t.Helper()
	a, err := filepath.Abs(path)
	require.NoError(t, err)
	real, err := filepath.EvalSymlinks(a)
	require.NoError(t, err)
	return real
}

func TestLoadValidFull(t *testing.T) {
	const file = "testdata/valid-full.yaml"
	s, err := Load(file)
	require.NoError(t, err)

	want := &Scenario{
		APIVersion: "drill/v1",
		Kind:       "Scenario",
		Metadata: Metadata{
			Name:        "local-web",
			Description: "Rebuild the demo web stack on a fresh local target.",
			Owner:       "platform",
			Labels:      map[string]string{"tier": "demo", "app.kubernetes.io/name": "web"},
		},
		Spec: Spec{
			Cycles:    3,
			Budget:    dur(5 * time.Minute),
			Freshness: dur(7 * 24 * time.Hour),
			Source:    Source{Dir: abs(t, ".")}, // "..", relative to testdata/
			Env:       map[string]string{"APP_PORT": "18080", "GREETING": "hello world"},
			PassEnv:   []string{"AWS_PROFILE", "HTTPS_PROXY"},
			Secrets: []Secret{
				{Name: "DB_PASSWORD", FromEnv: "DRILL_DB_PASSWORD"},
				{Name: "API_TOKEN", FromFile: "/run/secrets/token"},
			},
			Defaults: StepDefaults{Timeout: dur(2 * time.Minute), Retries: 1, RetryDelay: dur(3 * time.Second)},
			Target: Target{Terraform: &TerraformTarget{
				Dir:        "infra",
				Vars:       map[string]string{"port": "18080"},
				VarFiles:   []string{"env/local.tfvars"},
				Idempotent: ptr(false),
			}},
			Steps: []Step{
				{
					Name: "build", Phase: PhaseDeploy, Timeout: dur(2 * time.Minute), Retries: ptr(1),
					RetryDelay: dur(3 * time.Second), Owner: "platform",
					Run:  ptr(`go build -o "$DRILL_WORKDIR/bin/hello" ./hello`),
					Line: 27,
				},
				{
					Name: "start", Phase: PhaseDeploy, Timeout: dur(time.Minute), Retries: ptr(0),
					RetryDelay: dur(10 * time.Second), Owner: "web-team",
					Run:  ptr("./scripts/start.sh"),
					Line: 29,
				},
				{
					Name: "healthy", Phase: PhaseVerify, Timeout: dur(2 * time.Minute), Retries: ptr(1),
					RetryDelay: dur(3 * time.Second), Owner: "platform",
					HTTP: &HTTPAction{
						URL:      "http://127.0.0.1:${APP_PORT}/healthz",
						Method:   "POST",
						Headers:  map[string]string{"Authorization": "Bearer ${API_TOKEN}"},
						Status:   204,
						Body:     "^ok$",
						Within:   dur(45 * time.Second),
						Interval: dur(2 * time.Second),
					},
					Line: 35,
				},
				{
					Name: "eyeball", Phase: PhaseVerify, Timeout: dur(2 * time.Minute), Retries: ptr(1),
					RetryDelay: dur(3 * time.Second), Owner: "platform",
					Manual: "Open http://127.0.0.1:18080 and check the banner shows today's date.",
					Line:   45,
				},
			},
			Teardown: []Step{{
				Name: "stop", Phase: PhaseTeardown, Timeout: dur(30 * time.Second), Retries: ptr(1),
				RetryDelay: dur(3 * time.Second), Owner: "platform",
				Run:  ptr("./scripts/stop.sh"),
				Line: 49,
			}},
		},
		File:   file,
		SHA256: sha(t, file),
	}
	line, col := s.Pos("spec.steps[2].http.url")
	assert.Equal(t, []int{38, 14}, []int{line, col}, "Pos is where the value is")
	line, col = s.Pos("spec.steps[3].http")
	assert.Equal(t, []int{45, 7}, []int{line, col}, "Pos of a field not written is its nearest written ancestor's key")
	want.idx = s.idx // the positions, checked through Pos above
	assert.Equal(t, want, s)
	assert.NoError(t, s.Validate(), "a loaded scenario must pass Validate")
}

func TestLoadValidCompose(t *testing.T) {
	s, err := Load("testdata/valid-compose.yaml")
	require.NoError(t, err)
	yes := true
	assert.Equal(t, &ComposeTarget{
		Files: []string{"deploy/compose.yaml", "deploy/compose.${STACK}.yaml"},
		Build: &yes,
		Wait:  dur(90 * time.Second),
	}, s.Spec.Target.Compose)
	line, col := s.Pos("spec.target.compose.files[1]")
	assert.Equal(t, []int{12, 36}, []int{line, col})
	assert.NoError(t, s.Validate())
}

func TestLoadValidKind(t *testing.T) {
	s, err := Load("testdata/valid-kind.yaml")
	require.NoError(t, err)

	want := Spec{
		Cycles:    DefaultCycles,
		Freshness: dur(DefaultFreshness),
		Source:    Source{Dir: abs(t, "testdata")},
		Defaults:  StepDefaults{Timeout: dur(DefaultTimeout), RetryDelay: dur(DefaultRetryDelay)},
		Target: Target{Kind: &KindTarget{
			Config:     "kind.yaml",
			LoadImages: []string{"hello:dev"},
			WaitReady:  dur(2 * time.Minute),
		}},
	}
	step := func(name, phase string, line int) Step {
		return Step{Name: name, Phase: phase, Timeout: dur(DefaultTimeout), Retries: ptr(0),
			RetryDelay: dur(DefaultRetryDelay), Owner: "platform", Line: line}
	}
	images := step("images", PhaseDeploy, 15)
	images.LoadImages = []string{"hello:dev", "db:${DRILL_RUN_ID}"}
	manifests := step("manifests", PhaseDeploy, 17)
	manifests.Apply = &ApplyAction{Path: "k8s", Namespace: "web"}
	rollout := step("rollout", PhaseDeploy, 19)
	rollout.Wait = &WaitAction{Resources: []string{"deployment/hello", "deployment.apps/db"}, Namespace: "web", For: "ready"}
	all := step("all-applied", PhaseDeploy, 24)
	all.Wait = &WaitAction{For: DefaultWaitFor}
	healthy := step("healthy", PhaseVerify, 26)
	healthy.HTTP = &HTTPAction{URL: "http://${DRILL_OUTPUT_CONTROL_PLANE_IP}:30080/", Method: "GET", Status: 200,
		Within: dur(DefaultWithin), Interval: dur(DefaultInterval)}
	confirm := step("confirm", PhaseTeardown, 30)
	confirm.Manual = ManualGeneric
	want.Steps = []Step{images, manifests, rollout, all, healthy}
	want.Teardown = []Step{confirm}

	assert.Equal(t, want, s.Spec)
	assert.NoError(t, s.Validate())
}

func TestLoadValidCluster(t *testing.T) {
	s, err := Load("testdata/valid-cluster.yaml")
	require.NoError(t, err)
	assert.Equal(t, Target{Cluster: &ClusterTarget{
		Kubeconfig:    "${HOME}/.kube/config",
		Context:       "minikube",
		Namespace:     "web-${DRILL_CYCLE}",
		DeleteTimeout: dur(DefaultDeleteTimeout),
	}}, s.Spec.Target)
	require.Len(t, s.Spec.Steps, 4)
	assert.Equal(t, &ApplyAction{Path: "k8s"}, s.Spec.Steps[0].Apply, "no namespace: the cycle's")
	assert.NoError(t, s.Validate(), "${KUBECONFIG} is defined in steps of a cluster target")
}

func TestLoadValidHelm(t *testing.T) {
	s, err := Load("testdata/valid-helm.yaml")
	require.NoError(t, err)

	require.Len(t, s.Spec.Steps, 2)
	chart, def := s.Spec.Steps[0], s.Spec.Steps[1]
	assert.Equal(t, &HelmAction{
		Chart: "charts/web", Release: "web", Namespace: "web",
		Values: map[string]any{
			"replicaCount": int64(2),
			"image":        map[string]any{"repository": "hello", "pullPolicy": "Never"},
			"ports":        []any{int64(8080), map[string]any{"name": "metrics", "port": int64(9090)}},
			"enabled":      true,
			"ratio":        0.5,
			"nothing":      nil,
			"when":         "2026-01-02", // as written: Helm reads values through JSON
			"greeting":     "hi ${TAG}",
		},
		ValuesFiles: []string{"charts/web/values-ci.yaml"},
		Set:         map[string]string{"image.tag": "${TAG}", "replicaCount": "3"},
	}, chart.Helm)
	assert.Equal(t, ptr(false), chart.Idempotent)
	assert.Equal(t, &HelmAction{Chart: "charts/web.tgz", Release: "web-default"}, def.Helm, "the release defaults to the step's name")
	assert.Nil(t, def.Idempotent, "unset: the check is on")
	line, col := s.Pos("spec.steps[0].helm.values.ports[1].port")
	assert.Equal(t, []int{20, 47}, []int{line, col}, "nested values have positions for messages")
	assert.NoError(t, s.Validate())
}

func TestLoadValidMinimalGetsDefaults(t *testing.T) {
	s, err := Load("testdata/valid-minimal.yaml")
	require.NoError(t, err)

	assert.Equal(t, "minimal", s.Metadata.Name)
	assert.Equal(t, 2, s.Spec.Cycles)
	assert.Equal(t, 24*time.Hour, s.Spec.Freshness.D())
	assert.Zero(t, s.Spec.Budget)
	assert.Equal(t, abs(t, "testdata"), s.Spec.Source.Dir, "source defaults to the scenario's folder")
	assert.Equal(t, StepDefaults{Timeout: dur(10 * time.Minute), RetryDelay: dur(5 * time.Second)}, s.Spec.Defaults)
	assert.Equal(t, Target{None: &NoneTarget{}}, s.Spec.Target)
	require.Len(t, s.Spec.Steps, 1)
	assert.Equal(t, Step{Name: "hello", Phase: PhaseDeploy, Timeout: dur(10 * time.Minute), Retries: ptr(0),
		RetryDelay: dur(5 * time.Second), Run: ptr("echo hello"), Line: 9}, s.Spec.Steps[0])
	assert.Equal(t, "testdata/valid-minimal.yaml", s.File)
	assert.Equal(t, sha(t, "testdata/valid-minimal.yaml"), s.SHA256)
}

func TestLoadResolvesAnchorsAndMerges(t *testing.T) {
	s, err := Load("testdata/valid-anchors.yaml")
	require.NoError(t, err)

	assert.Equal(t, map[string]string{"tier": "demo"}, s.Spec.Env)
	require.Len(t, s.Spec.Steps, 3)
	first, second, third := s.Spec.Steps[0], s.Spec.Steps[1], s.Spec.Steps[2]
	assert.Equal(t, "first", first.Name)
	assert.Equal(t, "second", second.Name, "a key written next to << wins over the merged one")
	assert.Equal(t, "third", third.Name)
	for _, st := range s.Spec.Steps {
		assert.Equal(t, PhaseVerify, st.Phase, st.Name)
		require.NotNil(t, st.HTTP, st.Name)
		assert.Equal(t, "http://127.0.0.1:8080/", st.HTTP.URL, st.Name)
		assert.Equal(t, dur(5*time.Second), st.HTTP.Within, st.Name)
	}
	assert.Equal(t, dur(20*time.Second), second.Timeout)
	assert.Equal(t, dur(40*time.Second), third.Timeout)
	assert.Equal(t, []int{11, 16, 18}, []int{first.Line, second.Line, third.Line})
	assert.NotSame(t, first.HTTP, second.HTTP, "each use of an anchor decodes into its own value")
}

// want is one expected problem: exact position and field, and a part of the message.
type want struct {
	line, col int
	field     string
	msg       string
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		file string
		want []want
	}{
		{"invalid-unknown-field.yaml", []want{{9, 7, "spec.steps[0].rnu", `unknown field "rnu" (did you mean "run"?)`}}},
		{"invalid-two-actions.yaml", []want{{10, 7, "spec.steps[0].http", "exactly one action (run, http, apply, wait, helm or loadImages), and this one already has run"}}},
		{"invalid-bad-duration.yaml", []want{{10, 16, "spec.steps[0].timeout", `invalid duration "30": missing unit`}}},
		{"invalid-wrong-type.yaml", []want{{7, 11, "spec.cycles", `expected an integer, got the string "two"`}}},
		{"invalid-missing-name.yaml", []want{{3, 1, "metadata.name", "required field is missing"}}},
		{"invalid-duplicate-step.yaml", []want{{11, 13, "spec.teardown[0].name", `duplicate step name "build" (first used by spec.steps[0].name at line 8)`}}},
		{"invalid-duplicate-key.yaml", []want{{10, 7, "spec.steps[0].run", `duplicate key "run" (first at line 9)`}}},
		{"invalid-apiversion.yaml", []want{{1, 13, "apiVersion", `unsupported apiVersion "drill/v2": want drill/v1`}}},
		{"invalid-missing-apiversion.yaml", []want{{1, 1, "apiVersion", "required field is missing"}}},
		{"invalid-kind.yaml", []want{{2, 7, "kind", `unsupported kind "Deployment": want Scenario`}}},
		{"invalid-syntax.yaml", []want{{6, 2, "", "invalid YAML: did not find expected key"}}},
		{"invalid-syntax-tab.yaml", []want{{7, 1, "", "invalid YAML: found character that cannot start any token"}}},
		{"invalid-syntax-unknown-anchor.yaml", []want{{8, 7, "", "invalid YAML: unknown anchor 'missing' referenced"}}},
		{"invalid-empty.yaml", []want{{1, 1, "", "the file is empty"}}},
		{"invalid-not-mapping.yaml", []want{{1, 1, "", "a scenario must be a mapping (apiVersion, kind, metadata, spec), got a list"}}},
		{"invalid-two-documents.yaml", []want{{11, 1, "", "exactly one YAML document"}}},
		{"invalid-no-action.yaml", []want{{8, 7, "spec.steps[0]", "a step needs one action"}}},
		{"invalid-no-steps.yaml", []want{{7, 10, "spec.steps", "at least one step is required"}}},
		{"invalid-missing-steps.yaml", []want{{5, 1, "spec.steps", "required field is missing: at least one step"}}},
		{"invalid-bad-name.yaml", []want{{4, 9, "metadata.name", `invalid name "Local_Web": use a lowercase DNS label`}}},
		{"invalid-phase.yaml", []want{{9, 14, "spec.steps[0].phase", `unsupported phase "test": want deploy or verify`}}},
		{"invalid-teardown-phase.yaml", []want{{12, 7, "spec.teardown[0].phase", "steps under teardown may not set phase"}}},
		{"invalid-cycles-zero.yaml", []want{{7, 11, "spec.cycles", "must be at least 1, got 0"}}},
		{"invalid-negative-retries.yaml", []want{
			{7, 23, "spec.defaults.retries", "must not be negative, got -1"},
			{11, 16, "spec.steps[0].retries", "must not be negative, got -2"},
		}},
		{"invalid-two-targets.yaml", []want{{7, 5, "spec.target", "set exactly one of terraform, kind, cluster, compose or none, not kind and none"}}},
		{"invalid-no-target.yaml", []want{{5, 1, "spec.target", "required field is missing: set one of terraform, kind, cluster, compose or none"}}},
		{"invalid-empty-target.yaml", []want{{6, 11, "spec.target", "set exactly one of terraform, kind, cluster, compose or none"}}},
		{"invalid-secret-source.yaml", []want{
			{8, 7, "spec.secrets[0]", "set one of fromEnv or fromFile"},
			{9, 32, "spec.secrets[1].fromFile", "set only one of fromEnv or fromFile"},
		}},
		{"invalid-compose.yaml", []want{
			{8, 15, "spec.target.compose.files[0]", "must not be empty"},
			{8, 19, "spec.target.compose.files[1]", `"../compose.yaml" escapes the workdir with ..`},
			{8, 36, "spec.target.compose.files[2]", "${DRILL_OUTPUT_X} is not defined here"},
			{9, 16, "spec.target.compose.project", `invalid project name "My_Project"`},
			{10, 14, "spec.target.compose.build", "expected true or false"},
			{11, 13, "spec.target.compose.wait", `invalid duration "soon"`},
		}},
		{"invalid-http.yaml", []want{
			{11, 17, "spec.steps[0].http.status", "HTTP status 700 is out of range: want 100 to 599"},
			{12, 15, "spec.steps[0].http.body", "invalid regular expression: error parsing regexp: missing closing )"},
		}},
		{"invalid-cluster.yaml", []want{
			{8, 19, "spec.target.cluster.kubeconfig", "${DRILL_OUTPUT_KUBECONFIG} is not defined here: target outputs"},
			{9, 16, "spec.target.cluster.context", "must be one line: a tab at position 4"},
			{10, 18, "spec.target.cluster.namespace", `invalid namespace "Web_Namespace": want a lowercase DNS label`},
			{11, 22, "spec.target.cluster.deleteTimeout", "must be at most 7d, got 30d"},
		}},
		{"invalid-notify.yaml", []want{
			{7, 12, "spec.notify[0].url", "want an absolute http:// or https:// URL (better: ${NAME} of a secret"},
			{8, 12, "spec.notify[1].url", "${SLACK_WEBHOOK} is not defined"},
			{9, 15, "spec.notify[1].format", `unsupported format "teams": want one of json, slack`},
			{10, 7, "spec.notify[2].url", "required field is missing"},
			{10, 15, "spec.notify[2].secret", "${KEY} is not defined"},
			{12, 7, "spec.notify[3].signature", `unknown field "signature"`},
		}},
		{"invalid-wait-for.yaml", []want{{9, 48, "spec.steps[0].wait.for", `unsupported for "deleted": only "ready" is supported`}}},
		{"invalid-path-escapes.yaml", []want{
			{7, 22, "spec.target.terraform.dir", `"../infra" escapes the workdir with ..`},
			{10, 21, "spec.steps[0].apply.path", `"/etc/k8s" must be relative to the workdir`},
		}},
		{"invalid-expand-syntax.yaml", []want{{9, 19, "spec.steps[0].http.url", "unterminated ${"}}},
		{"invalid-manual-type.yaml", []want{{9, 15, "spec.steps[0].manual", "expected instructions for the operator (a string) or true, got the number 3"}}},
		{"invalid-alias-bomb.yaml", []want{{17, 49, "spec.steps[1].http.headers", "more than 100000 YAML nodes once anchors and aliases are resolved: too big for a scenario, or an alias bomb"}}},
		{"invalid-merge-cycle.yaml", []want{{5, 11, "metadata.labels", "a merge key (<<) refers to the mapping that holds it"}}},
		{"invalid-helm.yaml", []want{
			{9, 7, "spec.steps[0].helm.chart", "required field is missing: a chart folder or .tgz"},
			{11, 7, "spec.steps[1].helm", `the release name defaults to the step's name "Bad Name", which is not a valid Helm release name`},
			{14, 16, "spec.steps[2].helm.chart", `"../outside" escapes the workdir with ..`},
			{15, 18, "spec.steps[2].helm.release", `invalid release name "Web_1"`},
			{16, 20, "spec.steps[2].helm.namespace", `invalid namespace "Web"`},
			{17, 23, "spec.steps[2].helm.valuesFiles[0]", `"/etc/values.yaml" must be relative to the workdir`},
			{18, 31, "spec.steps[2].helm.values.image.tag", "${UNDEFINED} is not defined"},
			{18, 53, "spec.steps[2].helm.values.big", ".inf is not a number a values file can hold"},
			{19, 15, `spec.steps[2].helm.set["a=b"]`, `invalid key "a=b"`},
			{19, 30, "spec.steps[2].helm.set.tag", "${ALSO_UNDEFINED} is not defined"},
			{22, 7, "spec.steps[3].idempotent", "only a helm or apply step has an idempotency check to turn off; this one is a run step"},
			{24, 7, "spec.steps[4].helm", "a step has exactly one action (run, http, apply, wait, helm or loadImages), and this one already has apply"},
		}},
		{"invalid-undefined-variable.yaml", []want{
			{8, 30, "spec.target.terraform.vars.host", "${DRILL_OUTPUT_HOST} is not defined here: target outputs (DRILL_OUTPUT_<NAME>) exist only after provision, so spec.target fields cannot use them"},
			{15, 19, "spec.steps[2].http.url", "${APP_PROT} is not defined: set it in spec.env, spec.passEnv or spec.secrets (did you mean ${APP_PORT}?)"},
		}},
		{"invalid-out-of-bounds.yaml", []want{
			{6, 11, "spec.cycles", "must be at most 100, got 99999999999999999999"},
			{7, 14, "spec.freshness", `invalid duration "9999999999999d": too long: at most 366d`},
			{8, 23, "spec.defaults.retries", "must be at most 100, got 1000"},
			{8, 38, "spec.defaults.timeout", "must be at most 7d, got 30d"},
			{12, 50, "spec.steps[0].http.interval", "must be at least 100ms, got 1ns"},
		}},
		{"invalid-control-characters.yaml", []want{
			{5, 16, "metadata.description", "character U+001B (ESC) at position 9 is not allowed"},
			{6, 18, "metadata.labels.tier", "character U+202E (RIGHT-TO-LEFT OVERRIDE) at position 5 is not allowed"},
			{11, 15, "spec.steps[0].manual", "character U+000D (CR) at position 19 is not allowed"},
		}},
		{"invalid-many-problems.yaml", []want{
			{4, 9, "metadata.name", `invalid name "Many_Problems"`},
			{5, 3, "metadata.lables", `unknown field "lables" (did you mean "labels"?)`},
			{7, 11, "spec.cycles", "must be at least 1, got 0"},
			{8, 11, "spec.budget", `invalid duration "soon"`},
			{9, 8, "spec.env", "expected a mapping, got a list"},
			{11, 7, "spec.secrets[0]", "set one of fromEnv or fromFile"},
			{13, 5, "spec.target", "set exactly one of terraform, kind, cluster, compose or none, not terraform and none"},
			{18, 7, "spec.steps[0].http", "exactly one action"},
			{19, 7, "spec.steps[1]", "a step needs one action"},
			{20, 14, "spec.steps[1].phase", `unsupported phase "test"`},
			{21, 16, "spec.steps[1].retries", "must not be negative, got -1"},
			{22, 7, "spec.steps[2].name", "required field is missing"},
			{24, 13, "spec.teardown[0].name", `duplicate step name "build"`},
			{25, 7, "spec.teardown[0].phase", "steps under teardown may not set phase"},
			{26, 19, "spec.teardown[0].wait.for", `unsupported for "gone"`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			s, err := Load(path)
			require.Error(t, err)
			assert.Nil(t, s)
			le, ok := errors.AsType[*LoadError](err)
			require.True(t, ok, "want a *LoadError, got %T: %v", err, err)

			got := make([]want, len(le.Problems))
			for i, p := range le.Problems {
				assert.Equal(t, path, p.File)
				got[i] = want{p.Line, p.Column, p.Field, p.Message}
				if i < len(tt.want) && strings.Contains(p.Message, tt.want[i].msg) {
					got[i].msg = tt.want[i].msg // compare the part the test names
				}
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestLoadErrorFormat(t *testing.T) {
	_, err := Load("testdata/invalid-negative-retries.yaml")
	require.Error(t, err)
	assert.Equal(t,
		"testdata/invalid-negative-retries.yaml:7:23: spec.defaults.retries: must not be negative, got -1\n"+
			"testdata/invalid-negative-retries.yaml:11:16: spec.steps[0].retries: must not be negative, got -2",
		err.Error())

	_, err = Load("testdata/invalid-syntax.yaml")
	require.Error(t, err)
	assert.Equal(t, "testdata/invalid-syntax.yaml:6:2: invalid YAML: did not find expected key", err.Error(),
		"a syntax error has no field")

	assert.Equal(t, "spec.cycles: must be at least 1", Problem{Field: "spec.cycles", Message: "must be at least 1"}.String(),
		"a problem without a file or position prints only the field")
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such-file.yaml")
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), "testdata/no-such-file.yaml")
	_, isLoadErr := errors.AsType[*LoadError](err)
	assert.False(t, isLoadErr, "an unreadable file is not an invalid scenario")
}

func TestLoadRejectsHugeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	require.NoError(t, os.WriteFile(path, []byte("# "+strings.Repeat("x", MaxFileSize)+"\n"), 0o644))
	_, err := Load(path)
	le, ok := errors.AsType[*LoadError](err)
	require.True(t, ok, "got %v", err)
	require.Len(t, le.Problems, 1)
	assert.Contains(t, le.Problems[0].Message, "larger than")
}

// Load checks that spec.source exists; Parse does not touch the disk.
func TestLoadChecksSourceExists(t *testing.T) {
	dir := t.TempDir()
	data := []byte(`apiVersion: drill/v1
kind: Scenario
metadata: {name: src}
spec:
  source: stack
  target: {none: {}}
  steps: [{name: a, run: "true"}]
`)
	path := filepath.Join(dir, "s.yaml")
	require.NoError(t, os.WriteFile(path, data, 0o644))

	_, err := Load(path)
	le, ok := errors.AsType[*LoadError](err)
	require.True(t, ok, "got %v", err)
	require.Len(t, le.Problems, 1)
	assert.Equal(t, want{5, 11, "spec.source", "source folder " + filepath.Join(dir, "stack") + " does not exist"},
		want{le.Problems[0].Line, le.Problems[0].Column, le.Problems[0].Field, le.Problems[0].Message})

	s, err := Parse(path, data)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "stack"), s.Spec.Source.Dir, "relative source is relative to the scenario's folder")

	require.NoError(t, os.Mkdir(filepath.Join(dir, "stack"), 0o755))
	s, err = Load(path)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "stack"), s.Spec.Source.Dir)
}

// Types the walker is strict about, each checked on its own.
func TestParseStrictTypes(t *testing.T) {
	tests := []struct {
		name, yaml, field, msg string
	}{
		{"string wanted", "metadata: {name: [a]}", "metadata.name", "expected a string, got a list"},
		{"list wanted", "spec: {passEnv: AWS_PROFILE}", "spec.passEnv", `expected a list, got the string "AWS_PROFILE"`},
		{"mapping wanted", "spec: {target: none}", "spec.target", `expected a mapping, got the string "none"`},
		{"quoted integer", `spec: {cycles: "2"}`, "spec.cycles", `expected an integer, got the string "2"`},
		{"float integer", "spec: {cycles: 2.5}", "spec.cycles", "expected an integer, got the number 2.5"},
		{"huge integer", "spec: {cycles: 99999999999999999999}", "spec.cycles", "must be at most 100, got 99999999999999999999"},
		{"bool wanted", "spec: {target: {terraform: {idempotent: maybe}}}", "spec.target.terraform.idempotent", `expected true or false, got the string "maybe"`},
		{"negative duration", "spec: {budget: -5m}", "spec.budget", `invalid duration "-5m": must not be negative`},
		{"duration mapping", "spec: {budget: {m: 5}}", "spec.budget", "expected a duration like 30s, 5m or 1h30m, got a mapping"},
		{"env value list", "spec: {env: {A: [1]}}", "spec.env.A", "expected a string, got a list"},
		{"label key path", `metadata: {labels: {"a.b/c": [x]}}`, `metadata.labels["a.b/c"]`, "expected a string, got a list"},
		{"non-scalar key", "spec: {env: {[a]: b}}", "spec.env", "a mapping key must be a name, got a list"},
		{"bad merge", "spec: {env: {<<: x}}", "spec.env", `a merge key (<<) takes a mapping or a list of mappings, got the string "x"`},
		{"case typo", "spec: {passenv: [A]}", "spec.passenv", `unknown field "passenv" (did you mean "passEnv"?)`},
		{"target vars expand", `spec: {target: {terraform: {vars: {port: "${P"}}}}`, "spec.target.terraform.vars.port", "unterminated ${ at offset 0"},
		{"reserved env", "spec: {env: {DRILL_RUN_ID: x}}", "spec.env.DRILL_RUN_ID", `variable name "DRILL_RUN_ID" is reserved`},
		{"bad env name", `spec: {env: {"A-B": x}}`, "spec.env.A-B", `invalid variable name "A-B"`},
		{"http method", "spec: {steps: [{name: a, http: {url: 'http://x/', method: get}}]}", "spec.steps[0].http.method", `unsupported method "get"`},
		{"http url", "spec: {steps: [{name: a, http: {url: 'localhost:80'}}]}", "spec.steps[0].http.url", "want an absolute http:// or https:// URL"},
		{"wait resource", "spec: {steps: [{name: a, wait: {resources: [web]}}]}", "spec.steps[0].wait.resources[0]", `invalid resource "web": want kind/name`},
		{"empty run", `spec: {steps: [{name: a, run: " "}]}`, "spec.steps[0].run", "the script is empty"},
		{"null run", `spec: {steps: [{name: a, run: }]}`, "spec.steps[0].run", "the script is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := "apiVersion: drill/v1\nkind: Scenario\n" + tt.yaml + "\n"
			_, err := Parse("t.yaml", []byte(data))
			le, ok := errors.AsType[*LoadError](err)
			require.True(t, ok, "got %v", err)
			var found bool
			for _, p := range le.Problems {
				if p.Field == tt.field {
					found = true
					assert.Contains(t, p.Message, tt.msg)
					assert.Equal(t, 3, p.Line, "every case is on line 3")
				}
			}
			assert.True(t, found, "no problem for %s in:\n%v", tt.field, err)
		})
	}
}

func TestParseAcceptsVariants(t *testing.T) {
	base := "apiVersion: drill/v1\nkind: Scenario\nmetadata: {name: v}\nspec:\n  target: {none: {}}\n"
	tests := []struct {
		name  string
		steps string
		check func(t *testing.T, s *Scenario)
	}{
		{"scalar env values are kept as written", "  env: {PORT: 08080, ON: true}\n  steps: [{name: a, run: x}]",
			func(t *testing.T, s *Scenario) {
				assert.Equal(t, map[string]string{"PORT": "08080", "ON": "true"}, s.Spec.Env)
			}},
		{"manual false is not manual", "  steps: [{name: a, run: x, manual: false}]",
			func(t *testing.T, s *Scenario) { assert.Empty(t, s.Spec.Steps[0].Manual) }},
		{"manual with an action", "  steps: [{name: a, run: x, manual: check the output}]",
			func(t *testing.T, s *Scenario) {
				assert.Equal(t, "check the output", s.Spec.Steps[0].Manual)
				assert.Equal(t, "x", *s.Spec.Steps[0].Run)
			}},
		{"days in durations", "  freshness: 1d12h\n  steps: [{name: a, run: x}]",
			func(t *testing.T, s *Scenario) { assert.Equal(t, 36*time.Hour, s.Spec.Freshness.D()) }},
		{"none target written as null", "  steps: [{name: a, run: x}]\n  target: {none: }",
			func(t *testing.T, s *Scenario) { assert.NotNil(t, s.Spec.Target.None) }},
		{"expansion escapes pass validation", "  steps: [{name: a, http: {url: \"http://h/$${X}\"}}]",
			func(t *testing.T, s *Scenario) { assert.Equal(t, "http://h/$${X}", s.Spec.Steps[0].HTTP.URL) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := base + tt.steps + "\n"
			if strings.Contains(tt.steps, "target:") {
				data = strings.Replace(base, "  target: {none: {}}\n", "", 1) + tt.steps + "\n"
			}
			s, err := Parse("t.yaml", []byte(data))
			require.NoError(t, err)
			tt.check(t, s)
		})
	}
}

func TestValidateScenarioBuiltInGo(t *testing.T) {
	s := &Scenario{
		Metadata: Metadata{Name: "go-built"},
		Spec: Spec{
			Target: Target{None: &NoneTarget{}},
			Steps:  []Step{{Name: "a", Run: ptr("true")}},
		},
	}
	require.NoError(t, s.Validate())
	s.ApplyDefaults()
	require.NoError(t, s.Validate(), "defaults keep a scenario valid")

	s.Spec.Cycles = -1
	s.Spec.Steps = append(s.Spec.Steps, Step{Name: "a", Run: ptr("true"), HTTP: &HTTPAction{URL: "http://x/"}})
	err := s.Validate()
	le, ok := errors.AsType[*LoadError](err)
	require.True(t, ok, "got %v", err)
	var fields []string
	for _, p := range le.Problems {
		fields = append(fields, p.Field)
		assert.Zero(t, p.Line, "no file, no position")
	}
	assert.Equal(t, []string{"spec.cycles", "spec.steps[1].name", "spec.steps[1].http"}, fields)
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/valid-full.yaml")
	require.NoError(b, err)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("testdata/valid-full.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
