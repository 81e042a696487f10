package cli

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/redeploy-drill/drill/internal/serve"
)

func newServeCommand(a *app) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the live dashboard, a read-only JSON API and /metrics over the results folder",
		Long: `serve answers on --addr (127.0.0.1:8080: this machine only) with
  /                                               the dashboard, reloading itself as results land
  /api/index                                      index.json
  /api/scenarios                                  every scenario's verdict and summary
  /api/scenarios/NAME/runs                        a scenario's runs, newest first (?limit=N)
  /api/scenarios/NAME/runs/ID                     one run document
  /api/scenarios/NAME/runs/ID/logs/FILE           one step log
  /api/schema/drillrun.json, drillindex.json      the JSON Schemas
  /metrics                                        Prometheus metrics (deploy/prometheus/alerts.yaml)
  /healthz
It only reads the results folder, and serves no file outside it.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(a.streams.Err, a.logFormat, a.verbose)
			if err != nil {
				return err
			}
			defer log.Sync()
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return exitf(ExitEnvironment, "listen on %s: %w", addr, err)
			}
			fmt.Fprintf(a.streams.Err, "drill: serving %s on http://%s/ (Ctrl-C stops)\n", a.results, l.Addr())
			// Ctrl-C or SIGTERM (a Deployment being stopped) shuts down gracefully: exit 0.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := serve.Serve(ctx, l, serve.New(openStore(a), serve.WithLogger(log))); err != nil {
				return exitf(ExitFailed, "%w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", serve.DefaultAddr, "host:port to listen on")
	return cmd
}
