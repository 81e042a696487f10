package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type result struct {
	code           int
	stdout, stderr string
}

// drill runs the command line in-process, as main does, with empty stdin.
func drill(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, Streams{In: strings.NewReader(""), Out: &stdout, Err: &stderr})
	t.Logf("drill %s → exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// write writes files (path → content) under dir, making folders.
func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

func scenario(name, steps string) string {
	return "apiVersion: drill/v1\nkind: Scenario\nmetadata: {name: " + name + "}\nspec:\n  target: {none: {}}\n  steps:\n" + steps
}

// realDir is t.TempDir with symlinks resolved, as Load resolves sources.
func realDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	return d
}

func TestValidateReportsEveryFile(t *testing.T) {
	dir := realDir(t)
	write(t, dir, map[string]string{
		"good.yaml": scenario("good", "    - {name: a, run: \"true\"}\n"),
		// Two problems in one file, the second an undefined variable.
		"sub/two-problems.yaml": scenario("two", "    - {name: a, run: x, retries: 1000}\n    - {name: b, http: {url: \"http://h:${APP_PROT}/\"}}\n"),
		// Meant as a scenario, but with a misspelled kind: still reported.
		"sub/deeper/typo.yaml": "apiVersion: drill/v1\nkind: Scenaro\nmetadata: {name: typo}\n",
		"notes/readme.txt":     "not a scenario",
		"k8s/deploy.yaml":      "apiVersion: apps/v1\nkind: Deployment\n",
	})

	r := drill(t, "validate", dir+"/")
	assert.Equal(t, ExitUsage, r.code)
	assert.Equal(t, "ok  "+filepath.Join(dir, "good.yaml")+" (good)\n", r.stdout, "the valid ones still print ok")
	two, typo := filepath.Join(dir, "sub/two-problems.yaml"), filepath.Join(dir, "sub/deeper/typo.yaml")
	assert.Equal(t, "drill: 2 invalid scenarios:\n"+
		typo+`:2:7: kind: unsupported kind "Scenaro": want Scenario`+"\n"+
		two+":7:34: spec.steps[0].retries: must be at most 100, got 1000\n"+
		two+":8:29: spec.steps[1].http.url: ${APP_PROT} is not defined: set it in spec.env, spec.passEnv or spec.secrets\n",
		r.stderr)

	// Files named one by one, one of them missing: every one is reported.
	r = drill(t, "validate", two, filepath.Join(dir, "good.yaml"), filepath.Join(dir, "missing.yaml"), typo)
	assert.Equal(t, ExitUsage, r.code)
	assert.Equal(t, "ok  "+filepath.Join(dir, "good.yaml")+" (good)\n", r.stdout)
	assert.Contains(t, r.stderr, "drill: 2 invalid scenarios:\n")
	assert.Contains(t, r.stderr, typo+":2:7: kind:")
	assert.Contains(t, r.stderr, two+":7:34: spec.steps[0].retries:")
	assert.Contains(t, r.stderr, two+":8:29: spec.steps[1].http.url:")
	assert.Contains(t, r.stderr, "drill: find scenarios: stat "+filepath.Join(dir, "missing.yaml")+": no such file or directory\n")

	r = drill(t, "validate", filepath.Join(dir, "good.yaml"))
	assert.Equal(t, ExitOK, r.code)
	assert.Empty(t, r.stderr)
}

func TestValidateDuplicateNames(t *testing.T) {
	dir := realDir(t)
	write(t, dir, map[string]string{
		"a.yaml": scenario("same", "    - {name: a, run: x}\n"),
		"b.yaml": scenario("same", "    - {name: a, run: x}\n"),
	})
	r := drill(t, "validate", dir)
	assert.Equal(t, ExitUsage, r.code)
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	assert.Equal(t, "ok  "+a+" (same)\n", r.stdout)
	assert.Equal(t, "drill: invalid scenario:\n"+b+`:3:18: metadata.name: "same" is also used by `+a+": names must be unique, they name the results folder\n", r.stderr)
}

// A scenario that cannot run is refused before anything runs: drill run
// provisions nothing and runs no step.
func TestRunRefusesInvalidScenarioBeforeAnything(t *testing.T) {
	dir := realDir(t)
	marker := filepath.Join(dir, "ran")
	write(t, dir, map[string]string{
		"s.yaml": scenario("undefined", "    - {name: a, run: \"touch "+marker+"\"}\n    - {name: b, http: {url: \"http://${DRILL_NOT_SET_ANYWHERE}/\"}}\n"),
	})
	results := filepath.Join(realDir(t), "results")
	r := drill(t, "--results", results, "run", filepath.Join(dir, "s.yaml"))
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, filepath.Join(dir, "s.yaml")+":8:29: spec.steps[1].http.url: ${DRILL_NOT_SET_ANYWHERE} is not defined")
	assert.NoFileExists(t, marker, "no step ran")
	assert.NoDirExists(t, results, "nothing was recorded")

	// A DRILL_* variable of the environment drill runs in is passed to
	// steps, so it is defined.
	t.Setenv("DRILL_NOT_SET_ANYWHERE", "127.0.0.1:1")
	r = drill(t, "--results", results, "validate", filepath.Join(dir, "s.yaml"))
	assert.Equal(t, ExitOK, r.code)
}

func TestResultsFolderInsideTheSource(t *testing.T) {
	dir := realDir(t)
	write(t, dir, map[string]string{
		"stack/s.yaml": scenario("inside", "    - {name: a, run: x}\n"),
	})
	file := filepath.Join(dir, "stack", "s.yaml")
	results := filepath.Join(dir, "stack", "drill-results")
	want := file + ":4:1: spec.source: source folder " + filepath.Join(dir, "stack") + " holds the results folder " + results + ": "
	for _, cmd := range []string{"validate", "run", "plan"} {
		r := drill(t, "--results", results, cmd, file)
		assert.Equal(t, ExitUsage, r.code, cmd)
		assert.Contains(t, r.stderr, want, cmd)
		assert.NoDirExists(t, results, cmd)
	}
	r := drill(t, "--results", filepath.Join(dir, "elsewhere"), "validate", file)
	assert.Equal(t, ExitOK, r.code)
}

func TestFlagsAreUsageErrors(t *testing.T) {
	dir := realDir(t)
	write(t, dir, map[string]string{"s.yaml": scenario("flags", "    - {name: a, run: x}\n")})
	file := filepath.Join(dir, "s.yaml")
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"--log-format", "xml", "validate", file}, `drill: --log-format: "xml" is not console or json`},
		{[]string{"status", "--log-format=yaml"}, `drill: --log-format: "yaml" is not console or json`},
		{[]string{"run", "--timeout", "-1s", file}, "drill: --timeout must not be negative, got -1s"},
		{[]string{"run", "--teardown-timeout=-5m", file}, "drill: --teardown-timeout must not be negative, got -5m0s"},
		{[]string{"run", "--cycles", "101", file}, "drill: --cycles must be at most 100, got 101"},
		{[]string{"status", "--results", "gs://drills/nightly"}, `drill: --results gs://drills/nightly: scheme "gs" is not supported (s3, file)`},
		{[]string{"status", "--results", "s3://drills/nightly?bogus=1"}, `drill: --results s3://drills/nightly?bogus=1: open bucket s3://drills?bogus=1: unknown query parameter "bogus"`},
	}
	for _, tt := range tests {
		r := drill(t, append([]string{"--results", filepath.Join(dir, "results")}, tt.args...)...)
		assert.Equal(t, ExitUsage, r.code, tt.args)
		assert.Equal(t, tt.msg+"\n", r.stderr, tt.args)
		assert.Empty(t, r.stdout, tt.args)
	}
	assert.NoDirExists(t, filepath.Join(dir, "results"))
}

func TestPrintErrorEscapesControlCharacters(t *testing.T) {
	dir := realDir(t)
	// A file name drill did not choose, printed in every problem.
	name := filepath.Join(dir, "evil\x1b[2J.yaml")
	require.NoError(t, os.WriteFile(name, []byte("apiVersion: drill/v1\nkind: Scenario\n"), 0o644))
	r := drill(t, "validate", name)
	assert.Equal(t, ExitUsage, r.code)
	assert.NotContains(t, r.stderr, "\x1b")
	assert.Contains(t, r.stderr, `evil\x1b[2J.yaml:1:1: metadata: required field is missing`)
}

// A compose target's files are checked by validate and before a run: each
// must exist in the source and load, or the problem points at the file in
// the scenario (exit 2, nothing run).
func TestValidateComposeFiles(t *testing.T) {
	dir := realDir(t)
	target := "apiVersion: drill/v1\nkind: Scenario\nmetadata: {name: %s}\nspec:\n  target:\n    compose:\n      files: [%s]\n  steps:\n    - {name: a, run: \"true\"}\n"
	write(t, dir, map[string]string{
		"good/s.yaml":              fmt.Sprintf(target, "good", "deploy/compose.yaml"),
		"good/deploy/compose.yaml": "services:\n  web: {image: \"web:${TAG:-dev}\", ports: [\"8080\"]}\n",
		"missing/s.yaml":           fmt.Sprintf(target, "missing", "compose.yaml, prod.yaml"),
		"missing/compose.yaml":     "services:\n  web: {image: web}\n",
		"broken/s.yaml":            fmt.Sprintf(target, "broken", "compose.yaml"),
		"broken/compose.yaml":      "services:\n  web:\n    image: web\n    prots: [\"8080\"]\n",
	})
	r := drill(t, "validate", dir)
	assert.Equal(t, ExitUsage, r.code)
	assert.Equal(t, "ok  "+filepath.Join(dir, "good/s.yaml")+" (good)\n", r.stdout)
	assert.Contains(t, r.stderr, "drill: 2 invalid scenarios:\n")
	assert.Contains(t, r.stderr, filepath.Join(dir, "missing/s.yaml")+":7:29: spec.target.compose.files[1]: compose: prod.yaml: no such file in the source folder "+filepath.Join(dir, "missing")+"\n")
	assert.Contains(t, r.stderr, filepath.Join(dir, "broken/s.yaml")+":7:15: spec.target.compose.files[0]: compose: compose.yaml: ")
	assert.Contains(t, r.stderr, "prots")

	r = drill(t, "plan", filepath.Join(dir, "good/s.yaml"))
	assert.Equal(t, ExitOK, r.code)
	assert.Contains(t, r.stdout, "  compose services (deploy/compose.yaml):\n    web  image web:dev  ports 8080/tcp → DRILL_OUTPUT_WEB_PORT_8080\n")
	assert.Contains(t, r.stdout, "docker compose -p drill-<scenario>-<run>-c<N> -f deploy/compose.yaml up -d --wait --wait-timeout 2m0s --build")
}
