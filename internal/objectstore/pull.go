package objectstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

// pullWorkers is how many objects are downloaded at once.
const pullWorkers = 8

// Stats counts a pull's requests, for the cost figures in the README.
type Stats struct {
	Lists, Gets int
	// Kept is how many objects the mirror already had; Unchanged how many
	// scenarios were not listed because nothing was written to them.
	Kept, Unchanged int
}

// Pull brings the mirror up to date with the bucket: the documents and
// ledgers of every scenario (one listing each; only new and changed objects
// are downloaded), and drops what the bucket no longer has unless it is
// still to be uploaded. Logs are fetched when asked for (Fetch). Objects
// that cannot be read are warnings; a store that does not answer is an
// *UnreachableError.
func (s *Store) Pull(ctx context.Context) (Stats, []results.Warning, error) {
	var st Stats
	scenarios, err := s.list(ctx, "", &st)
	if err != nil {
		return st, nil, &UnreachableError{URL: s.url, Err: err}
	}
	changed, err := s.changes(ctx, &st)
	if err != nil {
		return st, nil, &UnreachableError{URL: s.url, Err: err}
	}
	seen := s.readSeen()
	full := time.Since(seen.Full) > fullPullEvery
	var (
		mu    sync.Mutex
		warns []results.Warning
		first error
	)
	// Which scenarios to list is decided first; seen is updated once
	// every listing is done (the workers only report).
	var todo []string
	for _, sc := range scenarios {
		if !sc.IsDir || strings.HasPrefix(sc.Key, ".") {
			continue
		}
		name := strings.TrimSuffix(sc.Key, "/")
		if results.CheckScenarioName(name) != nil {
			continue
		}
		mark, marked := changed[name]
		if last, ok := seen.Changed[name]; !full && marked && ok && mark == last {
			st.Unchanged++
			continue // nothing was written to it since the last pull
		}
		todo = append(todo, name)
	}
	clean := map[string]bool{} // listed and downloaded without a warning
	sem := make(chan struct{}, pullWorkers)
	var wg sync.WaitGroup
	for _, name := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var one Stats
			w, err := s.pullScenario(ctx, name, &one)
			mu.Lock()
			defer mu.Unlock()
			st.Lists += one.Lists
			st.Gets += one.Gets
			st.Kept += one.Kept
			warns = append(warns, w...)
			if err != nil {
				if first == nil {
					first = err
				}
				return
			}
			clean[name] = len(w) == 0
		}()
	}
	wg.Wait()
	if first != nil {
		return st, warns, &UnreachableError{URL: s.url, Err: first}
	}
	for _, name := range todo {
		if mark, marked := changed[name]; marked && clean[name] {
			seen.Changed[name] = mark
		} else {
			delete(seen.Changed, name)
		}
	}
	if full {
		seen.Full = time.Now()
	}
	s.writeSeen(seen)
	return st, warns, nil
}

// fullPullEvery is how often a pull lists every scenario even when its
// change marker says nothing was written (an object removed by hand in
// the bucket writes no marker).
const fullPullEvery = time.Hour

// changes lists the change markers, .drill/changed/<scenario>, which the
// uploader rewrites with new content after each document or ledger it
// uploads: a scenario whose marker has the same checksum (ETag) as at the
// last pull is not listed again, so a warm pull costs a listing per 1000
// scenarios, not one per scenario. The checksum, not the time: object
// times have a resolution of a second. A store that gives no checksum
// gets every scenario listed.
func (s *Store) changes(ctx context.Context, st *Stats) (map[string]string, error) {
	out := map[string]string{}
	token := blob.FirstPageToken
	for {
		rctx, cancel := s.request(ctx)
		page, next, err := s.bucket.ListPage(rctx, token, 1000, &blob.ListOptions{Prefix: changedPrefix})
		cancel()
		st.Lists++
		if err != nil {
			return nil, err
		}
		for _, o := range page {
			if len(o.MD5) > 0 {
				out[strings.TrimPrefix(o.Key, changedPrefix)] = hex.EncodeToString(o.MD5)
			}
		}
		if len(next) == 0 {
			return out, nil
		}
		token = next
	}
}

// seen is what the mirror's last pulls found: each scenario's change
// marker checksum when it was last listed, and when every scenario was.
type seen struct {
	Changed map[string]string `json:"changed"`
	Full    time.Time         `json:"full"`
}

func (s *Store) seenPath() string { return filepath.Join(s.dir, ".drill", "seen.json") }

func (s *Store) readSeen() *seen {
	v := &seen{}
	if data, err := os.ReadFile(s.seenPath()); err == nil {
		_ = json.Unmarshal(data, v)
	}
	if v.Changed == nil {
		v.Changed = map[string]string{}
	}
	return v
}

// writeSeen replaces seen.json atomically; a mirror that cannot keep it
// only lists every scenario on every pull.
func (s *Store) writeSeen(v *seen) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.seenPath()), ".seen.json.tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	if errors.Join(werr, tmp.Close()) != nil || os.Rename(tmp.Name(), s.seenPath()) != nil {
		_ = os.Remove(tmp.Name())
	}
}

// maxVanishedRetries bounds how often list reads a page again because an
// object vanished while it was listed.
const maxVanishedRetries = 5

func (s *Store) list(ctx context.Context, prefix string, st *Stats) ([]*blob.ListObject, error) {
	var out []*blob.ListObject
	token := blob.FirstPageToken
	for vanished := 0; ; {
		rctx, cancel := s.request(ctx)
		page, next, err := s.bucket.ListPage(rctx, token, 1000, &blob.ListOptions{Prefix: prefix, Delimiter: "/"})
		cancel()
		st.Lists++
		if gcerrors.Code(err) == gcerrors.NotFound && vanished < maxVanishedRetries && ctx.Err() == nil {
			// A file:// bucket reads a folder, then each entry: one
			// deleted in between (a lock generation pruned by its
			// new holder) fails the page. Read the page again.
			vanished++
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(next) == 0 {
			return out, nil
		}
		token = next
	}
}

func (s *Store) pullScenario(ctx context.Context, name string, st *Stats) ([]results.Warning, error) {
	objs, err := s.list(ctx, name+"/", st)
	if err != nil {
		return nil, err
	}
	var warns []results.Warning
	seen := map[string]bool{}
	for _, o := range objs {
		if o.IsDir {
			continue
		}
		rel := relOf(o.Key)
		if !isRunFile(name, rel) {
			continue
		}
		seen[rel] = true
		local := filepath.Join(s.dir, filepath.FromSlash(rel))
		// A downloaded copy has the object's time. A copy written here
		// after it (a snapshot between its write and its marker, or not
		// uploaded yet) is newer: a pull must never put an older
		// document over it.
		if fi, err := os.Stat(local); err == nil && (fi.Size() == o.Size && fi.ModTime().Equal(o.ModTime) || fi.ModTime().After(o.ModTime)) {
			st.Kept++
			continue
		}
		if s.pending(rel) {
			continue // written here and not uploaded yet: the local copy is newer
		}
		st.Gets++
		if err := s.download(ctx, o.Key, local, o.ModTime); err != nil {
			warns = append(warns, results.Warning{Path: s.url + "/" + o.Key, Err: err})
		}
	}
	// A finished run the bucket no longer has (expired by a lifecycle
	// rule, removed by hand) goes here too. Never a running one, nor one
	// still to be uploaded: a run of this machine may have finished its
	// upload between the listing and now, and its folder holds its logs.
	dir := filepath.Join(s.dir, name)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || results.CheckRunID(id) != nil {
			continue
		}
		rel := name + "/" + e.Name()
		if seen[rel] || s.pending(rel) || s.pending(name+"/"+id) {
			continue
		}
		if r, err := results.ReadRun(filepath.Join(dir, e.Name())); err != nil || !r.Status.Finished() {
			continue
		}
		_ = os.Remove(filepath.Join(dir, e.Name()))
		_ = os.RemoveAll(filepath.Join(dir, id))
	}
	return warns, nil
}

// isRunFile tells whether rel is a run document or ledger of scenario name.
func isRunFile(name, rel string) bool {
	rest, ok := strings.CutPrefix(rel, name+"/")
	if !ok {
		return false
	}
	if id, ok := strings.CutSuffix(rest, "/"+resultstore.LedgerFile); ok {
		return results.CheckRunID(id) == nil
	}
	id, ok := strings.CutSuffix(rest, ".json")
	return ok && !strings.Contains(id, "/") && results.CheckRunID(id) == nil
}

// download writes the object key to local atomically (a reader of the
// mirror never sees half a document) with the object's time, which the next
// pull compares.
func (s *Store) download(ctx context.Context, key, local string, mod time.Time) error {
	rctx, cancel := s.request(ctx)
	defer cancel()
	r, err := s.bucket.NewReader(rctx, key, nil)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(local), "."+filepath.Base(local)+".tmp-*")
	if err != nil {
		return err
	}
	_, cerr := io.Copy(tmp, r)
	if err := errors.Join(cerr, tmp.Close()); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if mod.IsZero() {
		mod = r.ModTime()
	}
	if err := os.Chtimes(tmp.Name(), mod, mod); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), local); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}

// Fetch makes sure the mirror has the file rel (a step log the dashboard
// is asked for): fetched from the bucket unless it is there already. A
// file the bucket does not have is fs.ErrNotExist.
func (s *Store) Fetch(ctx context.Context, rel string) error {
	if !fs.ValidPath(rel) || !publishable(rel) {
		return fs.ErrNotExist
	}
	local := filepath.Join(s.dir, filepath.FromSlash(rel))
	if _, err := os.Stat(local); err == nil {
		return nil
	}
	err := s.download(ctx, keyOf(rel), local, time.Time{})
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%s: %w", path.Base(rel), fs.ErrNotExist)
	}
	return err
}
