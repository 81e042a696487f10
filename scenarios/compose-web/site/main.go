// Command site is the second service of the compose-web stack: a static
// site (www/, embedded) that also serves, at /api/version, the version of
// the hello service, which it reaches over the Compose network at
// $HELLO_URL. With -healthcheck it asks its own /healthz and exits 0 or 1:
// the compose healthcheck of an image with no shell and no curl. It has no
// dependencies, so it builds offline.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

//go:embed www
var www embed.FS

var client = &http.Client{Timeout: 3 * time.Second}

func main() {
	healthcheck := flag.Bool("healthcheck", false, "check the running site and exit 0 when it is healthy")
	flag.Parse()
	addr := ":" + getenv("APP_PORT", "8080")
	if *healthcheck {
		resp, err := client.Get("http://127.0.0.1" + addr + "/healthz")
		if err != nil || resp.StatusCode != http.StatusOK {
			fmt.Println("site: not healthy:", err)
			os.Exit(1)
		}
		return
	}

	root, err := fs.Sub(www, "www")
	if err != nil {
		log.Fatal(err)
	}
	hello := strings.TrimRight(getenv("HELLO_URL", "http://hello:8080"), "/")
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServerFS(root))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/api/version", func(w http.ResponseWriter, _ *http.Request) {
		resp, err := client.Get(hello + "/version")
		if err != nil {
			http.Error(w, "hello: "+err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			http.Error(w, "hello: "+resp.Status, http.StatusBadGateway)
			return
		}
		_, _ = io.Copy(w, io.LimitReader(resp.Body, 1<<10))
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("site listening on %s, hello at %s", addr, hello)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
