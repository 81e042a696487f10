//go:build unix

package serve

import (
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFIFOIsNotServed checks that a FIFO named like a document or a log is
// a 404 at once: opening it would wait for a writer forever.
func TestFIFOIsNotServed(t *testing.T) {
	f := newFixture(t)
	web := f.newest["web-holds"]
	logs := filepath.Join(f.store.RunDir("web-holds", web), "logs")
	fifos := []string{filepath.Join(logs, "fifo.log"), filepath.Join(f.store.Dir, "web-holds", "20261127T000000Z-f1f0f1.json")}
	for _, p := range fifos {
		require.NoError(t, syscall.Mkfifo(p, 0o644))
	}
	done := make(chan []int, 1)
	go func() {
		// Not rawGet: require must not be called outside the test's goroutine.
		var codes []int
		for _, p := range []string{web + "/logs/fifo.log", "20261127T000000Z-f1f0f1"} {
			resp, err := http.Get(f.srv.URL + "/api/scenarios/web-holds/runs/" + p)
			if err != nil {
				codes = append(codes, -1)
				continue
			}
			resp.Body.Close()
			codes = append(codes, resp.StatusCode)
		}
		done <- codes
	}()
	select {
	case codes := <-done:
		assert.Equal(t, []int{http.StatusNotFound, http.StatusNotFound}, codes)
	case <-time.After(10 * time.Second):
		// Open the FIFOs for writing so the stuck handler returns and the
		// test server can close.
		for _, p := range fifos {
			if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
		}
		require.FailNow(t, "serving a FIFO hangs")
	}
}
