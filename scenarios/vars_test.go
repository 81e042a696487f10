package scenarios

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// env is a fake environment drill runs in, for WithLookupEnv.
func env(vars map[string]string) LoadOption {
	return WithLookupEnv(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
}

// Every field drill expands at run time is checked, each on its own line so
// the position is exact.
func TestUndefinedVariables(t *testing.T) {
	const undef = "is not defined: set it in spec.env, spec.passEnv or spec.secrets"
	tests := []struct {
		name, spec string
		want       []want
	}{
		{"http url (the message of the contract)", `  env: {APP_PORT: "80"}
  target: {none: {}}
  steps:
    - name: a
      run: x
    - name: b
      run: y
    - name: c
      http: {url: "http://h:${APP_PROT}/"}`,
			[]want{{13, 19, "spec.steps[2].http.url", "${APP_PROT} is not defined: set it in spec.env, spec.passEnv or spec.secrets (did you mean ${APP_PORT}?)"}}},
		{"http body and headers", `  target: {none: {}}
  steps:
    - name: a
      http:
        url: "http://h/"
        body: "^${VERSION}$"
        headers: {Authorization: "Bearer ${TOKEN}", X-Both: "${A}${B}"}`,
			[]want{
				{10, 15, "spec.steps[0].http.body", "${VERSION} " + undef},
				{11, 34, "spec.steps[0].http.headers.Authorization", "${TOKEN} " + undef},
				{11, 61, "spec.steps[0].http.headers.X-Both", "${A} " + undef},
				{11, 61, "spec.steps[0].http.headers.X-Both", "${B} " + undef},
			}},
		{"apply and wait", `  target: {kind: {}}
  steps:
    - name: a
      apply: {path: "k8s/${ENVIRONMENT}", namespace: "${NS}"}
    - name: b
      wait: {resources: ["deployment/${APP}"], namespace: "${NS}"}`,
			[]want{
				{8, 21, "spec.steps[0].apply.path", "${ENVIRONMENT} " + undef},
				{8, 54, "spec.steps[0].apply.namespace", "${NS} " + undef},
				{10, 26, "spec.steps[1].wait.resources[0]", "${APP} " + undef},
				{10, 59, "spec.steps[1].wait.namespace", "${NS} " + undef},
			}},
		{"terraform target", `  target:
    terraform:
      dir: "${STACK}"
      vars: {port: "${PORT}", host: "${DRILL_OUTPUT_HOST}"}
      varFiles: ["${ENV}.tfvars"]
  steps: [{name: a, run: x}]`,
			[]want{
				{7, 12, "spec.target.terraform.dir", "${STACK} " + undef},
				{8, 20, "spec.target.terraform.vars.port", "${PORT} " + undef},
				{8, 37, "spec.target.terraform.vars.host", "${DRILL_OUTPUT_HOST} is not defined here: target outputs (DRILL_OUTPUT_<NAME>) exist only after provision, so spec.target fields cannot use them"},
				{9, 18, "spec.target.terraform.varFiles[0]", "${ENV} " + undef},
			}},
		{"kind target", `  target:
    kind: {nodeImage: "kindest/node:${K8S}", config: "${DRILL_OUTPUT_CFG}"}
  steps: [{name: a, run: x}]`,
			[]want{
				{6, 23, "spec.target.kind.nodeImage", "${K8S} " + undef},
				{6, 54, "spec.target.kind.config", "${DRILL_OUTPUT_CFG} is not defined here"},
			}},
		{"a DRILL_ name drill does not set", `  target: {none: {}}
  steps: [{name: a, http: {url: "http://h/${DRILL_WORKDI}"}}]`,
			[]want{{6, 33, "spec.steps[0].http.url", "${DRILL_WORKDI} is not defined: drill sets DRILL_RUN_ID, DRILL_SCENARIO, DRILL_CYCLE, DRILL_WORKDIR, DRILL_RESULTS_DIR and DRILL_OUTPUT_<NAME> (target outputs); any other DRILL_* variable must be set in the environment drill runs in"}}},
		{"KUBECONFIG is the kind target's only", `  target: {none: {}}
  steps: [{name: a, apply: {path: "${KUBECONFIG}"}}]`,
			[]want{{6, 35, "spec.steps[0].apply.path", "${KUBECONFIG} " + undef}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProblems(t, tt.spec, env(nil))
			var gotWant []want
			for i, p := range got {
				w := want{p.Line, p.Column, p.Field, p.Message}
				if i < len(tt.want) && strings.HasPrefix(p.Message, tt.want[i].msg) {
					w.msg = tt.want[i].msg
				}
				gotWant = append(gotWant, w)
			}
			assert.Equal(t, tt.want, gotWant)
		})
	}
}

func TestDefinedVariables(t *testing.T) {
	spec := `  env: {APP_PORT: "80"}
  passEnv: [PROXY_HOST]
  secrets: [{name: TOKEN, fromEnv: HOST_TOKEN}]
  target:
    terraform:
      dir: "stacks/${DRILL_SCENARIO}"
      vars:
        port: "${APP_PORT}"
        run: "${DRILL_RUN_ID}-${DRILL_CYCLE}"
        where: "${DRILL_WORKDIR}/${DRILL_RESULTS_DIR}"
        home: "${HOME}${PATH}${TMPDIR}${LANG}"
        image: "${DRILL_KIND_NODE_IMAGE}"
  steps:
    - name: a
      http:
        url: "http://${DRILL_OUTPUT_HOST}:${APP_PORT}/$${NOT_A_REFERENCE}"
        headers: {Authorization: "Bearer ${TOKEN}", Via: "${PROXY_HOST}"}
    - name: script
      run: echo "${ANYTHING} is bash's to expand"
`
	lookup := env(map[string]string{"DRILL_KIND_NODE_IMAGE": "kindest/node:v1"})
	assert.Empty(t, parseProblems(t, spec, lookup))

	got := parseProblems(t, spec, env(nil))
	require.Len(t, got, 1, "without it in the environment, DRILL_KIND_NODE_IMAGE is not defined: %v", got)
	assert.Equal(t, "spec.target.terraform.vars.image", got[0].Field)

	kind := `  target: {kind: {}}
  steps: [{name: a, apply: {path: "${KUBECONFIG}"}}]`
	assert.Empty(t, parseProblems(t, kind, env(nil)), "a kind target sets KUBECONFIG for steps")
}

// Validate checks variables too, with the same option.
func TestValidateUndefinedVariable(t *testing.T) {
	s := &Scenario{
		Metadata: Metadata{Name: "go-built"},
		Spec: Spec{
			Target: Target{None: &NoneTarget{}},
			Steps:  []Step{{Name: "a", HTTP: &HTTPAction{URL: "http://${DRILL_HOST}/"}}},
		},
	}
	err := s.Validate(env(nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "spec.steps[0].http.url: ${DRILL_HOST} is not defined")
	assert.NoError(t, s.Validate(env(map[string]string{"DRILL_HOST": "h"})))
}
