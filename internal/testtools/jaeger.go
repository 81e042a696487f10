package testtools

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Jaeger is a real tracing backend for a test: Jaeger v2 (make tools builds
// it) with memory storage, receiving OTLP/HTTP and answering its query API,
// both on 127.0.0.1 ports of its own.
type Jaeger struct {
	// OTLP is the OTLP/HTTP base URL (traces go to OTLP + "/v1/traces").
	OTLP string
	// Query is the query API's base URL (Query + "/api/traces?service=...").
	Query string
}

// jaegerConfig keeps to what the tests need: OTLP/HTTP in, memory storage,
// the query API out, no batching (a span is queryable once received), no
// telemetry listener of Jaeger's own.
const jaegerConfig = `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: []
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: %[3]s
  jaeger_query:
    storage:
      traces: mem
    http:
      endpoint: %[2]s
    grpc:
      endpoint: %[4]s
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      http:
        endpoint: %[1]s
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
`

// NeedJaeger starts Jaeger and stops it when the test ends. It skips (fails
// in CI) when jaeger is not on PATH.
func NeedJaeger(t testing.TB) *Jaeger {
	t.Helper()
	bin := Need(t, "jaeger", "make tools builds it")
	dir := t.TempDir()
	addrs := make([]string, 4)
	for i := range addrs {
		addrs[i] = freeAddr(t)
	}
	conf := filepath.Join(dir, "jaeger.yaml")
	if err := os.WriteFile(conf, fmt.Appendf(nil, jaegerConfig, addrs[0], addrs[1], addrs[2], addrs[3]), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "jaeger.log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", conf)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start jaeger: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = out.Close(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	j := &Jaeger{OTLP: "http://" + addrs[0], Query: "http://" + addrs[1]}
	// Ready when the health check says so and the query API answers.
	health := "http://" + addrs[2] + "/status"
	deadline := time.Now().Add(60 * time.Second)
	for {
		if ok(health) && ok(j.Query+"/api/services") {
			return j
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			t.Fatalf("jaeger exited before it was ready:\n%s", log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("jaeger not ready after 60s:\n%s", log)
		}
	}
}

func ok(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
