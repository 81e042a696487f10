// Package loadimages is the loadImages action of a drill: it loads local
// Docker images, typically built from the cycle's source by an earlier step,
// into the cluster of the cycle's target, so that pods run them with no
// registry in between. The work is the target's (drills.ImageLoader, which
// the kind target implements with kind's own loader); this package only
// finds it, so the runner and the planner stay free of kind code.
package loadimages

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redeploy-drill/drill/drills"
)

// ErrNoImageLoader is returned when the cycle's target cannot load images.
// Validation refuses such scenarios ("loadImages needs a kind target"), so
// this is reached only by a plan built in Go.
var ErrNoImageLoader = errors.New("loadImages needs a kind target")

// Step loads images into the cluster of the cycle's target.
type Step struct {
	images []string
}

var _ drills.Step = (*Step)(nil)

// New returns a step that loads images (references such as hello:dev, as
// the local Docker engine names them), already expanded.
func New(images []string) *Step {
	return &Step{images: append([]string(nil), images...)}
}

// Run loads the images through env.Target. It fails when there is nothing to
// load, or when the target is not a drills.ImageLoader (ErrNoImageLoader).
func (s *Step) Run(ctx context.Context, env *drills.Env) error {
	if len(s.images) == 0 {
		return errors.New("loadImages: no images to load")
	}
	l, ok := env.Target.(drills.ImageLoader)
	if !ok {
		name := "none"
		if env.Target != nil {
			name = env.Target.Name()
		}
		return fmt.Errorf("%w, and this cycle's target is %s", ErrNoImageLoader, name)
	}
	fmt.Fprintf(env.Output(), "loadImages: %s\n", strings.Join(s.images, ", "))
	return l.LoadImages(ctx, env, s.images)
}
