package resultstore

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redeploy-drill/drill/internal/safeio"
	"github.com/redeploy-drill/drill/results"
)

// historyHeader is the first line of history.jsonl. A file with another
// first line (another format, or garbage) is rebuilt from the documents.
const historyHeader = `{"apiVersion":"drill/v1","kind":"DrillHistory"}`

// HistoryOptions tunes History and Histories. The zero value uses the
// defaults.
type HistoryOptions struct {
	// Detail is the number of newest finished runs whose entries are
	// complete (DefaultRecent when <= 0). Older entries carry only their
	// head, which keeps long histories fast and small.
	Detail int
}

func (o HistoryOptions) detail() int {
	if o.Detail <= 0 {
		return results.DefaultRecent
	}
	return o.Detail
}

// HistoryPath is <dir>/<scenario>/history.jsonl.
func (s *Store) HistoryPath(scenario string) string {
	return filepath.Join(s.Dir, scenario, results.HistoryFile)
}

// History returns scenario's runs through its history index, reconciled
// with the documents in its folder: the result is the one Runs would give,
// without reading every document. When the index disagrees with the
// documents (missing, damaged, a document added or deleted), History
// repairs it under the index lock; a results folder it cannot write to is
// read all the same. Damaged documents are skipped and returned as
// warnings, as Runs does. A scenario without results has an empty history.
func (s *Store) History(scenario string, opts HistoryOptions) (*results.ScenarioHistory, []results.Warning, error) {
	if err := results.CheckScenarioName(scenario); err != nil {
		return nil, nil, fmt.Errorf("read history: %w", err)
	}
	h, warns, _, err := s.history(scenario, opts.detail(), false)
	if err != nil {
		return nil, warns, fmt.Errorf("read history of %s: %w", scenario, err)
	}
	return h, warns, nil
}

// Histories returns the history of every scenario that has results, sorted
// by name, as History does for one.
func (s *Store) Histories(opts HistoryOptions) ([]*results.ScenarioHistory, []results.Warning, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list scenarios: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && results.CheckScenarioName(e.Name()) == nil {
			names = append(names, e.Name())
		}
	}
	// Scenarios are read in parallel, one per CPU: the work is listing
	// folders and parsing lines, and the scenarios share nothing.
	type result struct {
		h     *results.ScenarioHistory
		warns []results.Warning
		docs  int
		err   error
	}
	res := make([]result, len(names))
	sem := make(chan struct{}, max(runtime.GOMAXPROCS(0), 1))
	var wg sync.WaitGroup
	for i, name := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r := &res[i]
			r.h, r.warns, r.docs, r.err = s.history(name, opts.detail(), false)
		})
	}
	wg.Wait()
	var (
		out   []*results.ScenarioHistory
		warns []results.Warning
	)
	for i, r := range res {
		warns = append(warns, r.warns...)
		if r.err != nil {
			// One scenario that cannot be read never hides the others.
			warns = append(warns, results.Warning{Path: filepath.Join(s.Dir, names[i]), Err: r.err})
			continue
		}
		if r.docs > 0 {
			out = append(out, r.h)
		}
	}
	return out, warns, nil
}

// history loads and, when needed and possible, repairs one scenario's
// history. docs is the number of documents in the folder (so Histories can
// skip folders that are not scenarios). locked is true when the caller holds
// the index lock.
func (s *Store) history(scenario string, detail int, locked bool) (*results.ScenarioHistory, []results.Warning, int, error) {
	l, err := s.loadHistory(scenario, detail)
	defer l.close()
	if err != nil {
		return nil, l.warns, 0, err
	}
	if !l.dirty {
		return l.result(detail)
	}
	if locked {
		if err := l.rewrite(s.HistoryPath(scenario)); err != nil {
			return nil, l.warns, l.docs, err
		}
		return l.result(detail)
	}
	// Repair under the lock. A folder that cannot be locked or written (a
	// read-only copy, another user's results) is served from what was
	// read.
	unlock, err := lockFile(filepath.Join(s.Dir, results.IndexLockFile))
	if err != nil {
		return l.result(detail)
	}
	defer unlock()
	if !l.fileChanged(s.HistoryPath(scenario)) {
		// Nothing was appended or repaired since it was read: what was
		// read is still the whole story, and a rebuild of thousands of
		// documents is not done twice.
		// A failed rewrite leaves the old file; the next reader tries
		// again, and this one has its answer either way.
		_ = l.rewrite(s.HistoryPath(scenario))
		return l.result(detail)
	}
	// A drill finished (and appended its line) meanwhile: read again.
	if h, warns, docs, err := s.history(scenario, detail, true); err == nil {
		return h, warns, docs, nil
	}
	return l.result(detail)
}

// result returns the history read, older entries cut to their head so a
// history rebuilt from thousands of documents is not held whole in memory.
func (l *historyLoad) result(detail int) (*results.ScenarioHistory, []results.Warning, int, error) {
	for i := range len(l.h.Entries) - detail {
		e := &l.h.Entries[i]
		*e = results.HistoryEntry{
			RunID: e.RunID, Scenario: e.Scenario, Status: e.Status, Holds: e.Holds,
			StartedAt: e.StartedAt, DurationMs: e.DurationMs, FreshnessMs: e.FreshnessMs,
		}
	}
	return l.h, l.warns, l.docs, nil
}

// fileChanged reports whether the history file at path is no longer the
// one that was read (appended to, replaced, created or removed).
func (l *historyLoad) fileChanged(path string) bool {
	now, err := os.Stat(path)
	if l.file == nil {
		return err == nil
	}
	if err != nil {
		return true
	}
	return !os.SameFile(l.info, now) || l.info.Size() != now.Size() || !l.info.ModTime().Equal(now.ModTime())
}

// historyLoad is one reading of a scenario's folder and history file.
type historyLoad struct {
	h     *results.ScenarioHistory
	warns []results.Warning
	docs  int
	// dirty is set when the file does not match the documents.
	dirty bool
	// lines has, for each of h.Entries, where its line is in the file
	// (len 0: the entry was read from its document).
	lines []lineRef
	// file is the history file read, nil when there was none; info is
	// its state when it was read.
	file *os.File
	info os.FileInfo
}

type lineRef struct {
	off int64
	len int
}

// loadHistory reads scenario's folder listing and history file and
// reconciles them. It never writes.
func (s *Store) loadHistory(scenario string, detail int) (*historyLoad, error) {
	l := &historyLoad{h: &results.ScenarioHistory{Scenario: scenario}}
	dir := filepath.Join(s.Dir, scenario)
	ids, err := listDocuments(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("list documents: %w", err)
	}
	l.docs = len(ids)

	type indexed struct {
		e    results.HistoryEntry
		line lineRef
	}
	all := make([]indexed, 0, len(ids))
	byID := make(map[string]int, len(ids))
	f, err := safeio.OpenRegular(filepath.Join(dir, results.HistoryFile))
	switch {
	case err == nil:
		l.file = f
		if l.info, err = f.Stat(); err != nil {
			return l, fmt.Errorf("stat %s: %w", results.HistoryFile, err)
		}
		l.dirty = !readHistoryLines(f, func(line []byte, ref lineRef) {
			var e results.HistoryEntry
			if decodeEntryHead(line, &e) != nil || e.RunID == "" {
				l.dirty = true // its document is read below, if it exists
				return
			}
			if i, ok := byID[e.RunID]; ok {
				all[i] = indexed{e, ref} // appended twice: the later line wins
				l.dirty = true
				return
			}
			byID[e.RunID] = len(all)
			all = append(all, indexed{e, ref})
		})
	case errors.Is(err, fs.ErrNotExist):
		l.dirty = len(ids) > 0
	default:
		// An unreadable index (a FIFO, a folder, a symlink loop in its
		// place) is worked around: the documents are read instead, and
		// the reader is told.
		l.warns = append(l.warns, results.Warning{Path: filepath.Join(dir, results.HistoryFile), Err: err})
		l.dirty = len(ids) > 0
	}

	// Lines whose document is gone are dropped; documents without a line
	// are read.
	kept := all[:0]
	for _, x := range all {
		if _, ok := ids[x.e.RunID]; !ok {
			l.dirty = true
			continue
		}
		delete(ids, x.e.RunID)
		x.e.Scenario = scenario
		kept = append(kept, x)
	}
	all = kept
	missing := make([]string, 0, len(ids))
	for id := range ids {
		missing = append(missing, id)
	}
	slices.Sort(missing)
	for _, id := range missing {
		path := filepath.Join(dir, id+".json")
		r, err := readScenarioRun(path, scenario, id)
		if err != nil {
			l.warns = append(l.warns, results.Warning{Path: path, Err: err})
			continue
		}
		if !r.Status.Finished() {
			l.h.Running = append(l.h.Running, r)
			continue
		}
		all = append(all, indexed{e: results.EntryOf(r)})
		l.dirty = true
	}
	slices.SortFunc(l.h.Running, results.CompareRuns)
	slices.SortFunc(all, func(a, b indexed) int { return results.CompareEntries(&a.e, &b.e) })

	if len(all) > 0 {
		l.h.Entries = make([]results.HistoryEntry, len(all))
		l.lines = make([]lineRef, len(all))
	}
	for i, x := range all {
		l.h.Entries[i], l.lines[i] = x.e, x.line
	}
	// The newest entries are decoded in full. A line whose head was fine but
	// whose tail is not is replaced by its document.
	for i := len(all) - 1; i >= 0 && i >= len(all)-detail; i-- {
		ref := l.lines[i]
		if ref.len == 0 {
			continue
		}
		line := make([]byte, ref.len)
		if _, err := f.ReadAt(line, ref.off); err != nil {
			return l, fmt.Errorf("read %s: %w", results.HistoryFile, err)
		}
		var e results.HistoryEntry
		if err := json.Unmarshal(line, &e); err != nil || e.RunID != l.h.Entries[i].RunID || e.StartedAt.IsZero() {
			id := l.h.Entries[i].RunID
			path := filepath.Join(dir, id+".json")
			r, err := readScenarioRun(path, scenario, id)
			if err != nil {
				l.warns = append(l.warns, results.Warning{Path: path, Err: err})
				continue
			}
			e = results.EntryOf(r)
			l.lines[i] = lineRef{}
			l.dirty = true
		}
		e.Scenario = scenario
		l.h.Entries[i] = e
	}
	return l, nil
}

func (l *historyLoad) close() {
	if l.file != nil {
		_ = l.file.Close()
	}
}

// listDocuments returns the run IDs of the documents in dir. It reads the
// folder in its own order: sorting 100,000 names is wasted work here.
func listDocuments(dir string) (map[string]struct{}, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	// Names only: a DirEntry per run folder and log folder would double
	// the garbage. A folder named like a document is caught when it is
	// read (and reported as a warning).
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	ids := make(map[string]struct{}, len(names)/2)
	for _, name := range names {
		if strings.HasSuffix(name, ".json") && !strings.HasPrefix(name, ".") && name != results.LatestFile {
			ids[name[:len(name)-len(".json")]] = struct{}{}
		}
	}
	return ids, nil
}

// readScenarioRun reads the document of run id of scenario, checking that
// it is what its file name says, as Runs does.
func readScenarioRun(path, scenario, id string) (*results.Run, error) {
	r, err := results.ReadRun(path)
	if err != nil {
		var de *results.DocumentError
		if errors.As(err, &de) {
			err = de.Err
		}
		return nil, err
	}
	if r.RunID != id {
		return nil, fmt.Errorf("%w: runId %q does not match the file name", results.ErrInvalidRun, r.RunID)
	}
	if r.Scenario.Name != scenario {
		return nil, fmt.Errorf("%w: scenario %q does not match the folder", results.ErrInvalidRun, r.Scenario.Name)
	}
	return r, nil
}

// readHistoryLines calls fn with each complete entry line of a history file
// and where it lies. It returns false when the file needs a rewrite: a
// wrong header, or a last line cut short by a crash.
func readHistoryLines(f *os.File, fn func(line []byte, ref lineRef)) bool {
	br := bufio.NewReaderSize(f, 1<<20)
	var (
		off   int64
		first = true
		ok    = true
		long  []byte
	)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil {
			// io.EOF with bytes left: a line without its newline, cut
			// short; other errors: the rest cannot be read. Either way
			// the documents fill the gap.
			return ok && len(line) == 0 && errors.Is(err, io.EOF)
		}
		n := len(line)
		body := line[:n-1]
		if first {
			first = false
			if string(body) != historyHeader {
				return false
			}
		} else if len(body) > 0 {
			fn(body, lineRef{off: off, len: len(body)})
		}
		off += int64(n)
	}
}

// decodeEntryHead decodes the head of a line: RunID, Status, Holds,
// StartedAt, DurationMs and FreshnessMs, all that older entries need. drill
// writes these fields first, in this order and without escapes, so they are
// read straight from the bytes; a line of any other shape is decoded whole
// (and then carries every field).
func decodeEntryHead(line []byte, e *results.HistoryEntry) error {
	if len(line) < 2 || line[0] != '{' || line[len(line)-1] != '}' {
		return errors.New("not a JSON object")
	}
	if parseEntryHead(line, e) {
		return nil
	}
	*e = results.HistoryEntry{}
	return json.Unmarshal(line, e)
}

// parseEntryHead reads the fixed head of a line written by drill:
//
//	{"runId":"…","status":"…","holds":true,"startedAt":"…","durationMs":1,"freshnessMs":0,
func parseEntryHead(line []byte, e *results.HistoryEntry) bool {
	p := headParser{b: line}
	var started string
	ok := p.lit(`{"runId":`) && p.str(&e.RunID) &&
		p.lit(`,"status":`) && p.status(&e.Status) &&
		p.lit(`,"holds":`) && p.boolean(&e.Holds) &&
		p.lit(`,"startedAt":`) && p.str(&started) &&
		p.lit(`,"durationMs":`) && p.int(&e.DurationMs) &&
		p.lit(`,"freshnessMs":`) && p.int(&e.FreshnessMs) &&
		p.i < len(p.b) && (p.b[p.i] == ',' || p.b[p.i] == '}')
	if !ok {
		return false
	}
	t, err := time.Parse(time.RFC3339Nano, started)
	if err != nil {
		return false
	}
	e.StartedAt = t
	return true
}

type headParser struct {
	b []byte
	i int
}

func (p *headParser) lit(s string) bool {
	if !bytes.HasPrefix(p.b[p.i:], []byte(s)) {
		return false
	}
	p.i += len(s)
	return true
}

// str reads a string without escapes.
func (p *headParser) str(out *string) bool {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return false
	}
	rest := p.b[p.i+1:]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return false
	}
	*out = string(rest[:end])
	p.i += end + 2
	return true
}

// status reads a status, sharing the constants' strings instead of
// allocating one per line.
func (p *headParser) status(out *results.Status) bool {
	var s string
	if !p.str(&s) {
		return false
	}
	for _, known := range []results.Status{results.StatusPassed, results.StatusFailed, results.StatusTimedOut, results.StatusCanceled, results.StatusSkipped, results.StatusRunning} {
		if s == string(known) {
			*out = known
			return true
		}
	}
	*out = results.Status(s)
	return true
}

func (p *headParser) boolean(out *bool) bool {
	switch {
	case p.lit("true"):
		*out = true
	case p.lit("false"):
		*out = false
	default:
		return false
	}
	return true
}

func (p *headParser) int(out *int64) bool {
	start, neg := p.i, false
	if p.i < len(p.b) && p.b[p.i] == '-' {
		neg = true
		p.i++
	}
	var v int64
	digits := 0
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' && digits < 18 {
		v = v*10 + int64(p.b[p.i]-'0')
		p.i++
		digits++
	}
	if digits == 0 || (p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9') {
		p.i = start
		return false
	}
	if neg {
		v = -v
	}
	*out = v
	return true
}

// rewrite replaces the history file with l's entries: lines still valid
// are copied as they are, the others encoded from their documents.
func (l *historyLoad) rewrite(path string) error {
	if l.docs == 0 && l.file == nil {
		return nil
	}
	err := writeFileAtomicFunc(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		bw.WriteString(historyHeader + "\n")
		var buf []byte
		for i := range l.h.Entries {
			ref := l.lines[i]
			if ref.len > 0 {
				if cap(buf) < ref.len {
					buf = make([]byte, ref.len)
				}
				buf = buf[:ref.len]
				if _, err := l.file.ReadAt(buf, ref.off); err != nil {
					return err
				}
			} else {
				var err error
				if buf, err = json.Marshal(&l.h.Entries[i]); err != nil {
					return err
				}
			}
			bw.Write(buf)
			bw.WriteByte('\n')
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("rewrite %s: %w", results.HistoryFile, err)
	}
	return nil
}

// writeHistory replaces scenario's history file with the entries of runs,
// which must all be finished and of scenario.
func (s *Store) writeHistory(scenario string, runs []*results.Run) error {
	err := writeFileAtomicFunc(s.HistoryPath(scenario), func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		bw.WriteString(historyHeader + "\n")
		for _, r := range runs {
			e := results.EntryOf(r)
			line, err := json.Marshal(&e)
			if err != nil {
				return err
			}
			bw.Write(line)
			bw.WriteByte('\n')
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("write %s of %s: %w", results.HistoryFile, scenario, err)
	}
	return nil
}

// appendHistory appends r's line to its scenario's history file, starting
// the file when there is none. The caller holds the index lock.
func (s *Store) appendHistory(r *results.Run) error {
	e := results.EntryOf(r)
	line, err := json.Marshal(&e)
	if err != nil {
		return fmt.Errorf("encode history entry: %w", err)
	}
	path := s.HistoryPath(r.Scenario.Name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", results.HistoryFile, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", results.HistoryFile, err)
	}
	var out []byte
	size := st.Size()
	if size > 0 {
		// A last line cut short by a crash is dropped, so it never ends up
		// in the middle of the file; the reconciliation reads its run from
		// the document.
		end, err := lastLineEnd(path, size)
		if err != nil {
			return fmt.Errorf("read %s: %w", results.HistoryFile, err)
		}
		if end < size {
			if err := f.Truncate(end); err != nil {
				return fmt.Errorf("truncate torn line of %s: %w", results.HistoryFile, err)
			}
			size = end
		}
	}
	if size == 0 {
		out = append(out, historyHeader+"\n"...)
	}
	out = append(append(out, line...), '\n')
	// One write: a concurrent reader sees the line whole or not at all
	// (and a reader that catches half a line treats it as missing).
	if _, err := f.Write(out); err != nil {
		return fmt.Errorf("append to %s: %w", results.HistoryFile, err)
	}
	return nil
}

// lastLineEnd returns the offset just after the last newline of the file
// at path (0 when there is none).
func lastLineEnd(path string, size int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(end-int64(len(buf)), 0)
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// IndexOf derives the DrillIndex of histories: the newest finished run of
// each scenario and its newest success. It is what index.json holds, for a
// reader that finds index.json damaged or unreadable and may not repair it.
func (s *Store) IndexOf(hs []*results.ScenarioHistory) *results.Index {
	idx := &results.Index{APIVersion: results.APIVersion, Kind: results.KindIndex, UpdatedAt: time.Now().UTC(), Scenarios: []results.IndexEntry{}}
	for _, h := range hs {
		if len(h.Entries) == 0 {
			continue
		}
		e := h.Entries[len(h.Entries)-1]
		entry := results.IndexEntry{
			Name: h.Scenario, File: e.File, Owner: h.Owner(), LatestRunID: e.RunID, Status: e.Status, Holds: e.Holds,
			StartedAt: e.StartedAt.UTC(), DurationMs: e.DurationMs, FreshnessMs: e.FreshnessMs,
			Run: s.Rel(s.RunPath(h.Scenario, e.RunID)),
		}
		for i := len(h.Entries) - 1; i >= 0; i-- {
			if h.Entries[i].Succeeded() {
				t := h.Entries[i].StartedAt.UTC()
				entry.LastSuccess = &t
				break
			}
		}
		idx.Scenarios = append(idx.Scenarios, entry)
	}
	return idx
}
