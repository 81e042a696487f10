package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/sirupsen/logrus"
)

// Service is one service of a compose project as `drill plan` shows it.
type Service struct {
	Name string
	// Image is the image the service runs, or, when it builds one, the
	// name the build is tagged with.
	Image string
	// Build is the build context (relative to the source when inside it)
	// and Dockerfile; empty when the service does not build.
	Build, Dockerfile string
	// Ports are the published ports, as "HOST_IP:HOST_PORT:TARGET/PROTO"
	// with empty parts left out, each with its output variable.
	Ports []Port
}

// Port is a published port and the output that will hold its host port.
type Port struct {
	Spec   string // 127.0.0.1::8080/tcp
	Output string // DRILL_OUTPUT_HELLO_PORT_8080
}

// FileError is a compose file that cannot be used: it is missing, outside
// the source, or does not load. Index is the file's position in the
// target's files, or -1 when the problem is the project as a whole (the
// files merged).
type FileError struct {
	Index int
	File  string
	Err   error
}

func (e *FileError) Error() string {
	if e.Index < 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// quietLogrus silences logrus, through which compose-go warns (an unset
// variable, an obsolete `version`): drill logs with zap, and a stray line
// on stderr would break --log-format json. compose-go's interpolation
// warnings are also turned off at their source (template.WithoutLogging);
// this catches the rest. logrus reaches drill through compose-go only.
var quietLogrus sync.Once

// Load reads the compose files of a target the way docker compose does
// (compose-go, the library compose itself uses), for `drill validate` and
// `drill plan`: from source (the folder each cycle's workdir is a copy
// of), files relative to it, variables interpolated from vars (the step
// environment as far as it is known before a run). Each file must exist
// inside source; a problem is a *FileError. It returns the services sorted
// by name.
func Load(ctx context.Context, source string, files []string, project string, vars map[string]string) ([]Service, error) {
	quietLogrus.Do(func() { logrus.SetOutput(io.Discard) })
	root, err := filepath.EvalSymlinks(source)
	if err != nil {
		return nil, &FileError{Index: -1, Err: fmt.Errorf("source folder %s: %w", source, err)}
	}
	paths := make([]string, len(files))
	for i, f := range files {
		p, err := inside(root, f)
		if err != nil {
			return nil, &FileError{Index: i, File: f, Err: err}
		}
		paths[i] = p
	}
	env := make([]string, 0, len(vars)+1)
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	opts, err := cli.NewProjectOptions(paths,
		cli.WithWorkingDirectory(filepath.Dir(paths[0])),
		cli.WithEnv(env),
		cli.WithName(project),
		cli.WithDotEnv,
		cli.WithLoadOptions(func(o *loader.Options) {
			if o.Interpolate != nil {
				o.Interpolate.Substitute = func(s string, m template.Mapping) (string, error) {
					return template.SubstituteWithOptions(s, m, template.WithoutLogging)
				}
			}
		}),
	)
	if err != nil {
		return nil, fileError(err, files, paths)
	}
	p, err := opts.LoadProject(ctx)
	if err != nil {
		return nil, fileError(err, files, paths)
	}
	var out []Service
	for name, s := range p.Services {
		svc := Service{Name: name, Image: s.Image}
		if s.Build != nil {
			svc.Build = s.Build.Context
			if rel, err := filepath.Rel(root, s.Build.Context); err == nil && filepath.IsLocal(rel) {
				svc.Build = filepath.ToSlash(rel)
			}
			svc.Dockerfile = s.Build.Dockerfile
			if s.Build.DockerfileInline != "" {
				svc.Dockerfile = "(inline)"
			}
			if svc.Image == "" {
				svc.Image = p.Name + "-" + name
			}
		}
		for _, port := range s.Ports {
			spec := fmt.Sprintf("%d/%s", port.Target, orTCP(port.Protocol))
			if port.Published != "" || port.HostIP != "" {
				spec = port.Published + ":" + spec
			}
			if port.HostIP != "" {
				spec = port.HostIP + ":" + spec
			}
			name := "DRILL_OUTPUT_" + envName(name) + "_PORT_" + fmt.Sprint(port.Target)
			if proto := orTCP(port.Protocol); proto != "tcp" {
				name += "_" + envName(proto)
			}
			svc.Ports = append(svc.Ports, Port{Spec: spec, Output: name})
		}
		out = append(out, svc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func orTCP(proto string) string {
	if proto == "" {
		return "tcp"
	}
	return strings.ToLower(proto)
}

// inside returns file (relative to root, the source with symlinks
// resolved) as an absolute path, once it is known to be a regular file
// inside root, through symlinks too: a cycle has nothing but its copy of
// the source.
func inside(root, file string) (string, error) {
	if filepath.IsAbs(file) {
		return "", errors.New("must be relative to the source folder")
	}
	p := filepath.Join(root, file)
	real, err := filepath.EvalSymlinks(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no such file in the source folder %s", root)
	}
	if err != nil {
		return "", err
	}
	if rel, err := filepath.Rel(root, real); err != nil || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("leads outside the source folder %s (to %s)", root, real)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", errors.New("not a regular file")
	}
	return p, nil
}

// fileError says which file a compose-go error is about, when its message
// names one; otherwise it is about the project (Index -1). File names in
// the message are made relative to the source, as the scenario wrote them.
func fileError(err error, files, paths []string) error {
	msg := err.Error()
	index := -1
	for i, p := range paths {
		if strings.Contains(msg, p) {
			if index < 0 {
				index = i
			}
			msg = strings.ReplaceAll(msg, p, files[i])
		}
	}
	if index < 0 {
		return &FileError{Index: -1, Err: errors.New(msg)}
	}
	// The message already names the file, which Error adds again.
	msg = strings.TrimPrefix(strings.TrimPrefix(msg, files[index]), ": ")
	msg = strings.TrimPrefix(msg, "validating "+files[index]+": ")
	return &FileError{Index: index, File: files[index], Err: errors.New(msg)}
}

// ProjectName returns the default project name of a cycle:
// drill-<scenario>-<short run id>-c<cycle>, the short run ID being the
// random suffix of the run ID ("20261127T071500Z-3f9a1c" → "3f9a1c"), so
// that concurrent runs and the cycles of one run never share a project.
// It is a valid compose project name of at most 63 characters; the
// scenario part is shortened to fit.
func ProjectName(scenario, runID string, cycle int) string {
	short := runID
	if i := strings.LastIndexByte(runID, '-'); i >= 0 && i < len(runID)-1 {
		short = runID[i+1:]
	}
	short = loader.NormalizeProjectName(short)
	if len(short) > 12 {
		short = strings.Trim(short[len(short)-12:], "-_")
	}
	if short == "" {
		short = "run"
	}
	suffix := fmt.Sprintf("-%s-c%d", short, cycle)
	const prefix = "drill-"
	scen := strings.Trim(loader.NormalizeProjectName(scenario), "-_")
	if room := 63 - len(prefix) - len(suffix); len(scen) > room {
		scen = strings.TrimRight(scen[:room], "-_")
	}
	if scen == "" {
		return prefix + strings.TrimPrefix(suffix, "-")
	}
	return prefix + scen + suffix
}
