package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/redeploy-drill/drill/internal/testtools"
)

// BenchmarkS3Run measures what one drill run costs the object store: the
// requests of `drill run` of a two-cycle scenario of three steps against a
// real S3 server (versitygw's access log), per run. With BenchmarkPull
// (internal/objectstore) it gives the README's cost table.
//
//	go test -run '^$' -bench BenchmarkS3Run -benchtime 5x ./cmd/drill
func BenchmarkS3Run(b *testing.B) {
	srv := testtools.NeedS3(b)
	repo := b.TempDir()
	scenario := filepath.Join(repo, "web.yaml")
	if err := os.WriteFile(scenario, []byte(`apiVersion: drill/v1
kind: Scenario
metadata: {name: web}
spec:
  cycles: 2
  source: .
  target: {none: {}}
  steps:
    - {name: build, run: "echo build"}
    - {name: deploy, run: "echo deploy"}
    - {name: check, phase: verify, run: "echo ok"}
`), 0o644); err != nil {
		b.Fatal(err)
	}
	gitInit(b, repo)
	env := append(os.Environ(), append(srv.Env(), "DRILL_CACHE_DIR="+b.TempDir(), "CI=true")...)
	ops := []string{"PutObject", "ListObjectsV2", "GetObject", "HeadObject", "DeleteObject"}
	unit := map[string]string{"PutObject": "puts/op", "ListObjectsV2": "lists/op", "GetObject": "gets/op", "HeadObject": "heads/op", "DeleteObject": "deletes/op"}
	before := map[string]int{}
	for _, op := range ops {
		before[op] = srv.Requests("s3_" + op + " ")
	}
	for b.Loop() {
		cmd := exec.Command(drillBin, "run", "--results", srv.URL("bench"), scenario)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("drill run: %v\n%s", err, out)
		}
	}
	for _, op := range ops {
		n := srv.Requests("s3_"+op+" ") - before[op]
		b.ReportMetric(float64(n)/float64(b.N), unit[op])
	}
}
