package compose

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProjectName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scenario, runID string
		cycle           int
		want            string
	}{
		{"compose-web", "20261127T071500Z-3f9a1c", 1, "drill-compose-web-3f9a1c-c1"},
		{"compose-web", "20261127T071500Z-3f9a1c", 12, "drill-compose-web-3f9a1c-c12"},
		{"Web.App", "20261127T071500Z-ABC", 2, "drill-webapp-abc-c2"},
		{strings.Repeat("a", 80), "20261127T071500Z-3f9a1c", 3, "drill-" + strings.Repeat("a", 63-len("drill-")-len("-3f9a1c-c3")) + "-3f9a1c-c3"},
		{"web", "norandomsuffix-", 1, "drill-web-andomsuffix-c1"}, // the last 12, like kind.ClusterName,
		{"---", "x-y", 1, "drill-y-c1"},
	}
	for _, tt := range tests {
		got := ProjectName(tt.scenario, tt.runID, tt.cycle)
		assert.Equal(t, tt.want, got, "%s %s %d", tt.scenario, tt.runID, tt.cycle)
		assert.LessOrEqual(t, len(got), 63)
		assert.Regexp(t, `^[a-z0-9][a-z0-9_-]*$`, got)
	}
}

func TestOutputsFromPs(t *testing.T) {
	t.Parallel()
	// Lines of `docker compose ps --format json` (trimmed to what drill
	// reads), as compose v5 prints them on a Docker 20.10 engine: the
	// IPv6 binding got another host port than the IPv4 one.
	ps := `{"ID":"a1","Name":"p-web-1","Service":"web","State":"running","Labels":"com.docker.compose.container-number=1,x=y","Publishers":[{"URL":"::","TargetPort":8080,"PublishedPort":32768,"Protocol":"tcp"},{"URL":"0.0.0.0","TargetPort":8080,"PublishedPort":32769,"Protocol":"tcp"}]}
{"ID":"b2","Name":"p-web-2","Service":"web","State":"running","Labels":"com.docker.compose.container-number=2","Publishers":[{"URL":"0.0.0.0","TargetPort":8080,"PublishedPort":32790,"Protocol":"tcp"}]}
{"ID":"c3","Name":"p-dns-server-1","Service":"dns-server","State":"running","Labels":"com.docker.compose.container-number=1","Publishers":[{"URL":"127.0.0.1","TargetPort":53,"PublishedPort":5353,"Protocol":"udp"},{"URL":"127.0.0.1","TargetPort":53,"PublishedPort":5354,"Protocol":"tcp"},{"URL":"","TargetPort":9000,"PublishedPort":0,"Protocol":"tcp"}]}`
	entries, err := decodeLines[psEntry]([]byte(ps))
	require.NoError(t, err)
	// The replicas come in any order; the first replica's ports win.
	entries[0], entries[1] = entries[1], entries[0]
	got, err := outputs("p", entries)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"COMPOSE_PROJECT":        "p",
		"WEB_PORT_8080":          "32769",
		"DNS_SERVER_PORT_53":     "5354",
		"DNS_SERVER_PORT_53_UDP": "5353",
	}, got)

	clash := `{"Service":"a-b","Publishers":[{"TargetPort":80,"PublishedPort":1,"Protocol":"tcp"}]}
{"Service":"a_b","Publishers":[{"TargetPort":80,"PublishedPort":2,"Protocol":"tcp"}]}`
	entries, err = decodeLines[psEntry]([]byte(clash))
	require.NoError(t, err)
	_, err = outputs("p", entries)
	assert.ErrorContains(t, err, `services "a-b" and "a_b" both give the output A_B_PORT_80`)
}

func TestDecodeLines(t *testing.T) {
	t.Parallel()
	type obj struct{ Name string }
	tests := []struct {
		in      string
		want    []obj
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "  \n", want: nil},
		{in: `{"Name":"a"}` + "\n" + `{"Name":"b"}` + "\n", want: []obj{{"a"}, {"b"}}},
		{in: `[{"Name":"a"},{"Name":"b"}]`, want: []obj{{"a"}, {"b"}}},
		{in: `{"Name":"a"}` + "\nWARNING: not json\n", wantErr: true},
	}
	for _, tt := range tests {
		got, err := decodeLines[obj]([]byte(tt.in))
		if tt.wantErr {
			assert.Error(t, err, "%q", tt.in)
			continue
		}
		require.NoError(t, err, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}

func TestCommandLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"compose", "--ansi", "never", "-p", "x", "-f", "a.yaml", "up", "--detach"}, "docker compose up"},
		{[]string{"rm", "--force", "--volumes", "abc"}, "docker rm"},
		{[]string{"volume", "rm", "--force", "v"}, "docker volume rm"},
		{[]string{"ps", "--all", "--filter", "label=x", "--format", "{{json .}}"}, "docker ps"},
		{[]string{"info", "--format", "{{json .ServerVersion}}"}, "docker info"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, commandLine(tt.args), "%v", tt.args)
	}
}

func TestConfigBuiltImages(t *testing.T) {
	t.Parallel()
	c := &config{Name: "p", Services: map[string]serviceConfig{
		"web":   {Build: &buildConfig{Context: "/w", Dockerfile: "Dockerfile"}},
		"api":   {Image: "api:dev", Build: &buildConfig{Context: "/a"}},
		"redis": {Image: "redis:7"},
	}}
	assert.Equal(t, []string{"api:dev", "p-web"}, c.builtImages())
}

func TestImageRef(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{"myapp", "myapp:latest"},
		{"myapp:latest", "myapp:latest"},
		{"myapp:1.2", "myapp:1.2"},
		{"registry.example:5000/team/myapp", "registry.example:5000/team/myapp:latest"},
		{"registry.example:5000/team/myapp:dev", "registry.example:5000/team/myapp:dev"},
		{"myapp@sha256:0123", "myapp@sha256:0123"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, imageRef(tt.name), tt.name)
	}
}

// writeFiles creates files (path → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	writeFiles(t, src, map[string]string{
		"deploy/compose.yaml": `services:
  web:
    build: {context: ../web, dockerfile: Dockerfile}
    ports: ["127.0.0.1::8080", "${API_PORT}:9090/udp"]
  cache:
    image: "redis:${REDIS_TAG:-7}"
`,
		"deploy/compose.override.yaml": "services:\n  cache:\n    ports: [\"6379\"]\n",
		"deploy/broken.yaml":           "services:\n  web:\n    build: [\n",
		"deploy/unknown.yaml":          "services:\n  web:\n    biuld: .\n",
		"deploy/no-image.yaml":         "services:\n  lonely: {}\n",
		"web/Dockerfile":               "FROM scratch\n",
		"outside/compose.yaml":         "services: {}\n",
	})
	outsideDir := t.TempDir()
	writeFiles(t, outsideDir, map[string]string{"compose.yaml": "services: {}\n"})
	require.NoError(t, os.Symlink(filepath.Join(outsideDir, "compose.yaml"), filepath.Join(src, "deploy", "escape.yaml")))
	require.NoError(t, os.Mkdir(filepath.Join(src, "deploy", "folder.yaml"), 0o755))
	vars := map[string]string{"API_PORT": "19090"}
	ctx := context.Background()

	services, err := Load(ctx, src, []string{"deploy/compose.yaml", "deploy/compose.override.yaml"}, "drill-x-run-c1", vars)
	require.NoError(t, err)
	assert.Equal(t, []Service{
		{Name: "cache", Image: "redis:7", Ports: []Port{{Spec: "6379/tcp", Output: "DRILL_OUTPUT_CACHE_PORT_6379"}}},
		{Name: "web", Image: "drill-x-run-c1-web", Build: "web", Dockerfile: "Dockerfile", Ports: []Port{
			{Spec: "127.0.0.1::8080/tcp", Output: "DRILL_OUTPUT_WEB_PORT_8080"},
			{Spec: "19090:9090/udp", Output: "DRILL_OUTPUT_WEB_PORT_9090_UDP"},
		}},
	}, services)

	tests := []struct {
		name  string
		files []string
		index int
		msg   string
	}{
		{"missing file", []string{"deploy/compose.yaml", "deploy/nope.yaml"}, 1, "deploy/nope.yaml: no such file in the source folder"},
		{"invalid YAML", []string{"deploy/broken.yaml"}, 0, "deploy/broken.yaml: "},
		{"unknown field", []string{"deploy/unknown.yaml"}, 0, "biuld"},
		{"a symlink out of the source", []string{"deploy/escape.yaml"}, 0, "deploy/escape.yaml: leads outside the source folder"},
		{"a folder", []string{"deploy/folder.yaml"}, 0, "deploy/folder.yaml: not a regular file"},
		{"absolute", []string{filepath.Join(src, "deploy/compose.yaml")}, 0, "must be relative to the source folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(ctx, src, tt.files, "p", vars)
			var fe *FileError
			require.True(t, errors.As(err, &fe), "want a *FileError, got %T: %v", err, err)
			assert.Equal(t, tt.index, fe.Index)
			assert.Contains(t, fe.Error(), tt.msg)
			if !filepath.IsAbs(tt.files[0]) {
				assert.NotContains(t, fe.Error(), src+"/deploy", "file names as the scenario wrote them")
			}
		})
	}
}
