package cli

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/internal/objectstore"
	"github.com/redeploy-drill/drill/internal/resultstore"
)

// flushTimeout bounds how long drill waits, before it exits, for a results
// store that stopped answering to take what is buffered
// (DRILL_RESULTS_FLUSH_TIMEOUT overrides it).
const flushTimeout = 2 * time.Minute

// openResults resolves --results for the command, once: a folder as it
// always was, or a URL (s3://, file://) whose local mirror the command then
// works in. pull brings the mirror up to date first (the readers: status,
// list, report, serve, gc). A URL drill cannot use is exit 2; a store that
// does not answer is exit 3, before anything is provisioned.
func (a *app) openResults(ctx context.Context, pull bool) (*resultstore.Store, error) {
	if !objectstore.IsURL(a.results) {
		return openStore(a), nil
	}
	if a.remote == nil {
		var opts objectstore.Options
		if v := os.Getenv("DRILL_LOCK_TTL"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Second {
				return nil, exitf(ExitUsage, "DRILL_LOCK_TTL: %q is not a duration of at least 1s", v)
			}
			opts.LockTTL = d
		}
		rs, err := objectstore.Open(ctx, a.results, opts)
		if err != nil {
			return nil, resultsError(err)
		}
		a.remote = rs
		a.store = resultstore.Open(rs.Dir()).WithRemote(rs)
	}
	if pull {
		if err := a.pullResults(ctx); err != nil {
			return nil, err
		}
	}
	return a.store, nil
}

// pullResults brings the mirror of a results store in object storage up
// to date (nothing for a folder).
func (a *app) pullResults(ctx context.Context) error {
	if a.remote == nil {
		return nil
	}
	_, warns, err := a.remote.Pull(ctx)
	if err != nil {
		return resultsError(err)
	}
	for _, w := range warns {
		a.say().warnf("%s", w.Error())
	}
	return nil
}

func resultsError(err error) error {
	if u, ok := errors.AsType[*objectstore.UsageError](err); ok {
		return &ExitError{Code: ExitUsage, Err: u}
	}
	return &ExitError{Code: ExitEnvironment, Err: err}
}

// closeResults waits for the uploads of a results store in object storage
// and closes it. Files that could not be uploaded in time stay in the
// mirror, marked for the next drill command: that is exit 3, since the
// store does not hold this command's results.
func (a *app) closeResults() error {
	if a.remote == nil {
		return nil
	}
	timeout := flushTimeout
	if d, err := time.ParseDuration(os.Getenv("DRILL_RESULTS_FLUSH_TIMEOUT")); err == nil && d >= 0 {
		timeout = d
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	left, err := a.remote.Flush(ctx)
	_ = a.remote.Close()
	if left == 0 {
		return nil
	}
	return exitf(ExitEnvironment, "results store %s: %d files not uploaded (%v); they are kept in %s and the next drill command with --results %s uploads them",
		a.results, left, err, a.remote.Dir(), a.results)
}

// openStore is the results store of the command: the mirror of a URL once
// openResults opened it, else the folder by its absolute path (every path
// drill hands to steps (DRILL_RESULTS_DIR, KUBECONFIG) and prints derives
// from it, and must not depend on the current folder).
func openStore(a *app) *resultstore.Store {
	if a.store != nil {
		return a.store
	}
	if abs, err := filepath.Abs(a.results); err == nil {
		return resultstore.Open(abs)
	}
	return resultstore.Open(a.results)
}

// localResults is the folder the results are in on this machine, for the
// check that no scenario copies them into its workdirs: the folder, the
// path of a file:// URL, or "" for a store elsewhere (its mirror is in the
// user's cache folder).
func (a *app) localResults() string {
	if !objectstore.IsURL(a.results) {
		return a.results
	}
	if u, err := url.Parse(a.results); err == nil && u.Scheme == "file" {
		return filepath.FromSlash(u.Path)
	}
	return ""
}

// refreshResults pulls the bucket into the mirror every period until ctx
// ends (drill serve). A store that does not answer is logged; the
// dashboard serves the last pull meanwhile.
func (a *app) refreshResults(ctx context.Context, period time.Duration, log *zap.Logger) {
	if period <= 0 {
		return
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, warns, err := a.remote.Pull(ctx); err != nil {
			log.Warn("results store: pull failed; serving the last one", zap.Error(err))
		} else {
			for _, w := range warns {
				log.Warn("results store", zap.Error(w))
			}
		}
	}
}
