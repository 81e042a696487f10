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
	"time"

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
// name, the names of the images its services build, and since when images
// of those names can be the project's.
type project struct {
	name   string
	images []string
	// since is when the run began creating the project, before `docker
	// compose up`; zero when it has not (the from-scratch check) or is not
	// known: then no image is the project's by its name alone.
	since time.Time
}

// imageRef is an image name with its tag: the name as written, with
// ":latest" when it names no tag (or digest), as docker resolves it. The
// tag is looked for after the last "/", so that a registry's port is not
// taken for one.
func imageRef(name string) string {
	if strings.Contains(name, "@") || strings.Contains(name[strings.LastIndex(name, "/")+1:], ":") {
		return name
	}
	return name + ":latest"
}

// resources lists, with the plain docker CLI (no compose plugin, no compose
// file), what of the project exists: containers, networks and volumes
// carrying its label, images carrying it, and the images its services
// build, found by their exact name:tag (the classic builder labels none of
// them), never another tag of the same repository. An image named after
// the project (<project>-<service>, compose's name when the file names
// none) is the project's as its label would make it; one the compose file
// names otherwise (image: myapp) only when it was created since p.since,
// so that an image of that name made before the run (the user's, or one
// the service merely runs when it is not rebuilt) is never listed. Every
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

	images, err := list("image", "image", "ls", "--no-trunc", "--filter", filter)
	if err != nil {
		return nil, err
	}
	// Images by name: those named after the project are its own, like
	// what carries its label; those the compose file names otherwise only
	// when made since the run began.
	var own, other []string
	for _, name := range p.images {
		if ref := imageRef(name); strings.HasPrefix(ref, p.name+"-") {
			own = append(own, ref)
		} else if !p.since.IsZero() {
			other = append(other, ref)
		}
	}
	byName := func(refs []string) ([]dockerObject, error) {
		if len(refs) == 0 {
			return nil, nil
		}
		args := []string{"image", "ls", "--no-trunc"}
		for _, ref := range refs {
			args = append(args, "--filter", "reference="+ref)
		}
		return list("image", args...)
	}
	named, err := byName(own)
	if err != nil {
		return nil, err
	}
	images = append(images, named...)
	if named, err = byName(other); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(named))
	for _, img := range named {
		ids = append(ids, img.ID)
	}
	made, err := createdSince(ctx, env, p, ids)
	if err != nil {
		return nil, err
	}
	for _, img := range named {
		if made[img.ID] {
			images = append(images, img)
		}
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

// createdSince tells which of the images ids are the project's, from
// `docker image inspect`: those carrying its label, and those created
// since p.since. The creation time is by the engine's clock, p.since by
// drill's: an engine whose clock runs behind makes a label-less image the
// run built look older than the run, and it is left; one whose clock runs
// ahead makes an image built just before the run look like the run's.
func createdSince(ctx context.Context, env *drills.Env, p project, ids []string) (map[string]bool, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) == 0 {
		return nil, nil
	}
	b, err := output(ctx, env, "", append([]string{"image", "inspect", "--format", "{{json .}}"}, ids...)...)
	if err != nil {
		return nil, fmt.Errorf("inspect the images named like those of compose project %s: %w", p.name, err)
	}
	type inspected struct {
		ID      string `json:"Id"`
		Created time.Time
		Config  struct{ Labels map[string]string }
	}
	list, err := decodeLines[inspected](b)
	if err != nil {
		return nil, err
	}
	made := map[string]bool{}
	for _, img := range list {
		made[img.ID] = img.Config.Labels[ProjectLabel] == p.name || !img.Created.Before(p.since)
	}
	return made, nil
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
