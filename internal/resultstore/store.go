package resultstore

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/redeploy-drill/drill/internal/jsonindent"
	"github.com/redeploy-drill/drill/results"
)

// Store reads and writes result documents under Dir, the results folder:
//
//	index.json                     newest finished run of every scenario
//	<scenario>/<run-id>.json       one DrillRun per run
//	<scenario>/<run-id>/logs/...   step logs
//	<scenario>/latest.json         copy of the newest finished run
//
// Every write is atomic, so a dashboard reading while a drill writes never
// sees half a document. A Store holds no state beyond Dir: any number of
// Stores and processes may share one folder.
type Store struct {
	Dir string
	// redact, when set, masks secrets in every document the store writes
	// (see WithRedaction).
	redact func([]byte) []byte
	// remote, when set, is the object store the folder mirrors (see
	// WithRemote).
	remote Remote
}

// WithRedaction returns a Store over the same folder that passes every run
// document it writes through redact (a drills.Redactor's RedactBytes), and
// derives latest.json, the index and the history from the redacted
// document. It is the last line of defence: the runner masks secrets where
// it builds messages, and whatever slips through stops here.
func (s *Store) WithRedaction(redact func([]byte) []byte) *Store {
	c := *s
	c.redact = redact
	return &c
}

// Open returns a Store for dir. It touches nothing on disk: the folder is
// created by the first write (or by CheckWritable).
func Open(dir string) *Store { return &Store{Dir: dir} }

// NewRunID returns a run ID such as 20261127T071500Z-3f9a1c: the UTC start
// second, so IDs sort by time as strings and file listings come out in
// order, then 6 random hex digits so runs started in the same second on
// different machines do not collide.
func NewRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return now.UTC().Format(results.RunIDTimeLayout) + "-" + hex.EncodeToString(b[:])
}

// IndexPath is <dir>/index.json.
func (s *Store) IndexPath() string { return filepath.Join(s.Dir, results.IndexFile) }

// LatestPath is <dir>/<scenario>/latest.json.
func (s *Store) LatestPath(scenario string) string {
	return filepath.Join(s.Dir, scenario, results.LatestFile)
}

// RunPath is <dir>/<scenario>/<runID>.json, the run's document.
func (s *Store) RunPath(scenario, runID string) string {
	return filepath.Join(s.Dir, scenario, runID+".json")
}

// RunDir is <dir>/<scenario>/<runID>, the folder for the run's logs,
// kubeconfigs and other evidence.
func (s *Store) RunDir(scenario, runID string) string {
	return filepath.Join(s.Dir, scenario, runID)
}

// LogPath is <dir>/<scenario>/<runID>/logs/c<cycle>-<index>-<step>.log, the
// log of one step of one cycle. index is the step's position in the cycle,
// two digits so logs list in order; step is reduced to characters that are
// safe in a file name on every system.
func (s *Store) LogPath(scenario, runID string, cycle, index int, step string) string {
	name := fmt.Sprintf("c%d-%02d-%s.log", cycle, index, sanitizeFileName(step))
	return filepath.Join(s.RunDir(scenario, runID), "logs", name)
}

// maxStepFileName keeps log file names well below file system limits.
const maxStepFileName = 64

func sanitizeFileName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= maxStepFileName {
			break
		}
	}
	out := strings.Trim(b.String(), "-.")
	if out == "" {
		return "step"
	}
	return out
}

// Rel returns path relative to Dir with forward slashes, the form documents
// store (Step.Log, Step.Evidence, IndexEntry.Run) so they stay valid when the
// results folder is moved, archived or served over HTTP. A path outside Dir
// is returned unchanged (with forward slashes).
func (s *Store) Rel(path string) string {
	base, target := s.Dir, path
	if filepath.IsAbs(base) != filepath.IsAbs(target) {
		var err1, err2 error
		base, err1 = filepath.Abs(base)
		target, err2 = filepath.Abs(target)
		if err1 != nil || err2 != nil {
			return filepath.ToSlash(path)
		}
	}
	rel, err := filepath.Rel(base, target)
	if err != nil || !filepath.IsLocal(rel) {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}

// Resolve turns a path stored in a document (relative to Dir, forward
// slashes) into a file path. It refuses paths that would leave Dir, so a
// server can resolve paths taken from requests or documents safely.
func (s *Store) Resolve(rel string) (string, error) {
	local := filepath.FromSlash(rel)
	if !filepath.IsLocal(local) {
		return "", fmt.Errorf("resolve %q: path leaves the results folder", rel)
	}
	return filepath.Join(s.Dir, local), nil
}

func checkRun(r *results.Run) error {
	if r == nil {
		return fmt.Errorf("%w: nil run", results.ErrInvalidRun)
	}
	if r.APIVersion != "" && r.APIVersion != results.APIVersion {
		return fmt.Errorf("%w %q (this drill writes %q)", results.ErrUnsupportedVersion, r.APIVersion, results.APIVersion)
	}
	if r.Kind != "" && r.Kind != results.KindRun {
		return fmt.Errorf("%w %q (want %q)", results.ErrWrongKind, r.Kind, results.KindRun)
	}
	if err := results.CheckScenarioName(r.Scenario.Name); err != nil {
		return err
	}
	return results.CheckRunID(r.RunID)
}

// encodeRun renders r as its document: apiVersion and kind filled in, every
// time in UTC, and empty lists and maps as [] and {} rather than null, as
// the schema requires. r itself is not modified.
func encodeRun(r *results.Run) ([]byte, error) {
	if err := checkRun(r); err != nil {
		return nil, err
	}
	c := *r
	c.APIVersion, c.Kind = results.APIVersion, results.KindRun
	c.StartedAt = c.StartedAt.UTC()
	c.FinishedAt = utcPtr(c.FinishedAt)
	if c.Tools == nil {
		c.Tools = map[string]string{}
	}
	c.Cycles = make([]results.Cycle, len(r.Cycles))
	for i, cy := range r.Cycles {
		cy.StartedAt = cy.StartedAt.UTC()
		cy.FinishedAt = utcPtr(cy.FinishedAt)
		steps := make([]results.Step, len(cy.Steps))
		for j, st := range cy.Steps {
			st.StartedAt = utcPtr(st.StartedAt)
			st.FinishedAt = utcPtr(st.FinishedAt)
			steps[j] = st
		}
		cy.Steps = steps
		c.Cycles[i] = cy
	}
	if c.Guideline != nil && c.Guideline.Checks == nil {
		g := *c.Guideline
		g.Checks = []results.Check{}
		c.Guideline = &g
	}
	return marshalDoc(&c)
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// encode renders r as its document and masks secrets in it when the store
// redacts (WithRedaction). Masking the encoded bytes catches a secret in
// any field, in the form the JSON encoder escaped it to; should a mask
// break the JSON, the document's strings are masked one by one instead.
func (s *Store) encode(r *results.Run) ([]byte, error) {
	data, err := encodeRun(r)
	if err != nil || s.redact == nil {
		return data, err
	}
	return redactJSON(data, s.redact)
}

// redactJSON masks secrets in a JSON document with redact, keeping it valid.
func redactJSON(data []byte, redact func([]byte) []byte) ([]byte, error) {
	out := redact(data)
	if bytes.Equal(out, data) || json.Valid(out) {
		return out, nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	var walk func(any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case string:
			return string(redact([]byte(v)))
		case []any:
			for i := range v {
				v[i] = walk(v[i])
			}
		case map[string]any:
			for k, e := range v {
				v[k] = walk(e)
			}
		}
		return v
	}
	return marshalDoc(walk(v))
}

// marshalDoc indents documents: people read them with cat and diff them.
func marshalDoc(v any) ([]byte, error) {
	data, err := jsonindent.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// WriteRun atomically writes r to RunPath, creating folders as needed. The
// runner calls it after every step with status running, so a drill that is
// killed still leaves a document saying how far it got.
func (s *Store) WriteRun(r *results.Run) error {
	if _, err := s.writeRun(r); err != nil {
		return err
	}
	return nil
}

// SaveRun is WriteRun without flushing to disk, for the runner's snapshots
// of a running drill (rewritten before and after every step). The write is
// still atomic, so a dashboard never reads half a document and a drill that
// is killed leaves a whole one; only a power cut may lose the newest
// snapshot. Two fsyncs per snapshot would otherwise cost more than a fast
// step itself. FinishRun writes the final document durably.
func (s *Store) SaveRun(r *results.Run) error {
	data, err := s.encode(r)
	if err != nil {
		return fmt.Errorf("save run: %w", err)
	}
	path := s.RunPath(r.Scenario.Name, r.RunID)
	if err := writeFileAtomicNoSync(path, data); err != nil {
		return fmt.Errorf("save run %s/%s: %w", r.Scenario.Name, r.RunID, err)
	}
	s.Publish(path)
	return nil
}

func (s *Store) writeRun(r *results.Run) ([]byte, error) {
	data, err := s.encode(r)
	if err != nil {
		return nil, fmt.Errorf("write run: %w", err)
	}
	path := s.RunPath(r.Scenario.Name, r.RunID)
	if err := writeFileAtomic(path, data); err != nil {
		return nil, fmt.Errorf("write run %s/%s: %w", r.Scenario.Name, r.RunID, err)
	}
	s.Publish(path)
	return data, nil
}

// FinishRun records a finished run: it writes the run document, then, under
// an exclusive lock on index.json.lock (so drills finishing at the same time
// in other processes do not lose each other's updates), replaces
// <scenario>/latest.json and the scenario's index.json entry unless a newer
// run of the scenario is already recorded there. A run that is still
// running is refused with ErrNotFinished.
func (s *Store) FinishRun(r *results.Run) error {
	if r != nil && !r.Status.Finished() {
		return fmt.Errorf("finish run %s: %w (status %q)", r.RunID, ErrNotFinished, r.Status)
	}
	if s.remote != nil {
		// The logs and evidence first, so a reader that sees the finished
		// document in the bucket finds them; then the document, which
		// says what the store did meanwhile.
		s.Publish(s.RunDir(r.Scenario.Name, r.RunID))
		for _, w := range s.remote.Warnings() {
			if !slices.Contains(r.Warnings, w) {
				r.Warnings = append(r.Warnings, w)
			}
		}
	}
	data, err := s.writeRun(r)
	if err != nil {
		return fmt.Errorf("finish run: %w", err)
	}
	if s.redact != nil {
		// latest.json, the index and the history line are derived from
		// r: derive them from what was written.
		var written results.Run
		if err := json.Unmarshal(data, &written); err == nil {
			*r = written
		}
	}
	unlock, err := s.lock()
	if err != nil {
		return fmt.Errorf("finish run %s: %w", r.RunID, err)
	}
	defer unlock()

	if err := s.updateLatest(r, data); err != nil {
		return fmt.Errorf("finish run %s: %w", r.RunID, err)
	}
	idx, err := s.ReadIndex()
	if err != nil {
		// A damaged index is rebuilt from the documents, which already
		// include r.
		idx, _, err = s.buildIndex(nil)
		if err != nil {
			return fmt.Errorf("finish run %s: rebuild damaged index: %w", r.RunID, err)
		}
	} else {
		applyRun(idx, r, s.Rel(s.RunPath(r.Scenario.Name, r.RunID)))
	}
	if err := s.writeIndex(idx); err != nil {
		return fmt.Errorf("finish run %s: %w", r.RunID, err)
	}
	if err := s.appendHistory(r); err != nil {
		return fmt.Errorf("finish run %s: %w", r.RunID, err)
	}
	return nil
}

// lock takes the store-wide lock that serializes latest.json and index.json
// updates, creating the results folder if needed.
func (s *Store) lock() (unlock func(), err error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create results folder: %w", err)
	}
	return lockFile(filepath.Join(s.Dir, results.IndexLockFile))
}

// updateLatest writes data to latest.json unless latest.json already holds
// a newer run (a drill started later that finished first).
func (s *Store) updateLatest(r *results.Run, data []byte) error {
	path := s.LatestPath(r.Scenario.Name)
	if cur, err := results.ReadRun(path); err == nil && runBefore(r.StartedAt, r.RunID, cur.StartedAt, cur.RunID) {
		return nil
	}
	if err := writeFileAtomic(path, data); err != nil {
		return fmt.Errorf("write %s: %w", results.LatestFile, err)
	}
	return nil
}

// runBefore orders runs by start time, then by run ID, the same order as
// Runs returns.
func runBefore(aStart time.Time, aID string, bStart time.Time, bID string) bool {
	if c := aStart.Compare(bStart); c != 0 {
		return c < 0
	}
	return aID < bID
}

// succeeded is the LastSuccess condition: the run passed and the guideline
// holds.
func succeeded(r *results.Run) bool {
	return r.Status == results.StatusPassed && r.Guideline != nil && r.Guideline.Holds
}

// applyRun folds one finished run into idx. The entry describes the newest
// run; LastSuccess is the newest success whichever order runs arrive in, so
// folding all runs in any order gives the same index as RebuildIndex.
func applyRun(idx *results.Index, r *results.Run, rel string) {
	start := r.StartedAt.UTC()
	e := results.IndexEntry{
		Name:        r.Scenario.Name,
		File:        r.Scenario.File,
		Owner:       r.Scenario.Owner,
		LatestRunID: r.RunID,
		Status:      r.Status,
		Holds:       r.Guideline != nil && r.Guideline.Holds,
		StartedAt:   start,
		DurationMs:  r.DurationMs,
		FreshnessMs: r.FreshnessMs,
		Run:         rel,
	}
	i := slices.IndexFunc(idx.Scenarios, func(e results.IndexEntry) bool { return e.Name == r.Scenario.Name })
	if i < 0 {
		if succeeded(r) {
			e.LastSuccess = &start
		}
		idx.Scenarios = append(idx.Scenarios, e)
		slices.SortFunc(idx.Scenarios, func(a, b results.IndexEntry) int { return cmp.Compare(a.Name, b.Name) })
		return
	}
	cur := &idx.Scenarios[i]
	last := cur.LastSuccess
	if succeeded(r) && (last == nil || start.After(*last)) {
		last = &start
	}
	if !runBefore(start, r.RunID, cur.StartedAt, cur.LatestRunID) {
		*cur = e
	}
	cur.LastSuccess = last
}

func (s *Store) writeIndex(idx *results.Index) error {
	idx.APIVersion, idx.Kind = results.APIVersion, results.KindIndex
	idx.UpdatedAt = time.Now().UTC()
	if idx.Scenarios == nil {
		idx.Scenarios = []results.IndexEntry{}
	}
	data, err := marshalDoc(idx)
	if err != nil {
		return fmt.Errorf("encode index: %w", err)
	}
	if err := writeFileAtomic(s.IndexPath(), data); err != nil {
		return fmt.Errorf("write %s: %w", results.IndexFile, err)
	}
	return nil
}

// RebuildIndex recomputes index.json and every scenario's history.jsonl
// from the run documents and writes them. Both are only caches of the
// documents: this repairs a damaged or deleted index, and gives the same
// result as FinishRun's updates. Damaged documents are skipped and returned
// as warnings.
func (s *Store) RebuildIndex() (*results.Index, []results.Warning, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, nil, fmt.Errorf("rebuild index: %w", err)
	}
	defer unlock()
	idx, warns, err := s.buildIndex(s.writeHistory)
	if err != nil {
		return nil, warns, fmt.Errorf("rebuild index: %w", err)
	}
	if err := s.writeIndex(idx); err != nil {
		return nil, warns, fmt.Errorf("rebuild index: %w", err)
	}
	return idx, warns, nil
}

// buildIndex folds every finished document into a new index. each, when
// not nil, is given each scenario's finished runs, oldest first.
func (s *Store) buildIndex(each func(scenario string, finished []*results.Run) error) (*results.Index, []results.Warning, error) {
	idx := &results.Index{APIVersion: results.APIVersion, Kind: results.KindIndex, Scenarios: []results.IndexEntry{}}
	names, warns, err := s.Scenarios()
	if err != nil {
		return nil, warns, err
	}
	for _, name := range names {
		runs, w, err := s.Runs(name)
		warns = append(warns, w...)
		if err != nil {
			warns = append(warns, results.Warning{Path: filepath.Join(s.Dir, name), Err: err})
			continue
		}
		finished := runs[:0]
		for _, r := range runs {
			if r.Status.Finished() {
				applyRun(idx, r, s.Rel(s.RunPath(name, r.RunID)))
				finished = append(finished, r)
			}
		}
		if each != nil {
			if err := each(name, finished); err != nil {
				return nil, warns, err
			}
		}
	}
	return idx, warns, nil
}

// Scenarios lists the scenarios that have results: the folders of Dir
// holding at least one document, sorted by name. A results folder that does
// not exist yet has no scenarios. A scenario folder that cannot be read is
// left out and returned as a Warning: one bad folder never hides the rest.
func (s *Store) Scenarios() ([]string, []results.Warning, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list scenarios: %w", err)
	}
	var (
		names []string
		warns []results.Warning
	)
	for _, e := range entries {
		if !e.IsDir() || results.CheckScenarioName(e.Name()) != nil {
			continue
		}
		path := filepath.Join(s.Dir, e.Name())
		sub, err := os.ReadDir(path)
		if err != nil {
			warns = append(warns, results.Warning{Path: path, Err: err})
			continue
		}
		if slices.ContainsFunc(sub, isDocument) {
			names = append(names, e.Name())
		}
	}
	return names, warns, nil
}

// isDocument reports whether a folder entry is a result document: a visible
// .json file (temporary files are hidden).
func isDocument(e fs.DirEntry) bool {
	return !e.IsDir() && !strings.HasPrefix(e.Name(), ".") && strings.HasSuffix(e.Name(), ".json")
}

// Runs reads every run document of scenario, oldest first (by start time,
// then run ID), including runs still marked running. A damaged or truncated
// document, or one whose runId or scenario does not match its file, is
// skipped and reported as a Warning: one bad file never hides the rest of
// the history. A scenario without results has no runs and no error.
func (s *Store) Runs(scenario string) ([]*results.Run, []results.Warning, error) {
	if err := results.CheckScenarioName(scenario); err != nil {
		return nil, nil, fmt.Errorf("list runs: %w", err)
	}
	dir := filepath.Join(s.Dir, scenario)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list runs of %s: %w", scenario, err)
	}
	var (
		runs  []*results.Run
		warns []results.Warning
	)
	for _, e := range entries {
		if !isDocument(e) || e.Name() == results.LatestFile {
			continue
		}
		path := filepath.Join(dir, e.Name())
		r, err := results.ReadRun(path)
		if err != nil {
			var de *results.DocumentError
			if errors.As(err, &de) {
				err = de.Err
			}
			warns = append(warns, results.Warning{Path: path, Err: err})
			continue
		}
		if id := strings.TrimSuffix(e.Name(), ".json"); r.RunID != id {
			warns = append(warns, results.Warning{Path: path, Err: fmt.Errorf("%w: runId %q does not match the file name", results.ErrInvalidRun, r.RunID)})
			continue
		}
		if r.Scenario.Name != scenario {
			warns = append(warns, results.Warning{Path: path, Err: fmt.Errorf("%w: scenario %q does not match the folder", results.ErrInvalidRun, r.Scenario.Name)})
			continue
		}
		runs = append(runs, r)
	}
	slices.SortFunc(runs, results.CompareRuns)
	return runs, warns, nil
}

// Latest returns the newest finished run of scenario: latest.json, or, when
// that is missing or damaged, the newest finished run document. A scenario
// with no finished run gives an error wrapping ErrNoRuns.
func (s *Store) Latest(scenario string) (*results.Run, error) {
	if err := results.CheckScenarioName(scenario); err != nil {
		return nil, fmt.Errorf("latest run: %w", err)
	}
	if r, err := results.ReadRun(s.LatestPath(scenario)); err == nil && r.Scenario.Name == scenario {
		return r, nil
	}
	runs, _, err := s.Runs(scenario)
	if err != nil {
		return nil, fmt.Errorf("latest run: %w", err)
	}
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Status.Finished() {
			return runs[i], nil
		}
	}
	return nil, fmt.Errorf("latest run of %s: %w", scenario, results.ErrNoRuns)
}

// ReadIndex reads the folder's index.json (see results.ReadIndex).
func (s *Store) ReadIndex() (*results.Index, error) { return results.ReadIndex(s.IndexPath()) }
