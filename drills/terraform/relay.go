package terraform

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
)

// RelayEnv names the real terraform binary when a process runs as drill's
// terraform relay (see Relay).
const RelayEnv = "DRILL_TERRAFORM_RELAY_TO"

// WithRelay runs terraform through a relay: the binary at path (the drill
// binary itself) started with RelayEnv set, which then calls Relay.
//
// Why: terraform-exec starts terraform with a parent-death SIGKILL and
// reads its output through pipes, so a kill -9 of drill would kill
// terraform at once, before it saves its state, and a resource being
// created at that moment would be in no state file. Behind the relay,
// terraform outlives drill; `drill gc` then stops it with SIGTERM, which
// terraform answers by saving its state, and destroys what the state holds.
func WithRelay(path string) Option { return func(t *Target) { t.relay = path } }

// Relay runs the real terraform with args and copies its output to this
// process's stdout and stderr, for as long as terraform runs, and exits with
// terraform's exit code. It outlives its parent: it leaves drill's reach
// first (see detach, per system), and a write to a closed pipe (its parent
// is gone) is ignored rather than fatal, so terraform behind it never sees
// one. It forwards SIGINT (terraform-exec's cancel) and drops SIGTERM:
// `drill gc` sends SIGTERM to terraform itself, and a second interrupt
// would make terraform exit without saving its state.
func Relay(real string, args []string) int {
	detach()
	// Handled, not ignored: an ignored signal would stay ignored in
	// terraform after exec.
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, os.Interrupt, syscall.SIGPIPE, syscall.SIGTERM)

	err := relay(real, args, signals)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return exit.ExitCode()
	default:
		fmt.Fprintf(os.Stderr, "drill terraform relay: %v\n", err)
		return 127
	}
}

func relay(real string, args []string, signals <-chan os.Signal) error {
	cmd := exec.Command(real, args...)
	cmd.Env = withoutRelay(os.Environ())
	cmd.Stdin = os.Stdin
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		for s := range signals {
			if s == os.Interrupt {
				_ = cmd.Process.Signal(s)
			}
		}
	}()
	var wg sync.WaitGroup
	wg.Add(2)
	go drain(&wg, stdout, os.Stdout)
	go drain(&wg, stderr, os.Stderr)
	wg.Wait() // all output read before Wait closes the pipes
	return cmd.Wait()
}

// drain copies r to w until r ends. Write errors are ignored: when drill is
// gone nobody reads w, and terraform must still be able to write.
func drain(wg *sync.WaitGroup, r io.Reader, w io.Writer) {
	defer wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			_, _ = w.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

func withoutRelay(environ []string) []string {
	out := environ[:0:0]
	for _, kv := range environ {
		if !strings.HasPrefix(kv, RelayEnv+"=") {
			out = append(out, kv)
		}
	}
	return out
}
