// Package serve is drill serve: the live dashboard, a read-only JSON API
// and /metrics over a results folder, with nothing else to run.
//
//	GET /                                             the HTML dashboard; reloads itself when results change
//	GET /api/index                                    index.json (DrillIndex)
//	GET /api/scenarios                                every scenario's verdict and summary (aborted: see WithAlive)
//	GET /api/scenarios/{name}/runs                    the scenario's runs, newest first (?limit=N), aborted ones marked
//	GET /api/scenarios/{name}/runs/{id}               one DrillRun document
//	GET /api/scenarios/{name}/runs/{id}/logs/{file}   one step log, text/plain
//	GET /api/schema/drillrun.json                     the DrillRun JSON Schema
//	GET /api/schema/drillindex.json                   the DrillIndex JSON Schema
//	GET /metrics                                      the Prometheus rendering
//	GET /healthz                                      ok
//
// It serves only files inside the results folder: every name taken from a
// URL is checked by one function before any handler runs (no separators, no
// dot names, none the results package refuses or reserves: a bad name is a
// 404, never a 500), the path it makes is resolved through symlinks and
// must stay inside the folder, and the file is opened through an os.Root of
// the folder, which refuses to leave it even if the folder changes in
// between.
//
// It answers only requests whose Host header names this machine's loopback
// (localhost, *.localhost, 127.0.0.0/8, ::1) or a host allowed with
// WithAllowedHosts: a web page elsewhere cannot read the results through a
// DNS name it rebinds to 127.0.0.1 (DNS rebinding). Others get 421.
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
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/internal/jsonindent"
	"github.com/redeploy-drill/drill/internal/procs"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/report"
	"github.com/redeploy-drill/drill/results"
)

// DefaultAddr is where drill serve listens unless told otherwise: loopback
// only, since the results may describe infrastructure.
const DefaultAddr = "127.0.0.1:8080"

type server struct {
	store *resultstore.Store
	log   *zap.Logger
	now   func() time.Time
	title string
	runs  int
	alive func(*results.Run) bool
	// hosts are the Host names allowed besides loopback, lower case,
	// without port.
	hosts map[string]bool
	// fetch, when set, brings a file the folder lacks from where the
	// results really are (see WithFetch).
	fetch func(ctx context.Context, rel string) error
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

// WithAlive sets how a document still marked running is told from one
// whose drill died (default procs.RunAlive, the check drill status and
// drill gc use): the verdict of /api/scenarios and the dashboard, and the
// aborted flag of the runs listing.
func WithAlive(alive func(*results.Run) bool) Option {
	return func(s *server) {
		if alive != nil {
			s.alive = alive
		}
	}
}

// WithFetch is for a results folder that mirrors an object store: a run
// document or log the folder lacks is fetched with fetch (a path relative
// to the folder, slash-separated) before it is served. Logs are fetched
// only when asked for: a dashboard is read far more than its logs.
func WithFetch(fetch func(ctx context.Context, rel string) error) Option {
	return func(s *server) { s.fetch = fetch }
}

// WithAllowedHosts allows requests whose Host header is one of hosts
// (case-insensitive, port ignored on both sides), besides the loopback
// names and addresses that are always allowed: the name a reverse proxy
// forwards, or the address drill serve listens on when it is not loopback.
// Every other Host gets 421 Misdirected Request.
func WithAllowedHosts(hosts ...string) Option {
	return func(s *server) {
		for _, h := range hosts {
			if h = normalHost(h); h != "" {
				s.hosts[h] = true
			}
		}
	}
}

// New returns the handler of drill serve over store's folder. It only
// reads: it never writes into the results folder, except that reading the
// history may repair a damaged history index (see resultstore.Store.History).
func New(store *resultstore.Store, opts ...Option) http.Handler {
	s := &server{
		store: store, log: zap.NewNop(), now: time.Now, title: "drill dashboard", runs: report.DefaultRuns,
		alive: procs.RunAlive, hosts: map[string]bool{},
	}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, checkNames(pattern, h)) }
	handle("GET /{$}", s.dashboard)
	handle("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	handle("GET /metrics", s.metrics)
	handle("GET /api/index", s.index)
	handle("GET /api/scenarios", s.scenarios)
	handle("GET /api/scenarios/{name}/runs", s.runList)
	handle("GET /api/scenarios/{name}/runs/{id}", s.runDocument)
	handle("GET /api/scenarios/{name}/runs/{id}/logs/{file}", s.stepLog)
	handle("GET /api/schema/drillrun.json", schema(results.RunSchemaFile))
	handle("GET /api/schema/drillindex.json", schema(results.IndexSchemaFile))
	return securityHeaders(s.checkHost(mux))
}

// summaryOptions judge scenarios as drill status does.
func (s *server) summaryOptions() results.SummaryOptions {
	return results.SummaryOptions{Alive: s.alive}
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

// checkHost refuses a request whose Host header is neither loopback nor
// allowed. A page on evil.example can make a browser resolve its own name
// to 127.0.0.1 after loading (DNS rebinding) and then read this server as
// "same origin"; the Host header still says evil.example, so it gets
// nothing. /healthz is answered whatever the Host: it says only "ok", and
// the probes of load balancers and kubelets name the machine by address.
func (s *server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || s.hostAllowed(r.Host) {
			next.ServeHTTP(w, r)
			return
		}
		host := r.Host
		if len(host) > 100 {
			host = host[:100] + "…"
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusMisdirectedRequest)
		fmt.Fprintf(w, "drill serve does not answer for host %q: it answers for localhost and the names given with --allow-host\n", host)
	})
}

// hostAllowed reports whether host, a Host header, names loopback or an
// allowed host.
func (s *server) hostAllowed(host string) bool {
	h := normalHost(host)
	if h == "" {
		return false
	}
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	if a, err := netip.ParseAddr(h); err == nil && a.IsLoopback() {
		return true
	}
	return s.hosts[h]
}

// normalHost is host without its port, IPv6 brackets or final dot, in lower
// case: the form Host headers and allowed names are compared in.
func normalHost(host string) string {
	host = strings.TrimSpace(host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.ToLower(strings.TrimSuffix(host, "."))
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
	writeError(w, code)
}

// writeError answers code with {"error": its status text}.
func writeError(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": http.StatusText(code)})
}

func (s *server) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	data, err := jsonindent.Marshal(v)
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
	h, warns, err := report.Load(s.store, s.now(), report.WithRuns(s.runs), report.WithSummaryOptions(s.summaryOptions()))
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
	h, warns, err := report.Load(s.store, s.now(), report.WithRuns(1), report.WithSummaryOptions(s.summaryOptions()))
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
		// A damaged or unreadable index.json is repaired by the next drill
		// that finishes; this server only reads, and derives the same
		// index from the histories meanwhile.
		s.log.Warn("index.json unreadable; serving the index derived from the histories", zap.Error(err))
		hs, warns, herr := s.store.Histories(resultstore.HistoryOptions{Detail: 1})
		if herr != nil {
			s.fail(w, r, http.StatusServiceUnavailable, errors.Join(err, herr))
			return
		}
		s.logWarnings(warns)
		idx = s.store.IndexOf(hs)
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
	hs, warns, err := s.store.Histories(resultstore.HistoryOptions{})
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	s.logWarnings(warns)
	out := make([]scenarioStatus, 0, len(hs))
	now := s.now()
	for _, h := range hs {
		sum := h.Summarize(now, s.summaryOptions())
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
	// Aborted is set on a run still marked running whose drill is gone
	// (killed, machine rebooted): drill gc cleans up after it.
	Aborted bool `json:"aborted,omitempty"`
}

func (s *server) runList(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rel, ok := s.inside(name)
	if !ok {
		s.fail(w, r, http.StatusNotFound, nil)
		return
	}
	// Only a folder is a scenario: a file at the top of the results folder
	// (a report saved there) is no such scenario.
	if st, err := os.Stat(filepath.Join(s.store.Dir, rel)); err != nil || !st.IsDir() {
		s.fail(w, r, http.StatusNotFound, err)
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
	h, warns, err := s.store.History(name, resultstore.HistoryOptions{Detail: 1})
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, results.ErrInvalidRun) || errors.Is(err, fs.ErrNotExist) {
			code = http.StatusNotFound // gone in between, or a name checkNames missed
		}
		s.fail(w, r, code, err)
		return
	}
	s.logWarnings(warns)
	if len(h.Entries) == 0 && len(h.Running) == 0 {
		s.fail(w, r, http.StatusNotFound, nil)
		return
	}
	aborted := h.Summarize(s.now(), s.summaryOptions()).Aborted
	items := make([]RunItem, 0, len(h.Entries)+len(h.Running))
	for _, run := range h.Running {
		items = append(items, RunItem{
			RunID: run.RunID, Status: run.Status, StartedAt: run.StartedAt, DurationMs: run.DurationMs,
			Aborted: slices.Contains(aborted, run.RunID),
		})
	}
	for _, e := range h.Entries {
		items = append(items, RunItem{RunID: e.RunID, Status: e.Status, Holds: e.Holds, StartedAt: e.StartedAt, DurationMs: e.DurationMs})
	}
	// Newest first, running or not: an aborted run that newer runs
	// followed is not on top.
	slices.SortStableFunc(items, func(a, b RunItem) int {
		if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(b.RunID, a.RunID)
	})
	if limit >= 0 && limit < len(items) {
		items = items[:limit]
	}
	s.writeJSON(w, r, items)
}

func (s *server) runDocument(w http.ResponseWriter, r *http.Request) {
	name, id := r.PathValue("name"), r.PathValue("id")
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
	if s.fetch != nil {
		if err := s.fetch(r.Context(), filepath.ToSlash(rel)); err != nil {
			s.log.Debug("not fetched", zap.String("path", rel), zap.Error(err))
		}
	}
	root, err := os.OpenRoot(s.store.Dir)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, err)
		return
	}
	defer root.Close()
	// Only regular files, checked before opening: opening a FIFO named
	// like a log would wait for a writer forever.
	before, err := root.Stat(rel)
	if err != nil || !before.Mode().IsRegular() {
		// Missing, unreadable, a folder, a device, or a symlink os.Root
		// refuses to follow out of the folder: all the same to the client.
		s.log.Debug("not served", zap.String("path", rel), zap.Error(err))
		s.fail(w, r, http.StatusNotFound, err)
		return
	}
	f, err := root.Open(rel)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !os.SameFile(before, st) {
		s.fail(w, r, http.StatusNotFound, err) // replaced in between
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// inside joins parts (each a plain name, see checkNames) into a path
// relative to the results folder and checks, with every symlink resolved,
// that it stays inside the folder. It does not require the path to exist.
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

// pathNames says, for each wildcard of the API's routes, which names it
// accepts. A scenario name and a run ID must also be names the results
// package takes (not index.json, not the run ID latest, at most 200
// bytes): a name it refuses is an error there, which was a 500 here.
var pathNames = map[string]func(string) bool{
	"name": func(v string) bool { return validName(v) && results.CheckScenarioName(v) == nil },
	"id":   func(v string) bool { return validName(v) && results.CheckRunID(v) == nil },
	"file": validName,
}

// checkNames wraps the handler of pattern so that every name the URL gives
// it is checked before it runs, and a bad one is 404: one check for all
// routes, so no handler can forget it. A route with a wildcard pathNames
// does not know is a programming error, found when New runs.
func checkNames(pattern string, h http.HandlerFunc) http.Handler {
	var keys []string
	for rest := pattern; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			panic("serve: unbalanced wildcard in " + pattern)
		}
		key := strings.TrimSuffix(rest[i+1:i+j], "...")
		rest = rest[i+j+1:]
		if key == "$" {
			continue
		}
		if pathNames[key] == nil {
			panic("serve: no name check for {" + key + "} in " + pattern)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, k := range keys {
			if !pathNames[k](r.PathValue(k)) {
				writeError(w, http.StatusNotFound)
				return
			}
		}
		h(w, r)
	})
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
