package compose

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/redeploy-drill/drill/drills"
)

// ProjectLabel is the label docker compose puts on every container, network
// and volume of a project (and on the images BuildKit builds for it). It is
// how drill finds what a project left without its compose files.
const ProjectLabel = "com.docker.compose.project"

// resource is one Docker object of a project.
type resource struct {
	kind string // container, network, volume, image
	// ref is what `docker <kind> rm` takes: an ID, a volume name, or an
	// image's repository:tag (removing the tag, not an image another tag
	// still names).
	ref  string
	name string // for humans
}

func (r resource) String() string {
	if r.name == "" || r.name == r.ref {
		return r.kind + " " + r.ref
	}
	return fmt.Sprintf("%s %s (%s)", r.kind, r.name, short(r.ref))
}

// short shortens a Docker ID the way docker ps does.
func short(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 && !strings.ContainsAny(id, ":/") {
		return id[:12]
	}
	return id
}

// project is what drill knows of a Compose project without its files: its
// name and the names of the images its services build.
type project struct {
	name   string
	images []string
}

// resources lists, with the plain docker CLI (no compose plugin, no compose
// file), what of the project exists: containers, networks and volumes
// carrying its label, images carrying it, and the images its services
// build, found by name (the classic builder labels none of them). Every
// list is read through docker's JSON templates, never its tables.
func resources(ctx context.Context, env *drills.Env, p project) ([]resource, error) {
	filter := "label=" + ProjectLabel + "=" + p.name
	var out []resource

	type dockerObject struct {
		ID, Names, Name, Repository, Tag string
	}
	list := func(kind string, args ...string) ([]dockerObject, error) {
		b, err := output(ctx, env, "", append(args, "--format", "{{json .}}")...)
		if err != nil {
			return nil, fmt.Errorf("list the %ss of compose project %s: %w", kind, p.name, err)
		}
		return decodeLines[dockerObject](b)
	}

	containers, err := list("container", "ps", "--all", "--no-trunc", "--filter", filter)
	if err != nil {
		return nil, err
	}
	for _, c := range containers {
		out = append(out, resource{kind: "container", ref: c.ID, name: c.Names})
	}
	networks, err := list("network", "network", "ls", "--no-trunc", "--filter", filter)
	if err != nil {
		return nil, err
	}
	for _, n := range networks {
		out = append(out, resource{kind: "network", ref: n.ID, name: n.Name})
	}
	volumes, err := list("volume", "volume", "ls", "--filter", filter)
	if err != nil {
		return nil, err
	}
	for _, v := range volumes {
		out = append(out, resource{kind: "volume", ref: v.Name})
	}

	args := []string{"image", "ls", "--no-trunc", "--filter", filter}
	images, err := list("image", args...)
	if err != nil {
		return nil, err
	}
	if len(p.images) > 0 {
		args = []string{"image", "ls", "--no-trunc"}
		for _, name := range p.images {
			args = append(args, "--filter", "reference="+name)
		}
		named, err := list("image", args...)
		if err != nil {
			return nil, err
		}
		images = append(images, named...)
	}
	seen := map[string]bool{}
	for _, img := range images {
		r := resource{kind: "image", ref: img.ID, name: "<untagged>"}
		if img.Repository != "" && img.Repository != "<none>" {
			tag := img.Tag
			if tag == "" || tag == "<none>" {
				tag = "latest"
			}
			r.ref = img.Repository + ":" + tag
			r.name = r.ref
		}
		if !seen[r.ref] {
			seen[r.ref] = true
			out = append(out, r)
		}
	}
	return out, nil
}

// decodeLines reads the JSON Lines docker's --format '{{json .}}' prints
// (and a JSON array, which `docker compose ps --format json` printed before
// compose v2.21).
func decodeLines[T any](b []byte) ([]T, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, nil
	}
	if b[0] == '[' {
		var list []T
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("decode docker's JSON: %w", err)
		}
		return list, nil
	}
	var list []T
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var v T
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return list, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode docker's JSON: %w", err)
		}
		list = append(list, v)
	}
}

// removeResources removes what resources found, containers first (they
// hold the networks, volumes and images), and returns what could not be
// removed. Nothing there is success.
func removeResources(ctx context.Context, env *drills.Env, p project) error {
	found, err := resources(ctx, env, p)
	if err != nil {
		return err
	}
	var errs []error
	for _, kind := range []string{"container", "network", "volume", "image"} {
		var refs []string
		for _, r := range found {
			if r.kind == kind {
				refs = append(refs, r.ref)
			}
		}
		if len(refs) == 0 {
			continue
		}
		var args []string
		switch kind {
		case "container":
			args = []string{"rm", "--force", "--volumes"}
		case "network":
			args = []string{"network", "rm"}
		case "volume":
			args = []string{"volume", "rm", "--force"}
		case "image":
			args = []string{"image", "rm", "--force"}
		}
		slices.Sort(refs)
		if err := docker(ctx, env, command{args: append(args, refs...)}); err != nil {
			errs = append(errs, fmt.Errorf("remove the %ss of compose project %s: %w", kind, p.name, err))
		}
	}
	return errors.Join(errs...)
}

// describe renders resources for a leftover list.
func describe(rs []resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}
