package cli

import (
	"context"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/internal/notify"
	"github.com/redeploy-drill/drill/internal/procs"
	"github.com/redeploy-drill/drill/internal/serve"
)

func newServeCommand(a *app) *cobra.Command {
	var (
		addr       string
		allowHosts []string
		refresh    time.Duration
		nf         notifyFlags
		every      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the live dashboard, a read-only JSON API and /metrics over the results folder",
		Long: `serve answers on --addr (127.0.0.1:8080: this machine only) with
  /                                               the dashboard, reloading itself as results land
  /api/index                                      index.json
  /api/scenarios                                  every scenario's verdict and summary
  /api/scenarios/NAME/runs                        a scenario's runs, newest first (?limit=N);
                                                  "aborted": true on a run whose drill died
  /api/scenarios/NAME/runs/ID                     one run document
  /api/scenarios/NAME/runs/ID/logs/FILE           one step log
  /api/schema/drillrun.json, drillindex.json      the JSON Schemas
  /metrics                                        Prometheus metrics (deploy/prometheus/alerts.yaml)
  /healthz
It only reads the results folder, and serves no file outside it. A name in a URL that is
no scenario, run or log (index.json, the run id latest, a hidden or too long name) is 404.

It answers only requests whose Host header is a loopback name or address (localhost,
*.localhost, 127.0.0.0/8, ::1, any port), the host of --addr, or a name given with
--allow-host (exact name, port ignored); any other gets 421 Misdirected Request. That keeps
a web page that rebinds its own DNS name to this machine (DNS rebinding) from reading the
results. Listening on all interfaces (--addr 0.0.0.0:8080) allows the Host 0.0.0.0 and
loopback only: give every name and address clients use, e.g. --allow-host drill.example.com
for a reverse proxy or --allow-host 192.0.2.10 for a scraper that uses the address.
/healthz answers whatever the Host (it says only "ok"), for load balancers and probes.`,
		Example: `  drill serve                                       # http://127.0.0.1:8080/
  drill serve --addr 0.0.0.0:8080 --allow-host drill.example.com   # behind a proxy`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			hosts, err := allowedHosts(addr, allowHosts)
			if err != nil {
				return err
			}
			if err := nf.check(); err != nil {
				return err
			}
			if every <= 0 {
				return exitf(ExitUsage, "--notify-every must be positive, not %s", every)
			}
			log, err := newLogger(a.streams.Err, a.logFormat, a.verbose)
			if err != nil {
				return err
			}
			defer log.Sync()
			store, err := a.openResults(cmd.Context(), true)
			if err != nil {
				return err
			}
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return exitf(ExitEnvironment, "listen on %s: %w", addr, err)
			}
			a.say().infof("serving %s on http://%s/ (Ctrl-C stops)", a.results, l.Addr())
			// Ctrl-C or SIGTERM (a Deployment being stopped) shuts down gracefully: exit 0.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			opts := []serve.Option{serve.WithLogger(log), serve.WithAllowedHosts(hosts...), serve.WithAlive(procs.RunAliveIn(store))}
			if a.remote != nil {
				// A bucket's mirror is pulled again every --refresh, and
				// logs are fetched when the dashboard asks for them.
				opts = append(opts, serve.WithFetch(a.remote.Fetch))
				go a.refreshResults(ctx, refresh, log)
			}
			if n := notify.New(nf.options(a, store)); n != nil {
				go a.notifyEvery(ctx, n, every, log)
			}
			if err := serve.Serve(ctx, l, serve.New(store, opts...)); err != nil {
				return exitf(ExitFailed, "%w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", serve.DefaultAddr, "host:port to listen on")
	cmd.Flags().DurationVar(&refresh, "refresh", 30*time.Second, "with --results in object storage: how often the bucket is read again")
	nf.add(cmd, "when a scenario's state changes, checked every --notify-every (a scenario going stale included)")
	cmd.Flags().DurationVar(&every, "notify-every", time.Minute, "with --notify: how often the scenarios are judged again")
	cmd.Flags().StringArrayVar(&allowHosts, "allow-host", nil, "also answer requests for this Host name (repeatable; port ignored): a reverse proxy's name, or this machine's address")
	return cmd
}

// allowedHosts are the Host names drill serve answers for besides loopback:
// the host of addr (when it names one) and the --allow-host names.
func allowedHosts(addr string, allow []string) ([]string, error) {
	var hosts []string
	if h, _, err := net.SplitHostPort(addr); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	for _, h := range allow {
		if h == "" || strings.ContainsAny(h, "/*?#@ \t") {
			return nil, exitf(ExitUsage, "--allow-host: %q is not a host name (give a name or address, optionally with :port; no scheme, path or wildcard)", h)
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}

// notifyEvery judges every scenario of the results folder now and then
// every interval, and tells the webhooks what changed: a scenario going
// stale is noticed although no drill runs.
func (a *app) notifyEvery(ctx context.Context, n *notify.Notifier, every time.Duration, log *zap.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rows, _, err := collectStatus(a, nil, time.Now())
		if err != nil {
			log.Warn("notifications: could not judge the scenarios", zap.Error(err))
		}
		for _, w := range announceSummaries(ctx, n, rows) {
			log.Warn(w)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
