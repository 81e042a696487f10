package kind

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// checkImages fails when an image to load is not in the local Docker engine,
// before a cluster is created for nothing.
func checkImages(ctx context.Context, images []string) error {
	var missing []string
	for _, img := range images {
		if err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", img).Run(); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("check images to load: %w", context.Cause(ctx))
			}
			missing = append(missing, img)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("images to load into the kind cluster are not in the local Docker engine: %s (build them first)", strings.Join(missing, ", "))
	}
	return nil
}

// load saves the images once with `docker save` and imports the archive into
// containerd on every node, concurrently; this is what `kind load
// docker-image` does on a new cluster, through the same library function.
// It returns the number of nodes.
func (t *Target) load(ctx context.Context, provider *cluster.Provider) (int, error) {
	nodeList, err := provider.ListInternalNodes(t.cluster)
	if err != nil {
		return 0, fmt.Errorf("load images into kind cluster %s: list nodes: %w", t.cluster, err)
	}
	if len(nodeList) == 0 {
		return 0, fmt.Errorf("load images into kind cluster %s: no nodes", t.cluster)
	}
	dir, err := os.MkdirTemp("", "drill-images-")
	if err != nil {
		return 0, fmt.Errorf("load images into kind cluster %s: %w", t.cluster, err)
	}
	defer os.RemoveAll(dir)
	archive := filepath.Join(dir, "images.tar")
	args := append([]string{"save", "-o", archive}, t.loadImages...)
	if out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("docker save: %w", context.Cause(ctx))
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
