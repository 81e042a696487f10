package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
)

// reportFormats are the formats of `drill report` (docs/contract.md section 4).
var reportFormats = []string{"html", "junit", "ctrf", "prometheus", "markdown"}

// pemKey returns a multi-line PEM-like key of random base64 lines, and its
// lines that are secret (not the BEGIN and END lines).
func pemKey(t *testing.T) (string, []string) {
	t.Helper()
	var lines []string
	for range 6 {
		raw := make([]byte, 48)
		_, err := rand.Read(raw)
		require.NoError(t, err)
		lines = append(lines, base64.StdEncoding.EncodeToString(raw))
	}
	return "-----BEGIN TEST KEY-----\n" + strings.Join(lines, "\n") + "\n-----END TEST KEY-----\n", lines
}

// TestSecretsAppearNowhere is issue 4 item 7: one secret value goes into
// every path a value can take out of a drill (testdata/secrets), and it must
// appear nowhere under the results folder, in no report, and in nothing
// drill prints, even with debug logs on. The same holds for a value drill
// knows only as a Terraform output marked sensitive.
func TestSecretsAppearNowhere(t *testing.T) {
	t.Parallel() // each fault has its own results folder, TMPDIR and run id
	testtools.Need(t, "terraform", "make tools installs it")
	raw := make([]byte, 8)
	_, err := rand.Read(raw)
	require.NoError(t, err)
	secret := "drill-s3cr3t-" + hex.EncodeToString(raw)
	sum := sha256.Sum256([]byte(secret + "-digest"))
	digest := hex.EncodeToString(sum[:]) // what Terraform's sha256() returns
	leaks := map[string]string{"the secret": secret, "the sensitive Terraform output": digest}
	// Every form of these keeps its random hex part as it is (hex digits
	// are never escaped): finding that part anywhere is a leak of some form.
	special := `q"u o<t>e\s'l$a-` + hex.EncodeToString(raw[:4]) + "x" + hex.EncodeToString(raw[4:])
	leaks["the special secret's random part"] = hex.EncodeToString(raw[:4]) + "x"
	key, keyLines := pemKey(t)
	for i, line := range keyLines {
		leaks[fmt.Sprintf("line %d of the PEM key", i+1)] = line
	}

	repo := gitCopy(t, map[string]string{".": "testdata/secrets"})
	require.NoError(t, os.WriteFile(filepath.Join(repo, "key.pem"), []byte(key), 0o600))
	f := newFault(t, "DRILL_TEST_SECRET="+secret, "DRILL_TEST_SPECIAL="+special, "DEAD_PORT="+strconv.Itoa(freePort(t)))
	args := []string{"run", "-vv", "--results", f.results, "--junit", filepath.Join(f.results, "run-junit.xml")}
	var printed []result
	r := drill(t, f.env, append(args, filepath.Join(repo, "scenario.yaml"))...)
	printed = append(printed, r)
	assert.Equal(t, 1, r.code, "the http check fails on purpose")

	// Every path was taken: otherwise the test would prove nothing.
	run := readRun(t, f.results, "secrets")
	require.Len(t, run.Cycles, 1)
	c := run.Cycles[0]
	logOf := func(step string) string {
		s := stepByName(t, c, step)
		require.NotEmpty(t, s.Log, step)
		data, err := os.ReadFile(filepath.Join(f.results, s.Log))
		require.NoError(t, err)
		return string(data)
	}
	assert.Contains(t, logOf("provision"), `"app-***"`, "terraform's plan output, redacted")
	echo := logOf("echo")
	assert.Contains(t, echo, "token: ***")
	assert.Contains(t, echo, "split: ***", "a secret split across two writes")
	assert.Contains(t, echo, "terraform outputs: *** ***", "sensitive Terraform outputs")
	assert.Contains(t, echo, "on stderr: ***")
	flaky := stepByName(t, c, "flaky")
	assert.Equal(t, 2, flaky.Attempts)
	assert.Contains(t, logOf("flaky"), "failing once with ***")
	healthy := stepByName(t, c, "healthy")
	assert.Equal(t, results.StatusFailed, healthy.Status)
	require.NotNil(t, healthy.Error)
	assert.Contains(t, healthy.Error.Message, "token=***&digest=***", "the error message, redacted")
	assert.Contains(t, healthy.Error.OutputTail, "token=***", "the output tail, redacted")
	require.NotNil(t, run.Error)
	assert.Contains(t, run.Error.Message, "token=***", "the run's error, redacted")
	assert.Contains(t, logOf("goodbye"), "teardown still sees *** and ***")
	forms := logOf("forms")
	assert.Contains(t, forms, "shell: ***\n", "printf %q of the special secret")
	assert.Contains(t, forms, "    ***", "an indented line of the key")
	assert.Contains(t, forms, `{"key": "***"}`, "the key with its newlines as \\n")
	assert.Contains(t, forms, "long: "+strings.Repeat("x", 100000)+"*** ***\n", "after 100 kB on one line")
	assert.Contains(t, healthy.Error.Message, "127.0.0.1:", "the http client's error names the URL")
	assert.Contains(t, logOf("provision"), `"special-***"`, "terraform's HCL-quoted plan output")
	assert.Contains(t, r.stderr, "DEBUG", "debug logs are on: they must not leak either")

	for _, args := range [][]string{
		{"status", "--results", f.results, "-o", "json"},
		{"status", "--results", f.results},
		{"list", "--results", f.results, filepath.Join(repo, "scenario.yaml")},
		{"gc", "--results", f.results, "-o", "json"},
	} {
		printed = append(printed, drill(t, f.env, args...))
	}

	// Every report format, into the results folder.
	dir := filepath.Join(f.results, "reports")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, format := range reportFormats {
		rep := drill(t, f.env, "report", "--results", f.results, "--format", format)
		assert.Equal(t, 0, rep.code, "drill report --format %s", format)
		assert.NotEmpty(t, rep.stdout, format)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "report."+format), []byte(rep.stdout), 0o644))
		printed = append(printed, rep)
	}
	assert.FileExists(t, filepath.Join(f.results, "run-junit.xml"), "drill run --junit wrote its report")

	// Every answer of drill serve: the API, the page, the metrics, the logs.
	port := freePort(t)
	srv := startDrill(t, f.env, "serve", "--results", f.results, "--addr", fmt.Sprintf("127.0.0.1:%d", port))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	srv.until(t, "serve answers", 30*time.Second, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	paths := []string{"/", "/metrics", "/api/index", "/api/scenarios", "/api/scenarios/secrets/runs", "/api/scenarios/secrets/runs/" + run.RunID}
	for _, s := range c.Steps {
		if s.Log != "" {
			paths = append(paths, "/api/scenarios/secrets/runs/"+run.RunID+"/logs/"+filepath.Base(s.Log))
		}
	}
	for _, path := range paths {
		resp, err := http.Get(base + path)
		require.NoError(t, err, path)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		printed = append(printed, result{stdout: string(body)})
	}

	files := 0
	require.NoError(t, filepath.WalkDir(f.results, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for what, v := range leaks {
			assert.NotContains(t, string(data), v, "%s in %s", what, path)
		}
		return nil
	}))
	assert.Greater(t, files, 10, "logs, documents, ledger, history, index, junit")
	for _, p := range printed {
		for what, v := range leaks {
			assert.NotContains(t, p.stdout, v, "%s on stdout", what)
			assert.NotContains(t, p.stderr, v, "%s on stderr", what)
		}
	}
	assert.False(t, strings.Contains(r.stdout+r.stderr, "s3cr3t"), "not even a part of the secret")
}
