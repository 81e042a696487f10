package kube_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/internal/kube"
)

// target is a drills.Target that may have a namespace of its own.
type target struct{ drills.Target }

type namespaced struct {
	target
	ns string
}

func (n namespaced) DefaultNamespace() string { return n.ns }

func (target) Name() string                                 { return "fake" }
func (target) Provision(context.Context, *drills.Env) error { return nil }
func (target) Destroy(context.Context, *drills.Env) error   { return nil }

func TestNamespace(t *testing.T) {
	tests := []struct {
		name   string
		target drills.Target
		named  string
		want   string
	}{
		{"named wins", namespaced{ns: "drill-web-abc-c1"}, "web", "web"},
		{"the target's", namespaced{ns: "drill-web-abc-c1"}, "", "drill-web-abc-c1"},
		{"a target without one", target{}, "", "default"},
		{"a target whose namespace is empty", namespaced{}, "", "default"},
		{"no target", nil, "", "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, kube.Namespace(&drills.Env{Target: tt.target}, tt.named))
		})
	}
}

func TestRunLabels(t *testing.T) {
	assert.Equal(t, map[string]string{
		"drill.redeploy.dev/run": "20261127T071500Z-3f9a1c", "drill.redeploy.dev/scenario": "web", "drill.redeploy.dev/cycle": "2",
	}, kube.RunLabels(&drills.Env{RunID: "20261127T071500Z-3f9a1c", Scenario: "web", Cycle: 2}))
	assert.Empty(t, kube.RunLabels(&drills.Env{}), "outside a run: no labels")
}
