package scenarios

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/testtools"
)

// writeScenario writes a scenario whose spec.source is source (on line 5,
// its value at column 11) into dir, and returns its path.
func writeScenario(t *testing.T, dir, source string) string {
	t.Helper()
	data := "apiVersion: drill/v1\nkind: Scenario\nmetadata: {name: src}\nspec:\n  source: " + source + `
  target: {none: {}}
  steps: [{name: a, run: "true"}]
`
	path := filepath.Join(dir, "s.yaml")
	require.NoError(t, os.WriteFile(path, []byte(data), 0o644))
	return path
}

// real is dir with symlinks resolved (t.TempDir is under a symlink on macOS).
func real(t *testing.T, dir string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	return r
}

func gitInit(t *testing.T, dir string) {
	t.Helper()
	testtools.Need(t, "git", "the git work tree exception is checked with git")
	out, err := exec.Command("git", "init", "-q", dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

func sourceProblem(t *testing.T, path string) Problem {
	t.Helper()
	_, err := Load(path, env(nil))
	le := loadError(t, err)
	require.Len(t, le.Problems, 1, "%v", err)
	p := le.Problems[0]
	assert.Equal(t, []any{path, 5, 11, "spec.source"}, []any{p.File, p.Line, p.Column, p.Field})
	return p
}

func TestSourceRoot(t *testing.T) {
	if insideGitWorkTree("/") {
		t.Skip("/ is inside a git work tree here, so it is a fine source")
	}
	p := sourceProblem(t, writeScenario(t, t.TempDir(), "/"))
	assert.Equal(t, "source folder / is the whole file system; point spec.source at the stack's own folder, or keep it in a git work tree (then only tracked files are copied)", p.Message)
}

func TestSourceHoldingTheTemporaryFolder(t *testing.T) {
	root := real(t, t.TempDir())
	src := filepath.Join(root, "src")
	tmp := filepath.Join(src, "build", "tmp")
	require.NoError(t, os.MkdirAll(tmp, 0o755))
	t.Setenv("TMPDIR", tmp)
	path := writeScenario(t, root, "src")

	p := sourceProblem(t, path)
	assert.Equal(t, "source folder "+src+" holds the temporary folder "+tmp+", where every cycle's workdir is made: copying it would copy the workdir into itself; point spec.source at the stack's own folder, or keep it in a git work tree (then only tracked files are copied)", p.Message)

	// The temporary folder itself as the source, reached through a symlink.
	require.NoError(t, os.Symlink(tmp, filepath.Join(root, "tmp-link")))
	p = sourceProblem(t, writeScenario(t, root, "tmp-link"))
	assert.Contains(t, p.Message, "source folder "+filepath.Join(root, "tmp-link")+" holds the temporary folder "+tmp)

	// A source inside the temporary folder is fine (t.TempDir sources are).
	inner := filepath.Join(tmp, "stack")
	require.NoError(t, os.Mkdir(inner, 0o755))
	_, err := Load(writeScenario(t, root, inner), env(nil))
	assert.NoError(t, err)

	// In a git work tree only tracked files are copied: no recursion.
	gitInit(t, src)
	s, err := Load(writeScenario(t, root, "src"), env(nil))
	require.NoError(t, err)
	assert.Equal(t, src, s.Spec.Source.Dir)
}

func TestSourceSymlinkIsResolved(t *testing.T) {
	root := real(t, t.TempDir())
	stack := filepath.Join(root, "stack")
	require.NoError(t, os.Mkdir(stack, 0o755))
	require.NoError(t, os.Symlink(stack, filepath.Join(root, "current")))

	s, err := Load(writeScenario(t, root, "current"), env(nil))
	require.NoError(t, err)
	assert.Equal(t, stack, s.Spec.Source.Dir, "the copy starts from the real folder")

	// A symlink to a file, or to nothing, is not a source folder.
	require.NoError(t, os.WriteFile(filepath.Join(root, "file"), nil, 0o644))
	require.NoError(t, os.Symlink(filepath.Join(root, "file"), filepath.Join(root, "to-file")))
	p := sourceProblem(t, writeScenario(t, root, "to-file"))
	assert.Equal(t, "source "+filepath.Join(root, "to-file")+" is not a folder", p.Message)

	require.NoError(t, os.Symlink(filepath.Join(root, "gone"), filepath.Join(root, "dangling")))
	p = sourceProblem(t, writeScenario(t, root, "dangling"))
	assert.Equal(t, "source folder "+filepath.Join(root, "dangling")+" does not exist", p.Message)
}

func TestCheckResultsFolder(t *testing.T) {
	root := real(t, t.TempDir())
	src := filepath.Join(root, "src")
	require.NoError(t, os.Mkdir(src, 0o755))
	path := writeScenario(t, root, "src")
	s, err := Load(path, env(nil))
	require.NoError(t, err)

	assert.NoError(t, s.CheckResultsFolder(filepath.Join(root, "results")), "next to the source is fine")
	assert.NoError(t, s.CheckResultsFolder(""))

	results := filepath.Join(src, "drill-results") // not created yet
	err = s.CheckResultsFolder(results)
	le := loadError(t, err)
	require.Len(t, le.Problems, 1)
	assert.Equal(t, path+":5:11: spec.source: source folder "+src+" holds the results folder "+results+
		": every cycle would copy the results of earlier runs into its workdir; point spec.source at the stack's own folder, put the results elsewhere, or keep the source in a git work tree (then only tracked files are copied)",
		le.Problems[0].String())

	// Reached through a symlink, and relative to the working directory.
	require.NoError(t, os.Symlink(src, filepath.Join(root, "link")))
	t.Chdir(root)
	assert.Error(t, s.CheckResultsFolder(filepath.Join("link", "out")))
	assert.Error(t, s.CheckResultsFolder("src"), "the source itself as the results folder")

	// Unwritten spec.source (the scenario's folder) points at spec.
	unwritten := filepath.Join(src, "s.yaml")
	require.NoError(t, os.WriteFile(unwritten, []byte("apiVersion: drill/v1\nkind: Scenario\nmetadata: {name: src}\nspec:\n  target: {none: {}}\n  steps: [{name: a, run: x}]\n"), 0o644))
	s2, err := Load(unwritten, env(nil))
	require.NoError(t, err)
	le = loadError(t, s2.CheckResultsFolder(results))
	assert.Equal(t, []int{4, 1}, []int{le.Problems[0].Line, le.Problems[0].Column}, "at spec:")
	assert.True(t, strings.HasPrefix(le.Problems[0].Message, "source folder "+src+" holds the results folder"))

	gitInit(t, src)
	assert.NoError(t, s.CheckResultsFolder(results), "in a git work tree only tracked files are copied")
}

// spec.source's git form: a repository each cycle clones. Nothing is read
// from disk for it at load time (no folder, no compose files).
func TestGitSource(t *testing.T) {
	dir := t.TempDir()
	s, err := Load(writeScenario(t, dir, "\n    git: https://x-access-token:${GIT_TOKEN}@git.example/org/stack.git\n    ref: v1.2\n    path: deploy\n  passEnv: [GIT_TOKEN]"), env(nil))
	require.NoError(t, err)
	assert.Equal(t, Source{Git: &GitSource{URL: "https://x-access-token:${GIT_TOKEN}@git.example/org/stack.git", Ref: "v1.2", Path: "deploy"}}, s.Spec.Source)

	s, err = Load(writeScenario(t, dir, "\n    git: ../stack.git"), env(nil))
	require.NoError(t, err)
	assert.Equal(t, Source{Git: &GitSource{URL: "../stack.git"}}, s.Spec.Source, "relative to the scenario's folder when cloned, not resolved here")
}

func TestGitSourceProblems(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		source string
		field  string
		line   int
		col    int
		msg    string
	}{
		{"{ref: main}", "spec.source.git", 5, 3, `required field is missing: the repository to clone (a URL or a path)`},
		{`{git: ""}`, "spec.source.git", 5, 17, "must not be empty"},
		{"{git: --upload-pack=touch /tmp/x}", "spec.source.git", 5, 17, `"--upload-pack=touch /tmp/x" must not start with -`},
		{"{git: 'repo with space'}", "spec.source.git", 5, 17, `"repo with space" must not contain whitespace`},
		{"{git: '${NOPE}'}", "spec.source.git", 5, 17, `${NOPE} is not defined: set it in spec.env, spec.passEnv or spec.secrets (did you mean ${HOME}?)`},
		{`{git: r.git, ref: ""}`, "spec.source.ref", 5, 29, "must not be empty (leave ref out for the repository's default branch)"},
		{"{git: r.git, ref: --orphan}", "spec.source.ref", 5, 29, `"--orphan" is not a branch, tag or commit`},
		{"{git: r.git, ref: 'main~1'}", "spec.source.ref", 5, 29, `"main~1" is not a branch, tag or commit`},
		{"{git: r.git, path: ../up}", "spec.source.path", 5, 30, `"../up" escapes the workdir with ..`},
		{"{git: r.git, path: /abs}", "spec.source.path", 5, 30, `"/abs" must be relative to the workdir (a fresh copy of spec.source)`},
		{"{git: r.git, path: '${X}'}", "spec.source.path", 5, 30, `"${X}": path is not expanded; write the folder of the repository itself`},
		{"{git: r.git, branch: main}", "spec.source.branch", 5, 24, `unknown field "branch"`},
		{"[a, b]", "spec.source", 5, 11, "expected a folder (a string) or a git repository ({git: URL, ref: REF, path: SUBDIR}), got a list"},
	}
	for _, tt := range tests {
		_, err := Load(writeScenario(t, dir, tt.source), env(nil))
		le := loadError(t, err)
		require.Len(t, le.Problems, 1, "%s: %v", tt.source, err)
		p := le.Problems[0]
		assert.Equal(t, []any{tt.field, tt.line, tt.col, tt.msg}, []any{p.Field, p.Line, p.Column, p.Message}, tt.source)
	}
}
