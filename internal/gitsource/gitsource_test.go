package gitsource

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/internal/testtools"
)

// git runs git in dir for a test, with a fixed identity.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main"}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// upstream is a bare repository (what a server holds) with a main branch
// of two commits, a tag v1 on the first, and a branch next; it returns its
// path and the commits by name.
func upstream(t *testing.T) (string, map[string]string) {
	t.Helper()
	testtools.Need(t, "git", "apt-get install git")
	work := t.TempDir()
	git(t, work, "init", "-q")
	write := func(name, content string) {
		p := filepath.Join(work, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	commits := map[string]string{}
	write("version.txt", "v1\n")
	write("stack/app.txt", "app\n")
	git(t, work, "add", "-A")
	git(t, work, "commit", "-qm", "v1")
	commits["v1"] = git(t, work, "rev-parse", "HEAD")
	git(t, work, "tag", "-a", "-m", "v1", "v1")
	git(t, work, "checkout", "-qb", "next")
	write("version.txt", "next\n")
	git(t, work, "commit", "-qam", "next")
	commits["next"] = git(t, work, "rev-parse", "HEAD")
	git(t, work, "checkout", "-q", "main")
	write("version.txt", "v2\n")
	require.NoError(t, os.Symlink("/etc", filepath.Join(work, "outside")))
	git(t, work, "add", "-A")
	git(t, work, "commit", "-qm", "v2")
	commits["main"] = git(t, work, "rev-parse", "HEAD")
	bare := filepath.Join(t.TempDir(), "stack.git")
	git(t, work, "clone", "-q", "--bare", work, bare)
	return bare, commits
}

func clone(t *testing.T, c Clone) (string, string, error) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "workdir")
	require.NoError(t, os.Mkdir(dir, 0o700))
	var log strings.Builder
	c.Out = &log
	commit, err := c.Run(context.Background(), dir)
	t.Logf("git output:\n%s", log.String())
	return dir, commit, err
}

func TestCloneChecksOutTheRef(t *testing.T) {
	t.Parallel()
	bare, commits := upstream(t)
	tests := []struct {
		ref, want, version string
	}{
		{"", "main", "v2"},
		{"main", "main", "v2"},
		{"next", "next", "next"},
		{"v1", "v1", "v1"}, // an annotated tag, peeled to its commit
		{commits["next"], "next", "next"},
		{commits["v1"][:10], "v1", "v1"},
	}
	for _, tt := range tests {
		for _, url := range []string{bare, "file://" + bare} {
			dir, commit, err := clone(t, Clone{URL: url, Ref: tt.ref, Env: os.Environ()})
			require.NoError(t, err, tt.ref)
			assert.Equal(t, commits[tt.want], commit, tt.ref)
			assert.Equal(t, commits[tt.want], git(t, dir, "rev-parse", "HEAD"), "%s: checked out", tt.ref)
			b, err := os.ReadFile(filepath.Join(dir, "version.txt"))
			require.NoError(t, err)
			assert.Equal(t, tt.version+"\n", string(b), tt.ref)
			assert.Empty(t, git(t, dir, "status", "--porcelain"), "%s: a clean tree", tt.ref)
		}
	}
}

// A later cycle checks out the commit the first resolved, even when the
// branch moved meanwhile; a commit that is gone is a clear error.
func TestClonePinsTheFirstCyclesCommit(t *testing.T) {
	t.Parallel()
	bare, commits := upstream(t)
	_, first, err := clone(t, Clone{URL: bare, Ref: "main", Env: os.Environ()})
	require.NoError(t, err)

	// Someone pushes to main during the run.
	work := t.TempDir()
	git(t, work, "clone", "-q", bare, ".")
	require.NoError(t, os.WriteFile(filepath.Join(work, "version.txt"), []byte("v3\n"), 0o644))
	git(t, work, "commit", "-qam", "v3")
	git(t, work, "push", "-q", "origin", "main")

	dir, again, err := clone(t, Clone{URL: bare, Ref: "main", Commit: first, Env: os.Environ()})
	require.NoError(t, err)
	assert.Equal(t, first, again)
	b, err := os.ReadFile(filepath.Join(dir, "version.txt"))
	require.NoError(t, err)
	assert.Equal(t, "v2\n", string(b), "the first cycle's commit, not the branch's new one")

	_, _, err = clone(t, Clone{URL: bare, Ref: "main", Commit: strings.Repeat("e", 40), Env: os.Environ()})
	assert.EqualError(t, err, "commit eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee, which the first cycle checked out, is no longer in "+bare+" (was main force-pushed during the run?)")
	_ = commits
}

func TestCloneErrors(t *testing.T) {
	t.Parallel()
	bare, _ := upstream(t)
	_, _, err := clone(t, Clone{URL: bare, Ref: "no-such-branch", Env: os.Environ()})
	assert.EqualError(t, err, `ref "no-such-branch" is not a branch, tag or commit of `+bare)

	missing := filepath.Join(t.TempDir(), "missing.git")
	_, _, err = clone(t, Clone{URL: missing, Env: os.Environ()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "git clone "+missing+": exit status 128: fatal: repository '"+missing+"' does not exist")

	empty := filepath.Join(t.TempDir(), "empty.git")
	git(t, filepath.Dir(empty), "init", "-q", "--bare", empty)
	_, _, err = clone(t, Clone{URL: empty, Env: os.Environ()})
	assert.EqualError(t, err, empty+" has no default branch to check out (an empty repository?); name one with spec.source.ref")

	ctx, cancel := context.WithCancelCause(context.Background())
	stop := context.Canceled
	cancel(stop)
	dir := t.TempDir()
	_, err = Clone{URL: bare, Env: os.Environ()}.Run(ctx, dir)
	assert.ErrorIs(t, err, stop)
}

// An https repository that asks for credentials fails at once: no prompt
// waits for a person in a nightly job. The server is a real HTTP server on
// 127.0.0.1 answering 401, as a private repository does.
func TestCloneNeverPrompts(t *testing.T) {
	t.Parallel()
	testtools.Need(t, "git", "apt-get install git")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	_, _, err := clone(t, Clone{URL: srv.URL + "/private.git", Env: os.Environ()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "terminal prompts disabled")
}

// A server that is not there is the environment's failure
// (SourceUnreachableError, exit 3 in a run); one that answers with a
// refusal (401, 404, no such repository) is the scenario's.
func TestCloneUnreachableIsTheEnvironments(t *testing.T) {
	t.Parallel()
	testtools.Need(t, "git", "apt-get install git")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now
	_, _, err = clone(t, Clone{URL: "http://" + closed + "/stack.git", Env: os.Environ()})
	var su *drills.SourceUnreachableError
	require.ErrorAs(t, err, &su, "%v", err)
	assert.Contains(t, err.Error(), "source repository unreachable: git clone http://"+closed+"/stack.git: exit status 128: fatal: unable to access")

	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	_, _, err = clone(t, Clone{URL: srv.URL + "/stack.git", Env: os.Environ()})
	require.Error(t, err)
	assert.False(t, errors.As(err, &su), "a 404 is an answer: %v", err)

	_, _, err = clone(t, Clone{URL: filepath.Join(t.TempDir(), "missing.git"), Env: os.Environ()})
	require.Error(t, err)
	assert.False(t, errors.As(err, &su), "a repository that does not exist is the scenario's mistake: %v", err)
}

func TestWorkdir(t *testing.T) {
	t.Parallel()
	bare, _ := upstream(t)
	root, _, err := clone(t, Clone{URL: bare, Env: os.Environ()})
	require.NoError(t, err)

	wd, err := Workdir(root, "")
	require.NoError(t, err)
	assert.Equal(t, root, wd)
	wd, err = Workdir(root, "stack")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "stack"), wd)

	_, err = Workdir(root, "nope")
	assert.EqualError(t, err, `spec.source.path "nope" is not in the checked-out commit`)
	_, err = Workdir(root, "version.txt")
	assert.EqualError(t, err, `spec.source.path "version.txt" is not a folder of the checked-out commit`)
	_, err = Workdir(root, "outside")
	assert.EqualError(t, err, `spec.source.path "outside" leads out of the clone through a symlink`)
}

func TestDisplayHidesCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://x-access-token:ghp_secret@github.com/org/repo.git", "https://x-access-token:***@github.com/org/repo.git"},
		{"https://ghp_secret@github.com/org/repo.git", "https://***@github.com/org/repo.git"},
		{"https://github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"ssh://git@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"},
		{"git@github.com:org/repo.git", "git@github.com:org/repo.git"},
		{"/srv/git/repo.git", "/srv/git/repo.git"},
		{"https://user:pa%zz-secret@host/repo", "https://user:***@host/repo"},
		{"https://x:${SECRET}@host/repo", "https://x:***@host/repo"},
		{"https://%zz${SECRET}@host/repo", "https://***@host/repo"},
		{"https://host/a@b%zz", "https://host/a@b%zz"},
	}
	for _, tt := range tests {
		got := Display(tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		assert.NotContains(t, got, "secret")
	}
}

func TestLocal(t *testing.T) {
	t.Parallel()
	assert.Equal(t, filepath.Join("/srv/scenarios", "repo.git"), Local("repo.git", "/srv/scenarios"))
	assert.Equal(t, filepath.Join("/srv", "repo.git"), Local("../repo.git", "/srv/scenarios"))
	assert.Equal(t, "/abs/repo.git", Local("/abs/repo.git", "/srv"))
	assert.Equal(t, "file:///abs/repo.git", Local("file:///abs/repo.git", "/srv"))
	assert.Equal(t, "git@host:org/repo.git", Local("git@host:org/repo.git", "/srv"))
}
