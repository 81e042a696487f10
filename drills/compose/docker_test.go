package compose

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/internal/testtools"
)

// These tests run the real docker compose plugin against the real Docker
// engine. Their images are FROM scratch with the static testdata/app
// binary, built by the classic builder: nothing is pulled.

var (
	appOnce sync.Once
	appBin  string
	appErr  error
)

// appBinary builds testdata/app once per test process, statically.
func appBinary(t *testing.T) string {
	t.Helper()
	appOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		dir, err := os.MkdirTemp("", "drill-compose-app-")
		if err != nil {
			appErr = err
			return
		}
		appBin = filepath.Join(dir, "app")
		cmd := exec.Command("go", "build", "-trimpath", "-o", appBin, ".")
		cmd.Dir = filepath.Join(filepath.Dir(file), "testdata", "app")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if out, err := cmd.CombinedOutput(); err != nil {
			appErr = fmt.Errorf("go build testdata/app: %w: %s", err, out)
		}
	})
	require.NoError(t, appErr)
	return appBin
}

// appDockerfile is the image of a test's stack. Its LABEL, first, names the
// stack: the parallel tests build the same binary, and without it their
// images would share the builder's cached layers, so that one test's down
// (which removes the images it built, their layers with them) could pull a
// layer from under another test's build ("failed to get digest").
func appDockerfile(project string) string {
	return "FROM scratch\nLABEL drill.test.stack=" + project + "\nCOPY app /app\nEXPOSE 8080\nENTRYPOINT [\"/app\"]\n"
}

// stack is a compose project of one test: a workdir with the app binary,
// its Dockerfile and compose.yaml, and an environment like a cycle's.
type stack struct {
	target  *Target
	env     *drills.Env
	log     *testtools.Buffer
	project string
}

func newStack(t *testing.T, composeYAML string, opts ...Option) *stack {
	t.Helper()
	testtools.NeedCompose(t)
	work := t.TempDir()
	bin, err := os.ReadFile(appBinary(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(work, "app"), bin, 0o755))
	project := "drill-test-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")) + "-" + randomHex(t)
	writeFiles(t, work, map[string]string{"Dockerfile": appDockerfile(project), "compose.yaml": composeYAML})
	log := &testtools.Buffer{}
	env := &drills.Env{RunID: "20261127T000000Z-" + randomHex(t), Scenario: "test", Cycle: 1, Workdir: work, RunDir: t.TempDir(),
		Vars: stepVars(), Log: log}
	s := &stack{target: New(project, []string{"compose.yaml"}, opts...), env: env, log: log, project: project}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("step log:\n%s", log.String())
		}
		removeByLabel(t, project)
	})
	return s
}

// stepVars is the environment a step gets: the host basics, and docker's
// own variables when they are set.
func stepVars() map[string]string {
	vars := map[string]string{}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT"} {
		if v, ok := os.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	return vars
}

func randomHex(t *testing.T) string {
	b := make([]byte, 3)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// removeByLabel removes whatever a failed test left of a project, with
// docker itself rather than the code under test.
func removeByLabel(t *testing.T, project string) {
	filter := "label=" + ProjectLabel + "=" + project
	for _, args := range [][]string{{"ps", "-aq", "--filter", filter}, {"network", "ls", "-q", "--filter", filter}, {"volume", "ls", "-q", "--filter", filter}, {"image", "ls", "-q", "--filter", filter}, {"image", "ls", "-q", "--filter", "reference=" + project + "-*"}} {
		out, _ := exec.Command("docker", args...).Output()
		ids := strings.Fields(string(out))
		if len(ids) == 0 {
			continue
		}
		rm := map[string][]string{"ps": {"rm", "-f", "-v"}, "network": {"network", "rm"}, "volume": {"volume", "rm", "-f"}, "image": {"image", "rm", "-f"}}[args[0]]
		if out, err := exec.Command("docker", append(rm, ids...)...).CombinedOutput(); err != nil {
			t.Logf("cleanup of %s: %v: %s", project, err, out)
		}
	}
}

// get fetches url until it answers 200 or the deadline passes.
func get(t *testing.T, url string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return strings.TrimSpace(string(body))
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		require.True(t, time.Now().Before(deadline), "GET %s: %v", url, err)
		<-time.After(100 * time.Millisecond) // polling the server
	}
}

func TestUpVerifyDownNothingLeft(t *testing.T) {
	t.Parallel()
	s := newStack(t, `services:
  web:
    build: .
    environment: {APP_NAME: web}
    ports: ["127.0.0.1::8080"]
    volumes: [data:/data]
    healthcheck: {test: ["CMD", "/app", "check"], interval: 1s, timeout: 2s, retries: 30}
  api:
    build: .
    image: ${API_IMAGE}
    environment: {APP_NAME: api}
    ports: ["8080"]
volumes:
  data: {}
`, WithWait(time.Minute))
	apiImage := s.project + "-api-image:dev"
	s.env.Vars["API_IMAGE"] = apiImage
	ctx := context.Background()

	pre, err := s.target.Preexisting(ctx, s.env)
	require.NoError(t, err)
	assert.Empty(t, pre)
	assert.Equal(t, []string{apiImage, s.project + "-web"}, s.target.Images(), "known before provision, for the ledger")

	require.NoError(t, s.target.Provision(ctx, s.env))
	assert.Contains(t, s.log.String(), "compose: project "+s.project+" up in ")

	outs, err := s.target.Outputs(ctx, s.env)
	require.NoError(t, err)
	assert.Equal(t, s.project, outs["COMPOSE_PROJECT"])
	require.Contains(t, outs, "WEB_PORT_8080")
	require.Contains(t, outs, "API_PORT_8080")
	assert.Len(t, outs, 3)
	assert.Equal(t, "web", get(t, "http://127.0.0.1:"+outs["WEB_PORT_8080"]+"/name"))
	assert.Equal(t, "api", get(t, "http://127.0.0.1:"+outs["API_PORT_8080"]+"/name"))

	// The leftover check sees the project while it is up: it can fail.
	up, err := s.target.Leftovers(ctx, s.env)
	require.NoError(t, err)
	kinds := map[string]int{}
	for _, item := range up {
		kinds[strings.Fields(item)[0]]++
	}
	assert.Equal(t, map[string]int{"container": 2, "network": 1, "volume": 1, "image": 2}, kinds, "%v", up)
	assert.Contains(t, up, "image "+apiImage)

	require.NoError(t, s.target.Destroy(ctx, s.env))
	left, err := s.target.Leftovers(ctx, s.env)
	require.NoError(t, err)
	assert.Empty(t, left)
	assert.NoError(t, s.target.Destroy(ctx, s.env), "destroy is idempotent")

	// Something started outside compose with the project's label (an image
	// BuildKit would label, a container a script ran) is found, and drill
	// gc's target, which has no compose file, removes it.
	extraImage := s.project + "-extra:dev"
	build := exec.Command("docker", "build", "-q", "--label", ProjectLabel+"="+s.project, "-t", extraImage, s.env.Workdir)
	build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command("docker", "run", "-d", "--label", ProjectLabel+"="+s.project, "--name", s.project+"-extra", extraImage).CombinedOutput()
	require.NoError(t, err, "%s", out)
	left, err = s.target.Leftovers(ctx, s.env)
	require.NoError(t, err)
	assert.Len(t, left, 2, "%v", left)
	assert.Contains(t, strings.Join(left, "\n"), "container "+s.project+"-extra (")
	assert.Contains(t, left, "image "+extraImage)

	gc := New(s.project, nil, WithImages(s.target.Images()))
	gcEnv := &drills.Env{RunID: s.env.RunID, Scenario: "test", RunDir: t.TempDir(), Vars: stepVars(), Log: s.log}
	require.NoError(t, gc.Destroy(ctx, gcEnv))
	left, err = gc.Leftovers(ctx, gcEnv)
	require.NoError(t, err)
	assert.Empty(t, left)
}

func TestProvisionFailureExplainsWhy(t *testing.T) {
	t.Parallel()
	s := newStack(t, `services:
  sick:
    build: .
    healthcheck: {test: ["CMD", "/app", "fail"], interval: 1s, timeout: 2s, retries: 2}
`, WithWait(time.Minute))
	ctx := context.Background()
	_, err := s.target.Preexisting(ctx, s.env)
	require.NoError(t, err)
	err = s.target.Provision(ctx, s.env)
	require.Error(t, err)
	var ev *drills.EvidenceError
	require.ErrorAs(t, err, &ev)
	assert.Contains(t, ev.Evidence, s.project+"-sick-1 (service sick): ")
	assert.Contains(t, ev.Evidence, "unhealthy")
	assert.Contains(t, ev.Evidence, "app: unhealthy on purpose", "the healthcheck's own output")
	var ce *CommandError
	require.ErrorAs(t, err, &ce)
	assert.NotZero(t, ce.Code)

	dir := filepath.Join(s.env.RunDir, "c1-target-logs")
	require.NoError(t, s.target.ExportLogs(ctx, s.env, dir))
	logs, err := os.ReadFile(filepath.Join(dir, "compose-logs.txt"))
	require.NoError(t, err)
	assert.Contains(t, string(logs), "app: listening on :8080")
	inspect, err := os.ReadFile(filepath.Join(dir, "docker-inspect.json"))
	require.NoError(t, err)
	assert.Contains(t, string(inspect), `"Health"`)
	assert.FileExists(t, filepath.Join(dir, "compose-ps.json"))

	require.NoError(t, s.target.Destroy(ctx, s.env))
	left, err := s.target.Leftovers(ctx, s.env)
	require.NoError(t, err)
	assert.Empty(t, left)
}

func TestProvisionIsCanceledLikeCtrlC(t *testing.T) {
	t.Parallel()
	s := newStack(t, `services:
  slow:
    build: .
    healthcheck: {test: ["CMD", "/app", "fail"], interval: 1s, retries: 1000}
`, WithWait(10*time.Minute))
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	done := make(chan error, 1)
	go func() { done <- s.target.Provision(ctx, s.env) }()
	// Cancel once compose waits for the container to become healthy.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := exec.Command("docker", "ps", "-q", "--filter", "label="+ProjectLabel+"="+s.project).Output()
		if err == nil && len(strings.TrimSpace(string(out))) > 0 {
			break
		}
		select {
		case err := <-done:
			require.FailNow(t, "provision returned before its container ran", "%v", err)
		default:
		}
		require.True(t, time.Now().Before(deadline), "the container of %s never ran", s.project)
		<-time.After(100 * time.Millisecond) // polling docker
	}
	stop := errors.New("operator pressed Ctrl-C")
	cancel(stop)
	select {
	case err := <-done:
		require.ErrorIs(t, err, stop)
		assert.Contains(t, s.log.String(), "interrupted (SIGINT)")
		assert.NotContains(t, s.log.String(), "after ignoring SIGINT", "compose stops on SIGINT, without SIGTERM or SIGKILL")
	case <-time.After(interruptGrace + killGrace + 10*time.Second):
		require.FailNow(t, "provision did not return after its context ended")
	}
	require.NoError(t, s.target.Destroy(context.Background(), s.env))
	left, err := s.target.Leftovers(context.Background(), s.env)
	require.NoError(t, err)
	assert.Empty(t, left)
}

func TestMissingToolsAreToolMissing(t *testing.T) {
	testtools.NeedCompose(t)
	ctx := context.Background()
	// A DOCKER_CONFIG without cli-plugins: docker finds no compose plugin.
	noPlugin := stepVars()
	noPlugin["DOCKER_CONFIG"] = t.TempDir()
	emptyPath := t.TempDir()
	tests := []struct {
		name, tool, hint string
		vars             map[string]string
		drillPath        string
	}{
		{name: "no compose plugin", tool: "docker compose", hint: "make tools", vars: noPlugin},
		{name: "no docker", tool: "docker", hint: "install Docker", vars: map[string]string{"PATH": emptyPath}, drillPath: emptyPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.drillPath != "" {
				t.Setenv("PATH", tt.drillPath) // not even on drill's own PATH
			}
			env := &drills.Env{RunID: "20261127T000000Z-abcdef", Cycle: 1, Workdir: t.TempDir(), Vars: tt.vars}
			target := New("drill-test-missing-"+randomHex(t), []string{"compose.yaml"})
			_, err := target.Preexisting(ctx, env)
			var tm *drills.ToolMissingError
			require.ErrorAs(t, err, &tm)
			assert.Equal(t, tt.tool, tm.Tool)
			assert.Contains(t, tm.Error(), tt.hint)
			assert.ErrorAs(t, target.Provision(ctx, env), &tm)
			// Nothing was created, so the destroy and its check pass: the
			// run says exit 3, not "teardown failed".
			assert.NoError(t, target.Destroy(ctx, env))
			left, err := target.Leftovers(ctx, env)
			assert.NoError(t, err)
			assert.Empty(t, left)
		})
	}
}

// someoneElsesImage builds, with the classic builder, an image of the app
// (runnable, FROM scratch) that is not the project's: no compose label, a
// label of its own so that no build of the test shares it through the
// cache. It returns its ID.
func someoneElsesImage(t *testing.T, tags ...string) string {
	t.Helper()
	dir := t.TempDir()
	bin, err := os.ReadFile(appBinary(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app"), bin, 0o755))
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\nLABEL owner=someone-else-" + randomHex(t) + "\nCOPY app /app\nENTRYPOINT [\"/app\"]\n"})
	return testtools.BuildClassic(t, dir, tags...)
}

// imageExists says whether an image of that ID is still there.
func imageExists(t *testing.T, id string) bool {
	t.Helper()
	return slices.Contains(testtools.ImageIDs(t), id)
}

func imageID(t *testing.T, ref string) string { return testtools.ImageID(t, ref) }

// An image is the project's only when the run made it: a service that
// builds and names its image after one that was already there (someone
// else's, or one a service merely runs when it is not rebuilt) leaves that
// image, and every other tag of its repository, to its owner, through the
// from-scratch check, the leftover check, destroy and gc alike; the image
// the run builds is removed.
func TestImagesNamedLikeTheServicesButNotBuiltByTheRunStay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		build bool
		// gcFirst: the run dies after up, and gc removes what it left
		// before the run's own destroy (then nothing to do) is tried.
		gcFirst bool
	}{
		{name: "rebuilt", build: true},
		{name: "not_rebuilt_collected_by_gc", build: false, gcFirst: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := "drill-test-theirs-" + randomHex(t)
			// app names its image without a tag (latest); run builds a tag
			// of the same repository that is not there yet; own gets
			// compose's name, <project>-own.
			s := newStack(t, `services:
  app:
    build: .
    image: `+repo+`
  run:
    build: .
    image: `+repo+`:run
  own:
    build: {context: ., dockerfile: Dockerfile.own}
`, WithBuild(tt.build), WithWait(time.Minute))
			// The run's own builds share no cache with any other test's.
			writeFiles(t, s.env.Workdir, map[string]string{
				"Dockerfile":     "FROM scratch\nLABEL drill.test=" + s.project + "\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",
				"Dockerfile.own": "FROM scratch\nLABEL drill.test.own=" + s.project + "\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",
			})
			theirs := someoneElsesImage(t, repo+":latest", repo+":keep")
			// What own builds is already there under another name, built
			// as compose's classic build does (its label last): the
			// builder's cache gives the run that very image, created before
			// the run, and the run's tag on it is still the run's.
			cacheSource := "drill-test-cache-source-" + randomHex(t) + ":x"
			build := exec.Command("docker", "build", "-q", "-f", filepath.Join(s.env.Workdir, "Dockerfile.own"),
				"--label", "com.docker.compose.image.builder=classic", "-t", cacheSource, s.env.Workdir)
			build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
			out, err := build.CombinedOutput()
			require.NoError(t, err, "%s", out)
			cached := imageID(t, cacheSource)
			t.Cleanup(func() {
				_ = exec.Command("docker", "image", "rm", "--force", repo+":latest", repo+":keep", repo+":run", cacheSource).Run()
			})
			ctx := context.Background()

			pre, err := s.target.Preexisting(ctx, s.env)
			require.NoError(t, err)
			assert.Empty(t, pre, "an image merely named like the service's is not the project's")

			since := time.Now() // what the ledger entry records, before up
			require.NoError(t, s.target.Provision(ctx, s.env))
			built := imageID(t, repo+":run")
			require.NotEmpty(t, built)
			require.NotEqual(t, theirs, built)
			require.Equal(t, cached, imageID(t, s.project+"-own:latest"), "own's build came from the cache")
			up, err := s.target.Leftovers(ctx, s.env)
			require.NoError(t, err)
			var images []string
			for _, item := range up {
				if strings.HasPrefix(item, "image ") {
					images = append(images, item)
				}
			}
			want := []string{"image " + repo + ":latest", "image " + repo + ":run", "image " + s.project + "-own:latest"}
			if !tt.build {
				require.Equal(t, theirs, imageID(t, repo+":latest"), "not rebuilt: app runs the image that was there")
				want = want[1:]
			}
			assert.ElementsMatch(t, want, images, "the images the run built, by their exact name:tag, and nothing else")

			gcEnv := &drills.Env{RunID: s.env.RunID, Scenario: "test", RunDir: t.TempDir(), Vars: stepVars(), Log: s.log}
			gc := New(s.project, nil, WithImages(s.target.Images()), WithSince(since))
			gcDestroy := func() {
				require.NoError(t, gc.Destroy(ctx, gcEnv))
				left, err := gc.Leftovers(ctx, gcEnv)
				require.NoError(t, err)
				assert.Empty(t, left)
			}
			if tt.gcFirst {
				gcDestroy()
			}
			require.NoError(t, s.target.Destroy(ctx, s.env))
			left, err := s.target.Leftovers(ctx, s.env)
			require.NoError(t, err)
			assert.Empty(t, left)
			if !tt.gcFirst {
				gcDestroy()
			}

			assert.False(t, imageExists(t, built), "the image the run built is removed")
			assert.Empty(t, imageID(t, repo+":run"))
			assert.Equal(t, theirs, imageID(t, repo+":keep"), "another tag of the repository stays")
			assert.Empty(t, imageID(t, s.project+"-own:latest"), "the run's tag on the image from the cache is removed")
			assert.Equal(t, cached, imageID(t, cacheSource), "the image the cache gave, and its own tag, stay")
			if !tt.build {
				assert.Equal(t, theirs, imageID(t, repo+":latest"), "the image the service ran, there before the run, stays with its name")
			} else {
				assert.True(t, imageExists(t, theirs), "the image that had the name before the rebuild stays")
			}
		})
	}
}
