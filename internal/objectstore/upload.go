package objectstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"gocloud.dev/blob"
)

// uploader is the queue of files to copy to the bucket, in the order they
// were published; a file published again while queued keeps its place
// (a running document is rewritten after every step: only its newest
// version matters).
type uploader struct {
	mu     sync.Mutex
	order  []string
	queued map[string]bool
	// busy is the file being uploaded, "" when idle.
	busy string
	kick chan struct{}
	// idle is closed and replaced whenever the queue runs empty.
	idle chan struct{}
}

func (u *uploader) init() {
	u.queued = map[string]bool{}
	u.kick = make(chan struct{}, 1)
	u.idle = make(chan struct{})
}

func (u *uploader) wake() {
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// Publish queues the file or folder rel (slash-separated, relative to the
// mirror). A marker is written first, synchronously, so that a drill killed
// before the upload leaves the next drill command something to upload, and
// a pull never deletes a file that is only local so far.
//
// A file published again while queued moves to the end of the queue: what
// was published after its first version (a run's logs, before its final
// document) goes up before its newest one.
func (s *Store) Publish(rel string) {
	s.up.mu.Lock()
	// Under the queue's lock: the uploader removes a marker only when the
	// file is not queued again, and must not remove this one.
	if err := os.WriteFile(s.marker(rel), []byte(markerOf(rel)), 0o644); err != nil {
		s.log.Warn("results mirror: cannot mark a file for upload", zap.String("file", rel), zap.Error(err))
	}
	s.enqueueLocked(rel)
	s.up.mu.Unlock()
	s.up.wake()
}

// enqueueLocked appends rel to the queue, moving it there if it was
// queued already. The caller holds s.up.mu.
func (s *Store) enqueueLocked(rel string) {
	if s.up.queued[rel] {
		s.up.order = slices.DeleteFunc(s.up.order, func(o string) bool { return o == rel })
	}
	s.up.queued[rel] = true
	s.up.order = append(s.up.order, rel)
}

// markerOf is a marker's content: the file, and the pid of the drill that
// published it, so that another drill command on the machine leaves the
// uploads of a live one to it (two uploaders of one file could land an
// older copy last).
func markerOf(rel string) string { return fmt.Sprintf("%s\n%d\n", rel, os.Getpid()) }

// resume queues what earlier drill commands marked and did not upload,
// except the files of drills still running here, which upload them.
func (s *Store) resume() {
	entries, err := os.ReadDir(s.pendingDir())
	if err != nil {
		return
	}
	s.up.mu.Lock()
	defer s.up.mu.Unlock()
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(s.pendingDir(), e.Name()))
		if err != nil {
			continue
		}
		rel, owner, _ := strings.Cut(strings.TrimSuffix(string(data), "\n"), "\n")
		if pid, err := strconv.Atoi(owner); err == nil && pid != os.Getpid() && processAlive(pid) {
			continue
		}
		if fs.ValidPath(rel) {
			s.enqueueLocked(rel)
		}
	}
	s.up.wake()
}

func (s *Store) pendingDir() string { return filepath.Join(s.dir, ".drill", "pending") }

func (s *Store) marker(rel string) string {
	sum := sha256.Sum256([]byte(rel))
	return filepath.Join(s.pendingDir(), hex.EncodeToString(sum[:12]))
}

// pending tells whether rel, or the folder holding it, is marked for upload.
func (s *Store) pending(rel string) bool {
	for p := rel; p != "." && p != "/"; p = path.Dir(p) {
		if _, err := os.Stat(s.marker(p)); err == nil {
			return true
		}
	}
	return false
}

// upload is the uploader's loop: one file at a time, in order; a failure
// is retried after a pause that doubles up to 30s, until Close.
func (s *Store) upload() {
	defer s.stopped.Done()
	pause := s.opts.Retry
	for {
		s.up.mu.Lock()
		if len(s.up.order) == 0 {
			close(s.up.idle)
			s.up.idle = make(chan struct{})
			s.up.busy = ""
			s.up.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-s.up.kick:
				continue
			}
		}
		rel := s.up.order[0]
		s.up.busy = rel
		// Dequeued before the upload: a Publish meanwhile queues it again.
		s.up.order = s.up.order[1:]
		delete(s.up.queued, rel)
		s.up.mu.Unlock()

		err := s.put(rel)
		if err == nil {
			s.health.ok(time.Now())
			pause = s.opts.Retry
			s.up.mu.Lock()
			if !s.up.queued[rel] {
				_ = os.Remove(s.marker(rel))
			}
			s.up.mu.Unlock()
			continue
		}
		s.log.Warn("results store: upload failed; retrying", zap.String("file", rel), zap.Error(err))
		s.health.failed(time.Now(), err)
		s.up.mu.Lock()
		if !s.up.queued[rel] {
			s.up.queued[rel] = true
			s.up.order = append([]string{rel}, s.up.order...)
		}
		s.up.mu.Unlock()
		select {
		case <-s.stop:
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 30*time.Second)
	}
}

// buffered counts the files not uploaded yet.
func (s *Store) buffered() int {
	entries, _ := os.ReadDir(s.pendingDir())
	return len(entries)
}

// put copies the file, or every publishable file of the folder, rel to the
// bucket. A file that vanished meanwhile (a removed run) is not an error.
func (s *Store) put(rel string) error {
	local := filepath.Join(s.dir, filepath.FromSlash(rel))
	st, err := os.Lstat(local)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		if err := s.putFile(rel, local); err != nil {
			return err
		}
		return s.touch(scenarioOf(rel))
	}
	return filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		r, err := filepath.Rel(s.dir, p)
		if err != nil {
			return err
		}
		r = filepath.ToSlash(r)
		if !publishable(r) {
			return nil
		}
		return s.putFile(r, p)
	})
}

func (s *Store) putFile(rel, local string) error {
	f, err := os.Open(local)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	ctx, cancel := s.request(context.Background())
	defer cancel()
	ct := mime.TypeByExtension(path.Ext(rel))
	if ct == "" || strings.HasSuffix(rel, ".log") || strings.HasSuffix(rel, ".jsonl") {
		ct = "text/plain; charset=utf-8"
	}
	if err := s.bucket.Upload(ctx, keyOf(rel), f, &blob.WriterOptions{ContentType: ct}); err != nil {
		return fmt.Errorf("upload %s: %w", keyOf(rel), err)
	}
	return nil
}

// touch rewrites the scenario's change marker (after its upload, so a
// reader that sees the new marker finds the new object).
func (s *Store) touch(scenario string) error {
	if scenario == "" {
		return nil
	}
	ctx, cancel := s.request(context.Background())
	defer cancel()
	// New content every time, so its checksum changes (see changes).
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	mark := fmt.Sprintf("%s %x\n", time.Now().UTC().Format(time.RFC3339Nano), nonce)
	if err := s.bucket.WriteAll(ctx, changedPrefix+scenario, []byte(mark), &blob.WriterOptions{ContentType: "text/plain"}); err != nil {
		return fmt.Errorf("mark %s changed: %w", scenario, err)
	}
	return nil
}

// Flush waits until everything published is uploaded, or ctx ends. It
// returns how many files are left and, when some are, the store's error.
func (s *Store) Flush(ctx context.Context) (left int, err error) {
	for {
		s.up.mu.Lock()
		empty := len(s.up.order) == 0 && s.up.busy == ""
		idle := s.up.idle
		s.up.mu.Unlock()
		if empty {
			return 0, nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			_, last := s.health.state()
			if last == nil {
				last = context.Cause(ctx)
			}
			return s.buffered(), last
		}
	}
}

// health records when the store stopped and started answering, for the
// warnings of the run documents.
type health struct {
	mu sync.Mutex
	// down is when the current outage began (zero: the store answers).
	down    time.Time
	lastErr error
	past    []string
}

func (h *health) failed(now time.Time, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down.IsZero() {
		h.down = now
	}
	h.lastErr = err
}

func (h *health) ok(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down.IsZero() {
		return
	}
	h.past = append(h.past, fmt.Sprintf("the results store did not answer from %s to %s (%v); drill kept the documents in its local mirror meanwhile and uploaded them when it answered again",
		h.down.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), h.lastErr))
	h.down, h.lastErr = time.Time{}, nil
}

func (h *health) state() (down time.Time, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down, h.lastErr
}

// settle is how long Warnings waits for the uploads queued so far.
const settle = 10 * time.Second

// Warnings says what a run document must know about the store: outages
// that are over and the one under way. It first gives the uploads queued
// so far a moment (settle) to land, so a store that just went down is
// known to be down when the final document is written.
func (s *Store) Warnings() []string {
	ctx, cancel := context.WithTimeout(context.Background(), settle)
	left, _ := s.Flush(ctx)
	cancel()
	if left > 0 {
		s.health.failed(time.Now(), fmt.Errorf("%d uploads were still pending %s after the run finished: the store is slow or does not answer", left, settle))
	}
	s.health.mu.Lock()
	out := append([]string(nil), s.health.past...)
	down, err := s.health.down, s.health.lastErr
	s.health.mu.Unlock()
	if !down.IsZero() {
		out = append(out, fmt.Sprintf("the results store has not answered since %s (%v): this document and the run's logs are kept in %s and uploaded when it answers (drill retries until it exits; the next drill command with the same --results uploads what is left)",
			down.UTC().Format(time.RFC3339), err, s.dir))
	}
	out = append(out, s.lockWarnings()...)
	return out
}
