// Package compose is the Compose target of a drill: a Docker Compose
// project brought up from the cycle's copy of the source with `docker
// compose up -d --wait` (building the services' images with --build) and
// taken down at the end of the cycle with `down --volumes --remove-orphans`,
// the images it built removed as well.
//
// It runs the Compose v2 CLI plugin (`docker compose`) the way the
// terraform target runs terraform: a process with the step environment and
// an empty stdin, its human output into the step log, stopped like an
// operator's Ctrl-C when the step is canceled. What drill reads, it reads
// from machine-readable output: `docker compose config --format json`,
// `docker compose ps --format json`, `docker inspect`, and docker's
// `--format '{{json .}}'` lists.
//
// Everything a project creates carries the label com.docker.compose.project
// (images too when BuildKit builds them); images the classic builder makes
// carry no label, so drill also knows them by their exact name:tag, from
// the resolved configuration, and takes one for the project's only when it
// was created since the run began creating the project (just before `up`;
// for drill gc, the time of the ledger entry): an image of that name that
// was there before, and any other tag of its repository, is never touched.
// The leftover check and drill gc look for both with the plain docker CLI,
// so that gc needs neither the compose file nor the plugin.
package compose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/drills"
)

// DefaultWait is how long Provision waits for the services when WithWait
// is not given.
const DefaultWait = 2 * time.Minute

// The capabilities the runner finds by type assertion.
var (
	_ drills.Target          = (*Target)(nil)
	_ drills.Outputter       = (*Target)(nil)
	_ drills.LeftoverChecker = (*Target)(nil)
	_ drills.ScratchChecker  = (*Target)(nil)
	_ drills.LogExporter     = (*Target)(nil)
)

// Target is a Compose project. Its methods are meant to be called one after
// another, as the runner does: Preexisting, Provision, Outputs, ExportLogs,
// Destroy, Leftovers.
type Target struct {
	project string
	files   []string
	build   bool
	wait    time.Duration
	images  []string  // WithImages
	since   time.Time // WithSince, else set by Provision
	logger  *zap.Logger

	mu       sync.Mutex
	resolved *config // what `docker compose config` said, once asked
	toolErr  error   // the tools were found missing, so nothing was created
	started  bool    // `docker compose up` ran
}

// Option configures a Target. Options do not depend on their order.
type Option func(*Target)

// WithBuild says whether up rebuilds every service's image (--build;
// default true). Without it, compose still builds the images it cannot
// find.
func WithBuild(build bool) Option { return func(t *Target) { t.build = build } }

// WithWait bounds how long up waits for every service to be running, and
// healthy when it has a healthcheck (--wait-timeout; DefaultWait when d <= 0).
func WithWait(d time.Duration) Option { return func(t *Target) { t.wait = d } }

// WithImages names the images the project's services build, for a Target
// made without its compose files (drill gc, from the ledger): Destroy and
// Leftovers then look for them by name as well as by label.
func WithImages(images []string) Option {
	return func(t *Target) { t.images = slices.Clone(images) }
}

// WithSince says when the run began creating the project, for a Target
// made without its compose files (drill gc: the time of the ledger entry,
// written before `up`): an image found by the name of one the services
// build is the project's only when it carries the project's label or was
// created since then. In a run, Provision notes the time itself.
func WithSince(t time.Time) Option { return func(tg *Target) { tg.since = t } }

// WithLogger sets the logger for drill's own diagnostics.
func WithLogger(l *zap.Logger) Option { return func(t *Target) { t.logger = l } }

// New returns the target of the Compose project named project, described by
// files (relative to the cycle's workdir; the first one's folder is the
// project's folder). With no files, the target can only take the project
// down and check that nothing is left, which is all drill gc needs.
func New(project string, files []string, opts ...Option) *Target {
	t := &Target{project: project, files: slices.Clone(files), build: true, wait: DefaultWait, logger: zap.NewNop()}
	for _, o := range opts {
		o(t)
	}
	if t.wait <= 0 {
		t.wait = DefaultWait
	}
	if t.logger == nil {
		t.logger = zap.NewNop()
	}
	return t
}

// Name implements drills.Target.
func (t *Target) Name() string { return "compose" }

// Project returns the project name.
func (t *Target) Project() string { return t.project }

// Images returns the names of the images the project's services build, as
// far as known: from WithImages, or from the configuration once Preexisting
// or Provision resolved it. The runner's ledger records them before
// Provision, which is why Preexisting resolves the configuration.
func (t *Target) Images() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.knownImages()
}

// known is what Destroy, Leftovers and Preexisting look for. The caller
// holds t.mu.
func (t *Target) known() project {
	return project{name: t.project, images: t.knownImages(), since: t.since}
}

func (t *Target) knownImages() []string {
	images := slices.Clone(t.images)
	if t.resolved != nil {
		images = append(images, t.resolved.builtImages()...)
	}
	slices.Sort(images)
	return slices.Compact(images)
}

// config is the part of `docker compose config --format json` drill reads.
type config struct {
	Name     string                   `json:"name"`
	Services map[string]serviceConfig `json:"services"`
}

type serviceConfig struct {
	Image string       `json:"image"`
	Build *buildConfig `json:"build"`
}

type buildConfig struct {
	Context    string `json:"context"`
	Dockerfile string `json:"dockerfile"`
}

// builtImages names the images the services build: the service's image
// when it names one, else compose's default <project>-<service>.
func (c *config) builtImages() []string {
	var out []string
	for name, s := range c.Services {
		if s.Build == nil {
			continue
		}
		img := s.Image
		if img == "" {
			img = c.Name + "-" + name
		}
		out = append(out, img)
	}
	sort.Strings(out)
	return out
}

// composeArgs are the arguments every docker compose command of the
// target starts with: the project and its files, no colors in the log.
func (t *Target) composeArgs(withFiles bool, args ...string) []string {
	out := []string{"compose", "--ansi", "never", "-p", t.project}
	if withFiles {
		for _, f := range t.files {
			out = append(out, "-f", f)
		}
	}
	return append(out, args...)
}

// hasFiles reports whether the compose files are there to be read: in a
// run, yes; for drill gc or after the workdir went, commands go by the
// project name alone.
func (t *Target) hasFiles(env *drills.Env) bool {
	if len(t.files) == 0 || !workdirExists(env.Workdir) {
		return false
	}
	for _, f := range t.files {
		if !filepath.IsAbs(f) {
			f = filepath.Join(env.Workdir, f)
		}
		if _, err := os.Stat(f); err != nil {
			return false
		}
	}
	return true
}

// checkTools finds docker, the compose plugin and a Docker engine that
// answers, or returns a *drills.ToolMissingError saying how to get them.
// The caller holds t.mu.
func (t *Target) checkTools(ctx context.Context, env *drills.Env) error {
	if _, err := findDocker(env); err != nil {
		t.toolErr = err
		return err
	}
	// Its output is for humans and not read: the exit code says it all.
	if _, err := output(ctx, env, "", "compose", "version"); err != nil {
		if ctx.Err() != nil {
			return err
		}
		t.toolErr = &drills.ToolMissingError{Tool: "docker compose", Err: firstLine(err), Hint: installPlugin}
		return t.toolErr
	}
	if _, err := output(ctx, env, "", "info", "--format", "{{json .ServerVersion}}"); err != nil {
		if ctx.Err() != nil {
			return err
		}
		t.toolErr = &drills.ToolMissingError{Tool: dockerTool, Err: firstLine(err), Hint: "start the Docker daemon and check that this user may use it (docker info)"}
		return t.toolErr
	}
	return nil
}

// firstLine shortens a failed command's error to the first line docker
// wrote, for a message that names a missing tool: the rest is usage text.
func firstLine(err error) error {
	var ce *CommandError
	if !errors.As(err, &ce) {
		return err
	}
	short := *ce
	short.Stderr, _, _ = strings.Cut(strings.TrimSpace(ce.Stderr), "\n")
	return &short
}

// resolve checks the tools and reads the project's configuration as docker
// compose resolves it (interpolated from the step environment), once. The
// caller holds t.mu.
func (t *Target) resolve(ctx context.Context, env *drills.Env) error {
	if t.resolved != nil {
		return nil
	}
	if err := t.checkTools(ctx, env); err != nil {
		return err
	}
	out, err := output(ctx, env, env.Workdir, t.composeArgs(true, "config", "--format", "json")...)
	if err != nil {
		return fmt.Errorf("compose project %s: read its configuration: %w", t.project, err)
	}
	var c config
	if err := json.Unmarshal(out, &c); err != nil {
		return fmt.Errorf("compose project %s: decode `docker compose config --format json`: %w", t.project, err)
	}
	if c.Name == "" {
		c.Name = t.project
	}
	t.resolved = &c
	return nil
}

// Preexisting implements drills.ScratchChecker: what of the project exists
// before Provision (containers, networks, volumes, images carrying its
// label; an image merely named like one its services build is not the
// project's, since nothing of the run was created yet). It also checks
// the tools and resolves the configuration, so that the images the
// services build are known when the runner writes the ledger entry.
func (t *Target) Preexisting(ctx context.Context, env *drills.Env) ([]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.resolve(ctx, env); err != nil {
		return nil, err
	}
	found, err := resources(ctx, env, t.known())
	if err != nil {
		return nil, err
	}
	return describe(found), nil
}

// Provision runs `docker compose up -d --wait` (with --build unless
// WithBuild(false)) in the cycle's workdir. When a service does not come
// up, the error carries each container's state, exit code and last
// healthcheck output as evidence.
func (t *Target) Provision(ctx context.Context, env *drills.Env) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.resolve(ctx, env); err != nil {
		return err
	}
	wait := int(math.Ceil(t.wait.Seconds()))
	args := []string{"up", "--detach", "--wait", "--wait-timeout", strconv.Itoa(wait)}
	if t.build {
		args = append(args, "--build")
	}
	t.started = true
	start := time.Now()
	if t.since.IsZero() {
		// After the ledger entry, before anything is built: the images of
		// the services' names created from now on are the project's.
		t.since = start
	}
	err := docker(ctx, env, command{args: t.composeArgs(true, args...), dir: env.Workdir})
	if err != nil {
		err = fmt.Errorf("compose project %s: %w", t.project, err)
		if ev := t.evidence(ctx, env); ev != "" {
			fmt.Fprintf(env.Output(), "\n[drill] state of compose project %s:\n%s\n", t.project, ev)
			return &drills.EvidenceError{Err: err, Evidence: ev}
		}
		return err
	}
	d := time.Since(start)
	fmt.Fprintf(env.Output(), "compose: project %s up in %.1fs\n", t.project, d.Seconds())
	t.logger.Debug("compose up", zap.String("project", t.project), zap.Int64("durationMs", d.Milliseconds()))
	return nil
}

// psEntry is one container of `docker compose ps --format json`.
type psEntry struct {
	ID         string
	Name       string
	Service    string
	State      string
	Health     string
	ExitCode   int
	Labels     string // k=v,k=v
	Publishers []struct {
		URL           string
		TargetPort    int
		PublishedPort int
		Protocol      string
	}
}

// number is the container's replica number (com.docker.compose.container-number).
func (p psEntry) number() int {
	for _, kv := range strings.Split(p.Labels, ",") {
		if v, ok := strings.CutPrefix(kv, "com.docker.compose.container-number="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				return n
			}
		}
	}
	return 0
}

// ps lists the project's containers (all of them with all).
func (t *Target) ps(ctx context.Context, env *drills.Env, all bool) ([]psEntry, error) {
	args := []string{"ps", "--format", "json"}
	if all {
		args = append(args, "--all")
	}
	out, err := output(ctx, env, t.dir(env), t.composeArgs(t.hasFiles(env), args...)...)
	if err != nil {
		return nil, fmt.Errorf("compose project %s: %w", t.project, err)
	}
	return decodeLines[psEntry](out)
}

// dir is where compose commands run: the workdir while it exists.
func (t *Target) dir(env *drills.Env) string {
	if workdirExists(env.Workdir) {
		return env.Workdir
	}
	return ""
}

// Outputs implements drills.Outputter: COMPOSE_PROJECT, the project name,
// and for every published port <SERVICE>_PORT_<CONTAINER_PORT> (with
// _UDP or _SCTP after it for those protocols), the host port, read from
// `docker compose ps --format json`. A service with several replicas
// gives the ports of its first; an IPv4 binding wins over an IPv6 one,
// which docker may publish on another port.
func (t *Target) Outputs(ctx context.Context, env *drills.Env) (map[string]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	entries, err := t.ps(ctx, env, false)
	if err != nil {
		return nil, err
	}
	return outputs(t.project, entries)
}

func outputs(projectName string, entries []psEntry) (map[string]string, error) {
	sort.SliceStable(entries, func(i, j int) bool {
		if entries[i].Service != entries[j].Service {
			return entries[i].Service < entries[j].Service
		}
		return entries[i].number() < entries[j].number()
	})
	out := map[string]string{"COMPOSE_PROJECT": projectName}
	from := map[string]string{} // output name → service, to refuse two services mapping to one name
	type key struct {
		service string
		port    int
		proto   string
	}
	ipv4 := map[key]bool{}
	for _, e := range entries {
		for _, p := range e.Publishers {
			if p.PublishedPort == 0 || p.TargetPort == 0 {
				continue // exposed, not published
			}
			proto := strings.ToLower(p.Protocol)
			k := key{e.Service, p.TargetPort, proto}
			v4 := p.URL == "" || net.ParseIP(p.URL).To4() != nil
			name := envName(e.Service) + "_PORT_" + strconv.Itoa(p.TargetPort)
			if proto != "" && proto != "tcp" {
				name += "_" + envName(proto)
			}
			if other, ok := from[name]; ok && other != e.Service {
				return nil, fmt.Errorf("compose project %s: services %q and %q both give the output %s: rename one", projectName, other, e.Service, name)
			}
			if _, seen := ipv4[k]; seen && (ipv4[k] || !v4) {
				continue // the first replica's port, IPv4 first
			}
			ipv4[k] = v4
			from[name] = e.Service
			out[name] = strconv.Itoa(p.PublishedPort)
		}
	}
	return out, nil
}

// envName is s as it can appear in a variable name: upper case, every
// other character than a letter, a digit or _ turned into _, the way the
// runner names DRILL_OUTPUT_<NAME>.
func envName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, s)
}

// Destroy takes the project down (`docker compose down --volumes
// --remove-orphans`, which stops the containers the way compose stops
// them), then removes with the plain docker CLI whatever still carries the
// project's label and the images its services built in this run (exact
// name:tag, created since Provision began; never another tag, never an
// image of that name that was there before). Nothing there is not
// an error. Without the compose plugin (drill gc on another machine's
// setup), the second part alone does the job.
func (t *Target) Destroy(ctx context.Context, env *drills.Env) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.started && t.toolErr != nil {
		return nil // the tools were missing: nothing was created
	}
	if _, err := findDocker(env); err != nil {
		return err
	}
	start := time.Now()
	var downErr error
	if _, err := output(ctx, env, "", "compose", "version"); err == nil {
		args := t.composeArgs(t.hasFiles(env), "down", "--volumes", "--remove-orphans")
		if downErr = docker(ctx, env, command{args: args, dir: t.dir(env)}); downErr != nil {
			fmt.Fprintf(env.Output(), "[drill] %v; removing the project's containers, networks, volumes and images by its label\n", downErr)
		}
	}
	if err := removeResources(ctx, env, t.known()); err != nil {
		return errors.Join(downErr, err)
	}
	fmt.Fprintf(env.Output(), "compose: project %s down in %.1fs\n", t.project, time.Since(start).Seconds())
	return nil
}

// Leftovers implements drills.LeftoverChecker: what of the project is still
// there after Destroy (containers, networks and volumes carrying its label,
// the images it built, by the same rule as Destroy), found with the plain
// docker CLI.
func (t *Target) Leftovers(ctx context.Context, env *drills.Env) ([]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.started && t.toolErr != nil {
		return nil, nil
	}
	found, err := resources(ctx, env, t.known())
	if err != nil {
		return nil, err
	}
	return describe(found), nil
}

// ExportLogs implements drills.LogExporter: into dir, the services' logs
// (`docker compose logs --timestamps`), `docker compose ps --all --format
// json` and `docker inspect` of every container of the project.
func (t *Target) ExportLogs(ctx context.Context, env *drills.Env, dir string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.started {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export logs of compose project %s: %w", t.project, err)
	}
	var errs []error
	write := func(name string, args ...string) {
		b, err := output(ctx, env, t.dir(env), args...)
		if werr := os.WriteFile(filepath.Join(dir, name), b, 0o644); werr != nil {
			err = errors.Join(err, werr)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	withFiles := t.hasFiles(env)
	write("compose-logs.txt", t.composeArgs(withFiles, "logs", "--no-color", "--timestamps")...)
	write("compose-ps.json", t.composeArgs(withFiles, "ps", "--all", "--format", "json")...)
	entries, err := t.ps(ctx, env, true)
	if err != nil {
		errs = append(errs, err)
	}
	if len(entries) > 0 {
		ids := make([]string, len(entries))
		for i, e := range entries {
			ids[i] = e.ID
		}
		write("docker-inspect.json", append([]string{"inspect"}, ids...)...)
	}
	if len(errs) > 0 {
		return fmt.Errorf("export logs of compose project %s: %w", t.project, errors.Join(errs...))
	}
	return nil
}

// evidence says, for a failed up, what each container of the project is
// doing: its state, exit code, health and last healthcheck output. It gets
// a short time of its own: up may have used up the step's.
func (t *Target) evidence(ctx context.Context, env *drills.Env) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	entries, err := t.ps(ctx, env, true)
	if err != nil || len(entries) == 0 {
		return ""
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	health := map[string]string{}
	if b, err := output(ctx, env, "", append([]string{"inspect", "--format", "{{json .}}"}, ids...)...); err == nil {
		type inspected struct {
			ID    string
			State struct {
				Error  string
				Health *struct {
					Log []struct {
						ExitCode int
						Output   string
					}
				}
			}
		}
		list, _ := decodeLines[inspected](b)
		for _, c := range list {
			var why []string
			if c.State.Error != "" {
				why = append(why, "error: "+c.State.Error)
			}
			if h := c.State.Health; h != nil && len(h.Log) > 0 {
				last := h.Log[len(h.Log)-1]
				why = append(why, fmt.Sprintf("last healthcheck exited %d: %s", last.ExitCode, strings.TrimSpace(last.Output)))
			}
			health[c.ID] = strings.Join(why, "; ")
		}
	}
	var lines []string
	for _, e := range entries {
		line := fmt.Sprintf("%s (service %s): %s", e.Name, e.Service, e.State)
		if e.Health != "" {
			line += ", " + e.Health
		}
		if e.State == "exited" || e.State == "dead" {
			line += fmt.Sprintf(", exit code %d", e.ExitCode)
		}
		for id, why := range health {
			if why != "" && (strings.HasPrefix(id, e.ID) || strings.HasPrefix(e.ID, id)) {
				line += "; " + why
			}
		}
		lines = append(lines, line)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
