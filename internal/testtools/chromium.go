package testtools

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// ChromiumPath is the headless browser of the page tests (Debian's
// chromium package); the test skips without one (fails in CI).
func ChromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, "chromium is not installed (apt-get install chromium)")
	return ""
}

// Chromium runs headless Chromium on url with extra arguments and returns
// its standard output. Virtual time lets a page's scripts run (the
// dashboard polls every 5 s) without the test waiting in real time.
func Chromium(t testing.TB, url string, budget time.Duration, extra ...string) []byte {
	t.Helper()
	bin := ChromiumPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(),
		"--virtual-time-budget=" + strconv.FormatInt(budget.Milliseconds(), 10),
	}, extra...)
	args = append(args, url)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return stdout.Bytes()
}

// DumpDOM is the DOM Chromium rendered from url, parsed.
func DumpDOM(t testing.TB, url string, budget time.Duration) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(Chromium(t, url, budget, "--dump-dom")))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
