package terraform_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills/terraform"
	"github.com/redeploy-drill/drill/internal/testtools"
)

// fakeTerraformEnv makes the test binary a stand-in for terraform that logs
// the signals it gets into <dir>/signals (see fakeTerraform).
const fakeTerraformEnv = "DRILL_RELAY_TEST_FAKE_TERRAFORM_DIR"

// TestMain doubles as drill's relay: run with terraform.RelayEnv set, the
// test binary does what cmd/drill does and relays to the program it names
// (bash, or the test binary itself as fakeTerraform, standing in for
// terraform).
func TestMain(m *testing.M) {
	if real := os.Getenv(terraform.RelayEnv); real != "" {
		os.Exit(terraform.Relay(real, os.Args[1:]))
	}
	if dir := os.Getenv(fakeTerraformEnv); dir != "" {
		os.Exit(fakeTerraform(dir))
	}
	os.Exit(m.Run())
}

// fakeTerraform writes the name of every SIGINT and SIGTERM it gets to
// <dir>/signals, one a line. On its first SIGINT it goes on for 300 ms, as
// terraform does while it saves its state, then exits 7; a signal that
// comes with the SIGINT is still logged. (bash is no stand-in here: it
// drops a SIGTERM that arrives together with a SIGINT while it waits for a
// command.)
func fakeTerraform(dir string) int {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	log, err := os.OpenFile(filepath.Join(dir, "signals"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 1
	}
	defer log.Close()
	if err := os.WriteFile(filepath.Join(dir, "ready"), nil, 0o644); err != nil {
		return 1
	}
	var stop <-chan time.Time
	giveUp := time.After(time.Minute)
	for {
		select {
		case s := <-signals:
			fmt.Fprintln(log, s)
			if s == os.Interrupt && stop == nil {
				stop = time.After(300 * time.Millisecond)
			}
		case <-stop:
			return 7
		case <-giveUp:
			return 1
		}
	}
}

// relayTo is the relay running real with args as its terraform, with extra
// environment variables.
func relayTo(real string, args []string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), terraform.RelayEnv + "=" + real}, env...)
	return cmd
}

// relayCommand is the relay running `bash -c script` as its terraform.
func relayCommand(t *testing.T, script string) *exec.Cmd {
	t.Helper()
	bash := testtools.Need(t, "bash", "the relay tests run bash as terraform")
	return relayTo(bash, []string{"-c", script})
}

// exitCode waits for cmd and returns its exit code, failing the test when it
// does not end within a minute or is killed by a signal.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			ws, _ := exit.Sys().(syscall.WaitStatus)
			require.False(t, ws.Signaled(), "the relay was killed by %v", ws.Signal())
			return exit.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-done
		require.FailNow(t, "the relay did not end within a minute")
		return -1
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	require.Eventually(t, func() bool { _, err := os.Stat(path); return err == nil }, 10*time.Second, 5*time.Millisecond,
		"the script wrote %s", path)
}

func TestRelayPassesOutputAndExitCode(t *testing.T) {
	tests := []struct {
		name       string
		script     string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{
			name:       "exit code and both streams",
			script:     `echo out; echo err >&2; exit 3`,
			wantCode:   3,
			wantStdout: "out\n",
			wantStderr: "err\n",
		},
		{
			name:       "the relay variable does not reach terraform",
			script:     `echo "${` + terraform.RelayEnv + `-unset}"`,
			wantStdout: "unset\n",
		},
		{
			name:     "killed by a signal: 128 + the signal, as shells say",
			script:   `kill -KILL $$`,
			wantCode: 128 + int(syscall.SIGKILL),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := relayCommand(t, tt.script)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			require.NoError(t, cmd.Start())

			assert.Equal(t, tt.wantCode, exitCode(t, cmd))
			assert.Equal(t, tt.wantStdout, stdout.String())
			assert.Equal(t, tt.wantStderr, stderr.String())
		})
	}
}

// TestRelayDropsSIGTERMAndForwardsSIGINT: `drill gc` sends SIGTERM to
// terraform itself, so the relay must not pass on the one it gets too (a
// second interrupt makes terraform quit without saving its state); SIGINT
// is terraform-exec's cancel and must reach terraform.
func TestRelayDropsSIGTERMAndForwardsSIGINT(t *testing.T) {
	dir := t.TempDir()
	cmd := relayTo(os.Args[0], nil, fakeTerraformEnv+"="+dir)
	require.NoError(t, cmd.Start())
	waitFile(t, filepath.Join(dir, "ready"))

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Process.Signal(os.Interrupt))

	assert.Equal(t, 7, exitCode(t, cmd), "terraform ended on its SIGINT and the relay survived its SIGTERM")
	got, err := os.ReadFile(filepath.Join(dir, "signals"))
	require.NoError(t, err)
	assert.Equal(t, os.Interrupt.String()+"\n", string(got), "only the SIGINT reached terraform")
}

// TestRelayKeepsTerraformWritingWhenNobodyReads: when drill is gone nobody
// reads the relay's output; terraform must still be able to write all it
// has to say and finish (a full pipe would block it, a closed one would
// kill it with SIGPIPE).
func TestRelayKeepsTerraformWritingWhenNobodyReads(t *testing.T) {
	dir := t.TempDir()
	done := filepath.Join(dir, "done")
	cmd := relayCommand(t, `
		line=`+strings.Repeat("x", 1000)+`
		for i in $(seq 1 1000); do echo "$line"; echo "$line" >&2; done
		touch `+done)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = w, w
	require.NoError(t, cmd.Start())
	// drill is gone: the read end is closed before terraform writes much.
	require.NoError(t, r.Close())
	require.NoError(t, w.Close())

	assert.Equal(t, 0, exitCode(t, cmd), "1 MB written to a closed pipe did not stop terraform")
	assert.FileExists(t, done)
}
