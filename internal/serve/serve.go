// Package serve is drill serve: the live dashboard, a read-only JSON API
// and /metrics over a results folder, with nothing else to run.
//
//	GET /                                             the HTML dashboard; reloads itself when results change
//	GET /api/index                                    index.json (DrillIndex)
//	GET /api/scenarios                                every scenario's verdict and summary
//	GET /api/scenarios/{name}/runs                    the scenario's runs, newest first (?limit=N)
//	GET /api/scenarios/{name}/runs/{id}               one DrillRun document
//	GET /api/scenarios/{name}/runs/{id}/logs/{file}   one step log, text/plain
//	GET /api/schema/drillrun.json                     the DrillRun JSON Schema
//	GET /api/schema/drillindex.json                   the DrillIndex JSON Schema
//	GET /metrics                                      the Prometheus rendering
//	GET /healthz                                      ok
//
// It serves only files inside the results folder: every name taken from a
// URL is checked (no separators, no dot names), the path it makes is
// resolved through symlinks and must stay inside the folder, and the file
// is opened through an os.Root of the folder, which refuses to leave it
// even if the folder changes in between.
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/report"
	"github.com/redeploy-drill/drill/results"
)

// DefaultAddr is where drill serve listens unless told otherwise: loopback
// only, since the results may describe infrastructure.
const DefaultAddr = "127.0.0.1:8080"

type server struct {
	store *results.Store
	log   *zap.Logger
	now   func() time.Time
	title string
	runs  int
}

// Option configures New.
type Option func(*server)

// WithLogger sets the logger for request errors (default: none).
func WithLogger(l *zap.Logger) Option {
	return func(s *server) {
		if l != nil {
			s.log = l
		}
	}
}

// WithClock sets the clock verdicts are judged by (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(s *server) {
		if now != nil {
			s.now = now
		}
	}
}

// WithTitle sets the dashboard's title (default "drill dashboard").
func WithTitle(title string) Option {
	return func(s *server) {
		if title != "" {
			s.title = title
		}
	}
}

// WithRuns sets how many newest runs per scenario the dashboard details
// (default report.DefaultRuns).
func WithRuns(n int) Option {
	return func(s *server) {
		if n >= 0 {
			s.runs = n
		}
	}
}

// New returns the handler of drill serve over store's folder. It only
// reads: it never writes into the results folder, except that reading the
// history may repair a damaged history index (see results.Store.History).
func New(store *results.Store, opts ...Option) http.Handler {
	s := &server{store: store, log: zap.NewNop(), now: time.Now, title: "drill dashboard", runs: report.DefaultRuns}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.dashboard)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /metrics", s.metrics)
	mux.HandleFunc("GET /api/index", s.index)
	mux.HandleFunc("GET /api/scenarios", s.scenarios)
	mux.HandleFunc("GET /api/scenarios/{name}/runs", s.runList)
	mux.HandleFunc("GET /api/scenarios/{name}/runs/{id}", s.runDocument)
	mux.HandleFunc("GET /api/scenarios/{name}/runs/{id}/logs/{file}", s.stepLog)
	mux.HandleFunc("GET /api/schema/drillrun.json", schema(results.RunSchemaFile))
	mux.HandleFunc("GET /api/schema/drillindex.json", schema(results.IndexSchemaFile))
	return securityHeaders(mux)
}

// Serve serves h on l until ctx is canceled, then shuts down gracefully
// (requests in flight get up to 5 seconds). It returns nil after a
// shutdown caused by ctx.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("serve: shut down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// securityHeaders keeps the dashboard from loading anything from
// elsewhere, being framed, or having a log sniffed into HTML.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		next.ServeHTTP(w, r)
	})
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, code int, err error) {
	if code >= 500 {
		s.log.Error("request failed", zap.String("path", r.URL.Path), zap.Error(err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": http.StatusText(code)})
}

func (s *server) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(data, '\n'))
}

// dashboard renders the HTML report with live reload. Its links are
// relative, so the dashboard also works behind a reverse proxy's path
// prefix.
func (s *server) dashboard(w http.ResponseWriter, r *http.Request) {
	h, warns, err := report.Load(s.store, s.now(), report.WithRuns(s.runs))
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	s.logWarnings(warns)
	w.Header().Set("Content-Type", report.HTML.ContentType())
	w.Header().Set("Cache-Control", "no-store")
	err = report.Write(w, report.HTML, h, report.Options{
		Title:   s.title,
		LiveURL: "api/index",
		LogURL: func(scenario, runID, log string) string {
			return "api/scenarios/" + scenario + "/runs/" + runID + "/logs/" + pathBase(log)
		},
	})
	if err != nil {
		s.log.Error("render dashboard", zap.Error(err))
	}
}

func pathBase(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func (s *server) metrics(w http.ResponseWriter, r *http.Request) {
	h, warns, err := report.Load(s.store, s.now(), report.WithRuns(1))
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	s.logWarnings(warns)
	w.Header().Set("Content-Type", report.Prometheus.ContentType())
	if err := report.Write(w, report.Prometheus, h, report.Options{}); err != nil {
		s.log.Error("render metrics", zap.Error(err))
	}
}

func (s *server) logWarnings(warns []results.Warning) {
	for _, w := range warns {
		s.log.Warn("skipped a damaged document", zap.String("path", w.Path), zap.Error(w.Err))
	}
}

func (s *server) index(w http.ResponseWriter, r *http.Request) {
	idx, err := s.store.ReadIndex()
	if err != nil {
		// A damaged index is repaired by the next drill that finishes,
		// or by drill status; this server only reads.
		s.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	s.writeJSON(w, r, idx)
}

// scenarioStatus is one entry of /api/scenarios.
type scenarioStatus struct {
	results.Summary
	Owner   string          `json:"owner,omitempty"`
	Verdict results.Verdict `json:"verdict"`
}

func (s *server) scenarios(w http.ResponseWriter, r *http.Request) {
	hs, warns, err := s.store.Histories(results.HistoryOptions{})
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	s.logWarnings(warns)
	out := make([]scenarioStatus, 0, len(hs))
	now := s.now()
	for _, h := range hs {
		sum := h.Summarize(now, results.SummaryOptions{})
		out = append(out, scenarioStatus{Summary: sum, Owner: h.Owner(), Verdict: sum.Verdict()})
	}
	s.writeJSON(w, r, out)
}

// RunItem is one entry of /api/scenarios/{name}/runs.
type RunItem struct {
	RunID      string         `json:"runId"`
	Status     results.Status `json:"status"`
	Holds      bool           `json:"holds"`
	StartedAt  time.Time      `json:"startedAt"`
	DurationMs int64          `json:"durationMs"`
}

func (s *server) runList(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, ok := s.inside(name); !ok {
		s.fail(w, r, http.StatusNotFound, nil)
		return
	}
	limit := -1
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.fail(w, r, http.StatusBadRequest, err)
			return
		}
		limit = n
	}
	h, warns, err := s.store.History(name, results.HistoryOptions{Detail: 1})
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	s.logWarnings(warns)
	if len(h.Entries) == 0 && len(h.Running) == 0 {
		s.fail(w, r, http.StatusNotFound, nil)
		return
	}
	items := make([]RunItem, 0, len(h.Entries)+len(h.Running))
	for _, run := range h.Running {
		items = append(items, RunItem{RunID: run.RunID, Status: run.Status, StartedAt: run.StartedAt, DurationMs: run.DurationMs})
	}
	for i := len(h.Entries) - 1; i >= 0; i-- {
		e := h.Entries[i]
		items = append(items, RunItem{RunID: e.RunID, Status: e.Status, Holds: e.Holds, StartedAt: e.StartedAt, DurationMs: e.DurationMs})
	}
	if limit >= 0 && limit < len(items) {
		items = items[:limit]
	}
	s.writeJSON(w, r, items)
}

func (s *server) runDocument(w http.ResponseWriter, r *http.Request) {
	name, id := r.PathValue("name"), r.PathValue("id")
	if !validName(id) {
		s.fail(w, r, http.StatusNotFound, nil)
		return
	}
	s.serveFile(w, r, "application/json", name, id+".json")
}

func (s *server) stepLog(w http.ResponseWriter, r *http.Request) {
	name, id, file := r.PathValue("name"), r.PathValue("id"), r.PathValue("file")
	s.serveFile(w, r, "text/plain; charset=utf-8", name, id, "logs", file)
}

// serveFile serves the file at the path made of parts inside the results
// folder, or 404 when any part is not a plain name or the path leads
// outside the folder.
func (s *server) serveFile(w http.ResponseWriter, r *http.Request, contentType string, parts ...string) {
	rel, ok := s.inside(parts...)
	if !ok {
		s.fail(w, r, http.StatusNotFound, nil)
		return
	}
	root, err := os.OpenRoot(s.store.Dir)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, err)
		return
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		// Missing, unreadable, or a symlink os.Root refuses to follow
		// out of the folder: all the same to the client.
		s.log.Debug("not served", zap.String("path", rel), zap.Error(err))
		s.fail(w, r, http.StatusNotFound, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		s.fail(w, r, http.StatusNotFound, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// inside joins parts (each a plain name) into a path relative to the
// results folder and checks, with every symlink resolved, that it stays
// inside the folder. It does not require the path to exist.
func (s *server) inside(parts ...string) (string, bool) {
	for _, p := range parts {
		if !validName(p) {
			return "", false
		}
	}
	rel := filepath.Join(parts...)
	root, err := filepath.EvalSymlinks(s.store.Dir)
	if err != nil {
		return "", false
	}
	real, err := filepath.EvalSymlinks(filepath.Join(root, rel))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return rel, true // nothing there to escape through; Open says 404
		}
		return "", false
	}
	back, err := filepath.Rel(root, real)
	if err != nil || !filepath.IsLocal(back) {
		return "", false
	}
	return rel, true
}

// validName accepts a single, visible path element: no separators, no NUL,
// not . or .., not hidden (temporary files and locks are hidden).
func validName(s string) bool {
	return s != "" && len(s) <= 255 && !strings.HasPrefix(s, ".") &&
		!strings.ContainsAny(s, "/\\\x00") && filepath.IsLocal(s)
}

func schema(file string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		data, err := fs.ReadFile(results.Schemas, file)
		if err != nil {
			http.Error(w, "schema missing", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/schema+json")
		w.Write(data)
	}
}
