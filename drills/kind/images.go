package kind

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/redeploy-drill/drill/drills"
)

// MissingImagesError names the images to load that are not in the local
// Docker engine, and how to get them there.
type MissingImagesError struct {
	Images []string
	Hint   string
}

func (e *MissingImagesError) Error() string {
	what := "image " + e.Images[0] + " is"
	if len(e.Images) > 1 {
		what = "images " + strings.Join(e.Images, ", ") + " are"
	}
	msg := what + " not in the local Docker engine"
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

// Hints of a MissingImagesError: the target's loadImages runs before any
// step, the loadImages action after the steps before it.
const (
	hintTargetImages = "build before the drill (docker build --tag NAME ...): the target's loadImages runs before any step; to build from the cycle's source, use a loadImages step after the build step"
	hintActionImages = "build in an earlier step of the cycle, from its copy of the source (run: docker build --tag NAME ...)"
)

// LoadImages implements drills.ImageLoader, for the loadImages action: it
// loads local Docker images into every node of the cycle's cluster, the way
// `kind load docker-image` does, with the same code as WithLoadImages. An
// image that is not in the local engine fails before anything is saved;
// Docker not usable is a *drills.ToolMissingError.
func (t *Target) LoadImages(ctx context.Context, env *drills.Env, images []string) error {
	if err := CheckDocker(ctx); err != nil {
		return err
	}
	images = dedup(images)
	if err := checkImages(ctx, images, hintActionImages); err != nil {
		return err
	}
	start := time.Now()
	n, err := t.load(ctx, env, t.provider(env), images)
	if err != nil {
		return err
	}
	t.phase(env, "load", start, "loaded %s into %d node(s)", strings.Join(images, ", "), n)
	return nil
}

// dedup drops repeated images, keeping the first of each, as kind's CLI does.
func dedup(images []string) []string {
	out := make([]string, 0, len(images))
	for _, img := range images {
		if !slices.Contains(out, img) {
			out = append(out, img)
		}
	}
	return out
}

// checkImages fails with a *MissingImagesError when an image to load is not
// in the local Docker engine, before a cluster is created or an archive is
// written for nothing. The caller checked that Docker answers, so a failed
// inspect means the image is missing.
func checkImages(ctx context.Context, images []string, hint string) error {
	var missing []string
	for _, img := range images {
		if strings.TrimSpace(img) == "" || strings.HasPrefix(img, "-") {
			return fmt.Errorf("invalid image reference %q to load into the kind cluster", img)
		}
		if err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", "--", img).Run(); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("check images to load: %w", context.Cause(ctx))
			}
			missing = append(missing, img)
		}
	}
	if len(missing) > 0 {
		return &MissingImagesError{Images: missing, Hint: hint}
	}
	return nil
}

// load saves the images once with `docker save` and imports the archive into
// containerd on every node, concurrently; this is what `kind load
// docker-image` does on a new cluster, through the same library function.
// It returns the number of nodes.
//
// The archive lives in the cycle's workdir when there is one, not in the
// system's temporary folder: an image can be large and /tmp is often a small
// tmpfs, and if drill is killed while loading, the archive goes with the
// workdir (drill gc) instead of staying in /tmp for good.
func (t *Target) load(ctx context.Context, env *drills.Env, provider *cluster.Provider, images []string) (int, error) {
	nodeList, err := provider.ListInternalNodes(t.cluster)
	if err != nil {
		return 0, fmt.Errorf("load images into kind cluster %s: list nodes: %w", t.cluster, err)
	}
	if len(nodeList) == 0 {
		return 0, fmt.Errorf("load images into kind cluster %s: no nodes (is the cluster provisioned?)", t.cluster)
	}
	dir, err := os.MkdirTemp(env.Workdir, "drill-images-")
	if err != nil {
		return 0, fmt.Errorf("load images into kind cluster %s: %w", t.cluster, err)
	}
	defer os.RemoveAll(dir)
	archive := filepath.Join(dir, "images.tar")
	args := append([]string{"save", "--output", archive, "--"}, images...)
	if out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("load images into kind cluster %s: docker save: %w", t.cluster, context.Cause(ctx))
		}
		return 0, fmt.Errorf("load images into kind cluster %s: docker save: %w: %s", t.cluster, err, strings.TrimSpace(string(out)))
	}

	errs := make(chan error, len(nodeList))
	for _, n := range nodeList {
		go func() {
			f, err := os.Open(archive)
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			// The import takes no context; a reader that fails once ctx ends
			// makes it stop at the next read.
			if err := nodeutils.LoadImageArchive(n, ctxReader{ctx: ctx, r: f}); err != nil {
				errs <- fmt.Errorf("node %s: %w", n, err)
				return
			}
			errs <- nil
		}()
	}
	var failed []string
	for range nodeList {
		if err := <-errs; err != nil {
			failed = append(failed, err.Error())
		}
	}
	if ctx.Err() != nil {
		return 0, fmt.Errorf("load images into kind cluster %s: %w", t.cluster, context.Cause(ctx))
	}
	if len(failed) > 0 {
		return 0, fmt.Errorf("load images into kind cluster %s: %s", t.cluster, strings.Join(failed, "; "))
	}
	return len(nodeList), nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := context.Cause(c.ctx); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
