package scenarios

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The loadImages step action: its shape, its images and its target. Lines
// count from the top of the file parseProblems writes (spec: is line 4).
func TestLoadImagesValidation(t *testing.T) {
	const kindTarget = "  target: {kind: {}}\n"
	const undef = "is not defined: set it in spec.env, spec.passEnv or spec.secrets"
	tests := []struct {
		name, spec string
		want       []want
	}{
		{"valid, with variables", "  env: {TAG: dev}\n" + kindTarget +
			`  steps: [{name: a, loadImages: ["hello:${TAG}", "db:${DRILL_RUN_ID}", "reg.local:5000/team/api@sha256:0123"]}]`, nil},
		{"terraform target", "  target: {terraform: {}}\n  steps:\n    - name: a\n      loadImages: [hello:dev]",
			[]want{{8, 7, "spec.steps[0].loadImages", "loadImages needs a kind target"}}},
		{"none target, in teardown too", "  target: {none: {}}\n  steps: [{name: a, run: x}]\n  teardown:\n    - name: t\n      loadImages: [hello:dev]",
			[]want{{9, 7, "spec.teardown[0].loadImages", "loadImages needs a kind target"}}},
		{"no target: only the target is reported", "  steps: [{name: a, loadImages: [hello:dev]}]",
			[]want{{4, 1, "spec.target", "required field is missing"}}},
		{"empty list", kindTarget + "  steps: [{name: a, loadImages: []}]",
			[]want{{6, 33, "spec.steps[0].loadImages", "at least one image is required, like [hello:dev]"}}},
		{"null", kindTarget + "  steps:\n    - name: a\n      loadImages:",
			[]want{{8, 18, "spec.steps[0].loadImages", "at least one image is required"}}},
		{"empty and blank items", kindTarget + `  steps: [{name: a, loadImages: [hello:dev, "", " "]}]`,
			[]want{
				{6, 45, "spec.steps[0].loadImages[1]", "must not be empty"},
				{6, 49, "spec.steps[0].loadImages[2]", "must not be empty"},
			}},
		{"not a reference docker takes", kindTarget + `  steps: [{name: a, loadImages: ["-o", "hello dev"]}]`,
			[]want{
				{6, 34, "spec.steps[0].loadImages[0]", `invalid image reference "-o": want a name as docker images shows it`},
				{6, 40, "spec.steps[0].loadImages[1]", `invalid image reference "hello dev"`},
			}},
		{"undefined variable", kindTarget + `  steps: [{name: a, loadImages: ["hello:${TAG}"]}]`,
			[]want{{6, 34, "spec.steps[0].loadImages[0]", "${TAG} " + undef}}},
		{"target outputs are fine in a step", kindTarget + `  steps: [{name: a, loadImages: ["hello:${DRILL_OUTPUT_CLUSTER}"]}]`, nil},
		{"a string, not a list", kindTarget + "  steps: [{name: a, loadImages: hello:dev}]",
			[]want{{6, 33, "spec.steps[0].loadImages", `expected a list, got the string "hello:dev"`}}},
		{"a second action", kindTarget + "  steps: [{name: a, run: make, loadImages: [hello:dev]}]",
			[]want{{6, 32, "spec.steps[0].loadImages", "a step has exactly one action (run, http, apply, wait, helm or loadImages), and this one already has run"}}},
		{"a typo is not also a step without action", kindTarget + "  steps: [{name: a, loadImage: [hello:dev]}]",
			[]want{{6, 21, "spec.steps[0].loadImage", `unknown field "loadImage" (did you mean "loadImages"?)`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []want
			for i, p := range parseProblems(t, tt.spec, env(nil)) {
				w := want{p.Line, p.Column, p.Field, p.Message}
				if i < len(tt.want) && strings.HasPrefix(p.Message, tt.want[i].msg) {
					w.msg = tt.want[i].msg
				}
				got = append(got, w)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// Validate, on a scenario built in Go, checks loadImages the same way; with
// no file, a nil list is no action and an empty one is an empty action.
func TestValidateLoadImagesBuiltInGo(t *testing.T) {
	s := &Scenario{
		Metadata: Metadata{Name: "go-built"},
		Spec: Spec{
			Target: Target{Kind: &KindTarget{}},
			Steps:  []Step{{Name: "a", LoadImages: []string{"hello:dev"}}},
		},
	}
	require.NoError(t, s.Validate())

	s.Spec.Target = Target{None: &NoneTarget{}}
	s.Spec.Steps = append(s.Spec.Steps, Step{Name: "b", LoadImages: []string{}})
	err := s.Validate()
	le, ok := errors.AsType[*LoadError](err)
	require.True(t, ok, "got %v", err)
	var got []string
	for _, p := range le.Problems {
		got = append(got, p.Field+": "+p.Message)
	}
	assert.Equal(t, []string{
		"spec.steps[0].loadImages: loadImages needs a kind target: it loads images into the nodes of the cycle's kind cluster",
		"spec.steps[1].loadImages: loadImages needs a kind target: it loads images into the nodes of the cycle's kind cluster",
		"spec.steps[1].loadImages: at least one image is required, like [hello:dev]",
	}, got)
}
