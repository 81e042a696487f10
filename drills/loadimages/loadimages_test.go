package loadimages_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/loadimages"
	"github.com/redeploy-drill/drill/drills/none"
)

// loader is a target that records what it was asked to load.
type loader struct {
	none.Target
	loaded [][]string
	err    error
}

func (l *loader) LoadImages(_ context.Context, _ *drills.Env, images []string) error {
	l.loaded = append(l.loaded, images)
	return l.err
}

func TestRunLoadsThroughTheTarget(t *testing.T) {
	l := &loader{}
	images := []string{"hello:dev", "db:dev"}
	step := loadimages.New(images)
	images[0] = "changed" // New keeps its own copy
	require.NoError(t, step.Run(context.Background(), &drills.Env{Target: l}))
	assert.Equal(t, [][]string{{"hello:dev", "db:dev"}}, l.loaded)
}

func TestRunReturnsTheTargetsError(t *testing.T) {
	boom := errors.New("docker save failed")
	l := &loader{err: boom}
	err := loadimages.New([]string{"hello:dev"}).Run(context.Background(), &drills.Env{Target: l})
	require.ErrorIs(t, err, boom)
}

func TestRunRefuses(t *testing.T) {
	tests := []struct {
		name   string
		images []string
		target drills.Target
		want   error
		msg    string
	}{
		{"a target that cannot load images", []string{"hello:dev"}, none.Target{}, loadimages.ErrNoImageLoader, "loadImages needs a kind target, and this cycle's target is none"},
		{"no target at all", []string{"hello:dev"}, nil, loadimages.ErrNoImageLoader, "this cycle's target is none"},
		{"no images", nil, &loader{}, nil, "no images to load"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := loadimages.New(tt.images).Run(context.Background(), &drills.Env{Target: tt.target})
			require.Error(t, err)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			}
			assert.Contains(t, err.Error(), tt.msg)
			if l, ok := tt.target.(*loader); ok {
				assert.Empty(t, l.loaded, "nothing is loaded")
			}
		})
	}
}
