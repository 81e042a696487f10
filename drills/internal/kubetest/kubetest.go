// Package kubetest holds what the tests of the Kubernetes packages (kind,
// apply, wait) share: skipping when Docker or the node image is missing, one
// kind cluster at a time across test processes, a tiny FROM scratch image of
// a static Go web server, and a cluster that is always deleted.
package kubetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/kind"
	"github.com/redeploy-drill/drill/internal/testtools"
)

// HelloImage is the tag of the test image built by BuildHello.
const HelloImage = "drill-test-hello:dev"

// Buffer is the step log of kind tests: kind's goroutines write to it
// while the test reads it.
type Buffer = testtools.Buffer

// RequireDocker skips the test (fails it in CI, see testtools) when the
// docker command or its daemon is missing.
func RequireDocker(t testing.TB) {
	t.Helper()
	if err := kind.CheckDocker(context.Background()); err != nil {
		testtools.Missing(t, "needs Docker: "+err.Error())
	}
}

// NodeImage returns $DRILL_KIND_NODE_IMAGE, skipping the test (failing it in
// CI) when Docker or the image is missing.
func NodeImage(t testing.TB) string {
	t.Helper()
	RequireDocker(t)
	return testtools.NeedKind(t)
}

// Lock holds the machine-wide kind test lock until the test ends.
func Lock(t testing.TB) { testtools.KindLock(t) }

var (
	buildOnce sync.Once
	buildErr  error
)

// BuildHello builds HelloImage once per test process: testdata/hello
// compiled with CGO_ENABLED=0 into a FROM scratch image by a classic docker
// build (no BuildKit: nothing is pulled, so it works offline).
func BuildHello(t testing.TB) string {
	t.Helper()
	RequireDocker(t)
	buildOnce.Do(func() { buildErr = buildHello() })
	require.NoError(t, buildErr)
	return HelloImage
}

func buildHello() error {
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(file), "testdata", "hello")
	dir, err := os.MkdirTemp("", "drill-hello-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	gobuild := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "hello"), ".")
	gobuild.Dir = src
	gobuild.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := gobuild.CombinedOutput(); err != nil {
		return fmt.Errorf("go build hello: %w: %s", err, out)
	}
	dockerfile := "FROM scratch\nCOPY hello /hello\nUSER 65532\nENTRYPOINT [\"/hello\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	build := exec.Command("docker", "build", "-q", "-t", HelloImage, dir)
	build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("docker build %s: %w: %s", HelloImage, err, out)
	}
	return nil
}

// NewEnv returns the environment of cycle 1 of a test run, with fresh run
// and work folders and a Buffer as its log. The log is printed when the test
// fails.
func NewEnv(t testing.TB) (*drills.Env, *Buffer) {
	t.Helper()
	buf := &Buffer{}
	env := &drills.Env{
		RunID:    "20261127T000000Z-" + RandomHex(t, 3),
		Scenario: "test",
		Cycle:    1,
		Workdir:  t.TempDir(),
		RunDir:   t.TempDir(),
		Vars:     map[string]string{},
		Log:      buf,
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("step log:\n%s", buf.String())
		}
	})
	return env, buf
}

// RandomHex returns n random bytes in hex.
func RandomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// Cluster provisions a kind cluster for the test (holding Lock), with the
// node image of NodeImage, and deletes it when the test ends, failing the
// test if anything of it is left. The returned env has the target set.
func Cluster(t testing.TB, opts ...kind.Option) (*kind.Target, *drills.Env, *Buffer) {
	t.Helper()
	img := NodeImage(t)
	Lock(t)
	env, buf := NewEnv(t)
	env.Vars[kind.NodeImageVar] = img
	name := kind.ClusterName("test-"+strings.ToLower(strings.SplitN(t.Name(), "/", 2)[0]), env.RunID)
	target := kind.New(name, opts...)
	env.Target = target
	t.Cleanup(func() { Destroy(t, target, env) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	require.NoError(t, target.Provision(ctx, env), "provision kind cluster %s", name)
	t.Logf("cluster %s provisioned in %s", name, time.Since(start).Round(time.Millisecond))
	for _, line := range strings.Split(buf.String(), "\n") {
		if phaseLine.MatchString(line) {
			t.Log(line)
		}
	}
	return target, env, buf
}

// phaseLine matches the timings the kind target writes to the step log.
var phaseLine = regexp.MustCompile(`^kind: .* in [0-9.]+s$`)

// Destroy deletes the target and fails the test when something is left.
func Destroy(t testing.TB, target *kind.Target, env *drills.Env) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := target.Destroy(ctx, env); err != nil {
		t.Errorf("destroy %s: %v", target.Cluster(), err)
	}
	left, err := target.Leftovers(ctx, env)
	if err != nil {
		t.Errorf("leftovers of %s: %v", target.Cluster(), err)
	}
	if len(left) > 0 {
		t.Errorf("left after destroy: %v", left)
	}
}

// HelloManifests returns a Deployment and a NodePort Service named name,
// running image with imagePullPolicy Never (the image is loaded into the
// nodes, nothing is pulled) and a readiness probe on /healthz.
func HelloManifests(name, image string, nodePort int) string {
	return HelloDeployment(name, "", image, 1) + fmt.Sprintf(`---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  type: NodePort
  selector: {app: %[1]s}
  ports:
    - port: 80
      targetPort: 8080
      nodePort: %[2]d
`, name, nodePort)
}

// HelloDeployment returns the Deployment of HelloManifests with replicas
// pods, in namespace (none when empty).
func HelloDeployment(name, namespace, image string, replicas int) string {
	ns := ""
	if namespace != "" {
		ns = "\n  namespace: " + namespace
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s%[4]s
  labels: {app: %[1]s}
spec:
  replicas: %[3]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: hello
          image: %[2]s
          imagePullPolicy: Never
          ports: [{containerPort: 8080}]
          readinessProbe:
            httpGet: {path: /healthz, port: 8080}
            periodSeconds: 1
`, name, image, replicas, ns)
}

// Cleanups is the drills.Deferrer of a test, in place of the runner's: it
// keeps what steps defer, runs them newest first on Run, and runs whatever
// is left when the test ends, so a failed test leaves nothing either.
type Cleanups struct {
	mu   sync.Mutex
	list []drills.Cleanup
}

// NewCleanups gives env a Cleanups, run at the end of the test.
func NewCleanups(t testing.TB, env *drills.Env) *Cleanups {
	c := &Cleanups{}
	env.Cleanups = c
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := c.Run(ctx, env); err != nil {
			t.Errorf("cleanups at the end of the test: %v", err)
		}
	})
	return c
}

// Defer implements drills.Deferrer.
func (c *Cleanups) Defer(cl drills.Cleanup) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list = append(c.list, cl)
	return nil
}

// List returns what is deferred and not run yet, oldest first.
func (c *Cleanups) List() []drills.Cleanup {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]drills.Cleanup(nil), c.list...)
}

// Run runs the deferred cleanups newest first, forgets them, and returns
// their errors.
func (c *Cleanups) Run(ctx context.Context, env *drills.Env) error {
	c.mu.Lock()
	list := c.list
	c.list = nil
	c.mu.Unlock()
	var errs []error
	for i := len(list) - 1; i >= 0; i-- {
		if err := list[i].Remove(ctx, env); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", list[i].Name, err))
		}
	}
	return errors.Join(errs...)
}
