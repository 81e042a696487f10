package testtools

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// S3 is a real S3 server for a test: versitygw (make tools installs it)
// with its posix backend in a temporary folder, listening on 127.0.0.1,
// with SigV4 credentials of its own.
type S3 struct {
	t              testing.TB
	bin, root      string
	Addr           string
	Bucket         string
	Access, Secret string
	// AccessLog is the server's access log: one line per request.
	AccessLog string
	cmd       *exec.Cmd
	exited    chan struct{}
}

// NeedS3 starts versitygw on 127.0.0.1 with one empty bucket and stops it
// when the test ends. It skips (fails in CI) when versitygw is not on PATH.
func NeedS3(t testing.TB) *S3 { t.Helper(); return NeedS3On(t, "127.0.0.1") }

// NeedS3On is NeedS3 listening on host (the kind network's gateway, which
// pods reach).
func NeedS3On(t testing.TB, host string) *S3 {
	t.Helper()
	bin := Need(t, "versitygw", "make tools installs it")
	root := t.TempDir()
	s := &S3{t: t, bin: bin, root: root, Bucket: "drill", Access: "drilltest", Secret: "drilltest-secret-key",
		AccessLog: filepath.Join(root, "access.log")}
	if err := os.MkdirAll(filepath.Join(root, "data", s.Bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	_ = l.Close()
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Endpoint is the server's URL.
func (s *S3) Endpoint() string { return "http://" + s.Addr }

// URL is the drill --results URL of prefix in the bucket.
func (s *S3) URL(prefix string) string {
	return fmt.Sprintf("s3://%s/%s?endpoint=%s&region=us-east-1&use_path_style=true", s.Bucket, prefix, s.Endpoint())
}

// Env is what a drill process needs to reach the server: the AWS
// credential variables, and no AWS configuration of the machine.
func (s *S3) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + s.Access, "AWS_SECRET_ACCESS_KEY=" + s.Secret,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"}
}

// SetEnv sets Env in this process for the test (an in-process CLI run).
func (s *S3) SetEnv(t testing.TB) {
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Start starts the server (again, after Stop) on the same address and
// data, and waits until it accepts connections.
func (s *S3) Start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "--access", s.Access, "--secret", s.Secret, "--port", s.Addr, "--quiet",
		"--access-log", s.AccessLog, "posix", filepath.Join(s.root, "data"))
	out, err := os.Create(filepath.Join(s.root, "server.log"))
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start versitygw: %v", err)
	}
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); _ = out.Close(); close(s.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(s.root, "server.log"))
			s.t.Fatalf("versitygw exited before it answered on %s:\n%s", s.Addr, log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("versitygw does not answer on %s after 30s", s.Addr)
		}
	}
}

// Stop kills the server (a store that goes down), and waits for it.
func (s *S3) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Root is the bucket's folder on the server: Root()/KEY is the object.
func (s *S3) Root() string { return filepath.Join(s.root, "data", s.Bucket) }

// Objects lists the keys in the bucket under prefix, from the server's
// folder (what the server stores, not what drill's mirror believes).
func (s *S3) Objects(prefix string) []string {
	s.t.Helper()
	base := filepath.Join(s.root, "data", s.Bucket)
	var keys []string
	_ = filepath.WalkDir(filepath.Join(base, prefix), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(base, p)
			keys = append(keys, filepath.ToSlash(rel))
		}
		return nil
	})
	return keys
}

// Requests counts the requests in the access log whose line contains
// every one of words (an HTTP method, a key part).
func (s *S3) Requests(words ...string) int {
	data, _ := os.ReadFile(s.AccessLog)
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		ok := line != ""
		for _, w := range words {
			ok = ok && strings.Contains(line, w)
		}
		if ok {
			n++
		}
	}
	return n
}
