package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/run"
)

const (
	// dockerTool is the program every command of this package runs.
	dockerTool = "docker"
	// installDocker says how to get a Docker engine and its CLI.
	installDocker = "install Docker (Debian: apt-get install docker.io) and start it"
	// installPlugin says how to get the Compose v2 CLI plugin. Debian's
	// docker-compose package is Compose v1, which is neither `docker
	// compose` nor able to read current compose files.
	installPlugin = "install the Compose v2 plugin: `make tools` in drill's repository builds it and links it as ~/.docker/cli-plugins/docker-compose, or install Docker's docker-compose-plugin package; Debian's docker-compose package is Compose v1, which has no `docker compose`"
	// interruptGrace is how long docker compose gets to stop what it is
	// doing after SIGINT (its Ctrl-C) before the group gets SIGTERM.
	interruptGrace = 10 * time.Second
	// killGrace is how long it then gets between SIGTERM and SIGKILL.
	killGrace = 5 * time.Second
	// pipeDelay bounds how long output is read after docker exited.
	pipeDelay = time.Second
	// tailLines is how much of a failed command's stderr its error carries.
	tailLines = 10
)

// CommandError is a docker command that exited with a non-zero code. Stderr
// holds the last lines it wrote there, which is where docker and compose
// say what went wrong.
type CommandError struct {
	Args   []string
	Code   int
	Stderr string
}

func (e *CommandError) Error() string {
	msg := fmt.Sprintf("%s exited with code %d", commandLine(e.Args), e.Code)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

// commandLine names a command in messages by its subcommand ("docker
// compose up", "docker volume rm"), leaving out flags and their values.
func commandLine(args []string) string {
	words := []string{dockerTool}
	for i := 0; i < len(args) && len(words) < 3; i++ {
		a := args[i]
		switch {
		case a == "-p" || a == "-f" || a == "--ansi" || a == "--progress" || a == "--format" || a == "--filter":
			i++ // a flag and its value
		case strings.HasPrefix(a, "-"):
		case len(words) == 2 && !managementCommands[words[1]]:
			i = len(args)
		default:
			words = append(words, a)
		}
	}
	return strings.Join(words, " ")
}

// managementCommands are the docker commands named with their subcommand.
var managementCommands = map[string]bool{"compose": true, "container": true, "image": true, "network": true, "volume": true}

// findDocker returns the docker program a step would run: the first on the
// step environment's PATH, else the first on drill's own PATH (how the
// terraform target finds terraform). Missing is a *drills.ToolMissingError.
func findDocker(env *drills.Env) (string, error) {
	if env != nil {
		for _, dir := range filepath.SplitList(env.Vars["PATH"]) {
			// A relative entry would resolve against drill's cwd: skipped,
			// as exec.ErrDot refuses it.
			if dir == "" || !filepath.IsAbs(dir) {
				continue
			}
			if p, err := exec.LookPath(filepath.Join(dir, dockerTool)); err == nil {
				return p, nil
			}
		}
	}
	p, err := exec.LookPath(dockerTool)
	if err == nil && !filepath.IsAbs(p) {
		p, err = filepath.Abs(p)
	}
	if err != nil {
		return "", &drills.ToolMissingError{Tool: dockerTool, Err: fmt.Errorf("not found on the step PATH nor on drill's PATH: %w", err), Hint: installDocker}
	}
	return p, nil
}

// command is one docker invocation.
type command struct {
	args []string
	dir  string
	// stdout receives the program's output (a JSON document for the
	// commands read by drill); nil: the step log.
	stdout io.Writer
	// extra are variables added to the step environment.
	extra map[string]string
}

// docker runs docker with the step environment (env.Vars, nothing of
// drill's own) and an empty stdin, in its own process group, its stderr
// (and stdout unless c.stdout is set) into the step log. When ctx ends it
// is stopped the way an operator stops docker compose: SIGINT, which makes
// compose give up what it was doing, then SIGTERM and SIGKILL to the whole
// group (drills/run.KillGroup). Not exec.CommandContext: its Cancel signals
// the docker CLI alone, and its plugin would carry on.
func docker(ctx context.Context, env *drills.Env, c command) error {
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("%s: not started: %w", commandLine(c.args), err)
	}
	path, err := findDocker(env)
	if err != nil {
		return err
	}
	vars := make(map[string]string, len(env.Vars)+len(c.extra))
	for k, v := range env.Vars {
		vars[k] = v
	}
	for k, v := range c.extra {
		vars[k] = v
	}
	// A nil Env would inherit drill's environment.
	environ := (&drills.Env{Vars: vars}).Environ()

	out := env.Output()
	tail := &tailWriter{}
	cmd := exec.Command(path, c.args...)
	cmd.Dir = c.dir
	cmd.Env = environ
	cmd.Stdin = nil
	cmd.Stderr = io.MultiWriter(out, tail)
	cmd.Stdout = out
	if c.stdout != nil {
		cmd.Stdout = c.stdout
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = pipeDelay
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: start %s: %w", commandLine(c.args), path, err)
	}
	pgid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	select {
	case err := <-done:
		return exited(c.args, err, tail)
	case <-ctx.Done():
		select {
		case err := <-done:
			return exited(c.args, err, tail)
		default:
		}
	}
	cause := context.Cause(ctx)
	_ = syscall.Kill(-pgid, syscall.SIGINT)
	timer := time.NewTimer(interruptGrace)
	defer timer.Stop()
	select {
	case <-done:
		fmt.Fprintf(out, "\n[drill] %s interrupted (SIGINT): %v\n", commandLine(c.args), cause)
		return fmt.Errorf("%s: interrupted: %w", commandLine(c.args), cause)
	case <-timer.C:
	}
	killed, kerr := run.KillGroup(pgid, killGrace)
	<-done
	how := "stopped with SIGTERM"
	if killed {
		how = "killed with SIGKILL"
	}
	fmt.Fprintf(out, "\n[drill] %s %s after ignoring SIGINT for %s: %v\n", commandLine(c.args), how, interruptGrace, cause)
	if kerr != nil {
		return fmt.Errorf("%s: %s: %w (%v)", commandLine(c.args), how, cause, kerr)
	}
	return fmt.Errorf("%s: %s: %w", commandLine(c.args), how, cause)
}

// exited turns Wait's result into the command's error.
func exited(args []string, err error, tail *tailWriter) error {
	if err == nil || errors.Is(err, exec.ErrWaitDelay) {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &CommandError{Args: args, Code: ee.ExitCode(), Stderr: tail.String()}
	}
	return fmt.Errorf("%s: %w", commandLine(args), err)
}

// output runs a docker command whose stdout drill reads (JSON), and returns
// that stdout.
func output(ctx context.Context, env *drills.Env, dir string, args ...string) ([]byte, error) {
	var buf bytes.Buffer
	err := docker(ctx, env, command{args: args, dir: dir, stdout: &buf})
	return buf.Bytes(), err
}

// tailWriter keeps the last tailLines lines written to it, for errors.
type tailWriter struct{ buf []byte }

func (w *tailWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	if len(w.buf) > 64<<10 {
		w.buf = w.buf[len(w.buf)-32<<10:]
	}
	return len(p), nil
}

func (w *tailWriter) String() string {
	lines := strings.Split(strings.TrimRight(string(w.buf), "\n"), "\n")
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// workdirExists says whether dir is a folder, for commands that would fail
// in a workdir that is gone (drill gc, a destroy after the workdir went).
func workdirExists(dir string) bool {
	if dir == "" {
		return false
	}
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}
