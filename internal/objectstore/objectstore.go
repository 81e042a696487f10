// Package objectstore keeps drill's results in object storage (S3 or any
// bucket gocloud.dev/blob opens) so that runners on many machines share one
// history, one dashboard and one run lock.
//
// drill's results code (package results) works on a folder. For a bucket it
// works on a local mirror of it, and this package moves objects between the
// two:
//
//   - every document, ledger and run folder the resultstore.Store writes is
//     published: copied to the bucket by a background uploader, which keeps
//     a marker per file until the copy succeeded, so a store that is down
//     mid-run costs nothing but a warning and the next drill command uploads
//     what is left;
//   - readers (status, list, report, serve, gc) pull first: one listing per
//     scenario, and only the objects that are new or changed since the last
//     pull are downloaded (a finished run's document never changes);
//   - the run lock is an object created with If-None-Match: * (see lock.go).
//
// Objects are written once per version and never read-modify-written: a run
// document, its ledger and its logs belong to one run, so any number of
// writers share the bucket without a race. index.json, latest.json and
// history.jsonl are derived in the mirror from the listing, never uploaded.
package objectstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// URLs
	_ "gocloud.dev/blob/s3blob"   // s3:// URLs
)

// Schemes are the URL schemes --results accepts.
var Schemes = []string{"s3", "file"}

// IsURL reports whether s names a store by URL (scheme://...) rather than a
// folder.
func IsURL(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	return ok && scheme != "" && !strings.ContainsAny(scheme, `/\.`)
}

// Display is s without a URL's query (endpoint, region): the base that
// object paths are printed under, s3://bucket/prefix/<scenario>/<run>.json.
// A folder is returned as it is.
func Display(s string) string {
	if !IsURL(s) {
		return s
	}
	base, _, _ := strings.Cut(s, "?")
	return strings.TrimSuffix(base, "/")
}

// UsageError is a URL drill cannot use as it is written (exit 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// UnreachableError is a store that does not answer, refuses the
// credentials or lacks the bucket: an environment problem (exit 3), found
// before anything is provisioned.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("results store %s is unreachable: %v", e.URL, e.Err)
}
func (e *UnreachableError) Unwrap() error { return e.Err }

// Options tune a Store; the zero value is what drill uses.
type Options struct {
	// CacheDir is the local mirror. Default: $DRILL_CACHE_DIR/results/<hash>,
	// else the user cache folder's drill/results/<hash>, one per URL.
	CacheDir string
	// LockTTL is how long a run lock lives without renewal (default
	// 1 minute; renewed every third of it).
	LockTTL time.Duration
	// Retry is the first pause after a failed upload (default 1s,
	// doubling to 30s).
	Retry  time.Duration
	Logger *zap.Logger
	// Timeout bounds each request (default 30s).
	Timeout time.Duration
}

// Store is a bucket and its local mirror. It implements resultstore.Remote.
type Store struct {
	url    string
	bucket *blob.Bucket
	dir    string
	opts   Options
	log    *zap.Logger

	// fileRoot is the folder of a file:// bucket (see createLock).
	fileRoot string
	up       uploader
	health   health
	locks    lockState
	stop     chan struct{}
	stopped  sync.WaitGroup
	// releasing counts lock releases waiting for their uploads.
	releasing sync.WaitGroup
}

// Open opens the store rawURL names and checks that it answers (one
// listing), so a store that is down is found before a run provisions
// anything.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	if opts.LockTTL <= 0 {
		opts.LockTTL = time.Minute
	}
	if opts.Retry <= 0 {
		opts.Retry = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	bucketURL, err := normalize(rawURL)
	if err != nil {
		return nil, &UsageError{Err: fmt.Errorf("--results %s: %w", rawURL, err)}
	}
	if opts.CacheDir == "" {
		opts.CacheDir = cacheDir(bucketURL)
	}
	s := &Store{url: rawURL, dir: opts.CacheDir, opts: opts, log: opts.Logger, stop: make(chan struct{})}
	if strings.HasPrefix(bucketURL, "file://") {
		// A folder the first run creates, like a plain --results folder.
		if u, err := url.Parse(bucketURL); err == nil && u.Path != "" {
			s.fileRoot = filepath.FromSlash(u.Path)
			if err := os.MkdirAll(s.fileRoot, 0o755); err != nil {
				return nil, &UnreachableError{URL: rawURL, Err: err}
			}
		}
	}
	s.bucket, err = blob.OpenBucket(ctx, bucketURL)
	if err != nil {
		return nil, &UsageError{Err: fmt.Errorf("--results %s: %w", rawURL, err)}
	}
	if err := s.ping(ctx); err != nil {
		_ = s.bucket.Close()
		return nil, &UnreachableError{URL: rawURL, Err: err}
	}
	if err := os.MkdirAll(s.pendingDir(), 0o755); err != nil {
		_ = s.bucket.Close()
		return nil, fmt.Errorf("results mirror %s: %w", s.dir, err)
	}
	s.up.init()
	s.resume()
	s.stopped.Add(1)
	go s.upload()
	return s, nil
}

// normalize turns the URL an operator writes into the one gocloud.dev
// opens: s3://bucket/some/prefix keeps its objects under some/prefix/.
func normalize(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "s3":
		if u.Host == "" {
			return "", errors.New("no bucket: write s3://BUCKET/PREFIX?endpoint=...&region=...")
		}
		q := u.Query()
		if p := strings.Trim(u.Path, "/"); p != "" {
			if q.Has("prefix") {
				return "", errors.New("give the prefix as the URL's path or as ?prefix=, not both")
			}
			q.Set("prefix", p+"/")
		}
		u.Path, u.RawQuery = "", q.Encode()
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("file URL with host %q: write file:///absolute/path", u.Host)
		}
		if u.Path == "" || !strings.HasPrefix(u.Path, "/") {
			return "", errors.New("file URL without an absolute path: write file:///absolute/path")
		}
	default:
		return "", fmt.Errorf("scheme %q is not supported (%s)", u.Scheme, strings.Join(Schemes, ", "))
	}
	return u.String(), nil
}

// cacheDir is the default mirror of a bucket URL.
func cacheDir(bucketURL string) string {
	sum := sha256.Sum256([]byte(bucketURL))
	name := hex.EncodeToString(sum[:8])
	if d := os.Getenv("DRILL_CACHE_DIR"); d != "" {
		return filepath.Join(d, "results", name)
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "drill", "results", name)
	}
	return filepath.Join(os.TempDir(), "drill-cache", "results", name)
}

// ping lists at most one object: it fails on a store that does not
// answer, a bucket that does not exist and credentials that are refused.
func (s *Store) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	_, _, err := s.bucket.ListPage(ctx, blob.FirstPageToken, 1, &blob.ListOptions{Delimiter: "/"})
	return err
}

// Dir is the local mirror the resultstore.Store works in.
func (s *Store) Dir() string { return s.dir }

// String is the URL as given.
func (s *Store) String() string { return s.url }

// Close stops the uploader (what is not uploaded stays marked for the next
// drill command), finishes the lock releases waiting for uploads, and
// closes the bucket. Call Flush first to wait for the
// uploads.
func (s *Store) Close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.releasing.Wait() // their uploads are done, or given up: stop ended their waits
	s.up.wake()
	s.stopped.Wait()
	return s.bucket.Close()
}

// request is a context for one request to the store.
func (s *Store) request(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opts.Timeout)
}
