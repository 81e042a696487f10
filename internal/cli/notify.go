package cli

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/redeploy-drill/drill/internal/notify"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/runner"
	"github.com/redeploy-drill/drill/scenarios"
)

// NotifySecretEnv signs the bodies sent to --notify webhooks: a secret
// does not belong on a command line, where ps shows it. Steps never get it.
const NotifySecretEnv = scenarios.NotifySecretVar

// notifyFlags are the webhook flags of run, status and serve.
type notifyFlags struct {
	urls      []string
	always    bool
	dashboard string
	timeout   time.Duration
}

func (f *notifyFlags) add(cmd *cobra.Command, when string) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.urls, "notify", nil, "POST a JSON notice to this webhook URL "+when+" (repeatable; a hooks.slack.com URL gets Slack's form; $"+NotifySecretEnv+" signs it)")
	fl.BoolVar(&f.always, "notify-always", false, "notify on every judgement, not only when the state changes")
	fl.StringVar(&f.dashboard, "dashboard-url", "", "the dashboard (drill serve or the published report) each notice links to")
	fl.DurationVar(&f.timeout, "notify-timeout", 10*time.Second, "the longest each of the 3 delivery attempts of a notice may take")
}

// check refuses a bad URL before anything runs; the URL is not repeated
// (it carries the webhook's token).
func (f *notifyFlags) check() error {
	for _, u := range f.urls {
		if err := notify.ParseURL("--notify", u); err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
	}
	if f.dashboard != "" {
		if err := notify.ParseURL("--dashboard-url", f.dashboard); err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
	}
	if f.timeout <= 0 {
		return exitf(ExitUsage, "--notify-timeout must be positive, not %s", f.timeout)
	}
	return nil
}

// options are the notifier's settings: the flags' hooks (signed with
// $DRILL_NOTIFY_SECRET), the memory in store, the invocation's redactor.
// Every hook URL and the secret are redacted from then on.
func (f *notifyFlags) options(a *app, store *resultstore.Store) notify.Options {
	secret := os.Getenv(NotifySecretEnv)
	a.redactor.Add(secret)
	var hooks []notify.Hook
	for _, u := range f.urls {
		a.redactor.Add(u)
		hooks = append(hooks, notify.Hook{URL: u, Secret: secret})
	}
	return notify.Options{
		Hooks: hooks, Always: f.always, DashboardURL: f.dashboard, Store: store,
		Redact: a.redactor.Redact, Timeout: f.timeout, UserAgent: "drill/" + Version,
	}
}

// scenarioHooks are a plan's spec.notify webhooks.
func scenarioHooks(a *app, p *runner.Plan) []notify.Hook {
	var hooks []notify.Hook
	for _, h := range p.Notify {
		a.redactor.Add(h.URL, h.Secret)
		hooks = append(hooks, notify.Hook{URL: h.URL, Secret: h.Secret, Format: notify.Format(h.Format)})
	}
	return hooks
}

// announcer tells the webhooks of the flags and of the scenario how each
// of its runs ended; nil when there is none.
func announcer(a *app, opts notify.Options, p *runner.Plan, store *resultstore.Store) runner.Announcer {
	n := notify.New(opts.Plus(scenarioHooks(a, p)))
	if n == nil {
		return nil
	}
	return func(ctx context.Context, doc *results.Run) []string {
		// The median of the passed runs before this one: the history holds
		// this run as running, which counts in no statistic.
		var median int64
		if h, _, err := store.History(doc.Scenario.Name, resultstore.HistoryOptions{}); err == nil {
			median = h.Summarize(time.Now(), results.SummaryOptions{}).MedianMs
		}
		return n.Announce(ctx, notify.FromRunNotice(doc, median))
	}
}

// announceSummaries tells the flags' webhooks what drill status judged
// (a scenario went stale, recovered, ...), and returns what could not be
// told.
func announceSummaries(ctx context.Context, n *notify.Notifier, rows []scenarioStatus) []string {
	var warnings []string
	for _, r := range rows {
		s := r.Summary
		if s.Newest != nil && s.Newest.Status == results.StatusCanceled && !s.NewestAborted {
			// An interrupted drill is not news, as drill run says (and
			// a run gc marked canceled was told as aborted already).
			continue
		}
		warnings = append(warnings, n.Announce(ctx, notify.FromSummaryNotice(&s, r.Owner))...)
	}
	return warnings
}
