// Package none is the target of a scenario whose steps bring up the whole
// stack themselves: it provisions and destroys nothing.
package none

import (
	"context"

	"github.com/redeploy-drill/drill/drills"
)

// Target provisions nothing.
type Target struct{}

var _ drills.Target = Target{}

// Name returns "none".
func (Target) Name() string { return "none" }

// Provision does nothing.
func (Target) Provision(context.Context, *drills.Env) error { return nil }

// Destroy does nothing.
func (Target) Destroy(context.Context, *drills.Env) error { return nil }
