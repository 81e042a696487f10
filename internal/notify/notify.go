package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/scenarios"
)

// Format is the body a webhook gets.
type Format string

const (
	// FormatAuto: Slack's for a hooks.slack.com URL, else JSON.
	FormatAuto Format = ""
	// FormatJSON: the Notice as a JSON object.
	FormatJSON Format = "json"
	// FormatSlack: Slack's incoming-webhook form, {"text": ...}.
	FormatSlack Format = "slack"
)

// SignatureHeader carries the HMAC-SHA256 of the body, keyed with the
// hook's secret, as "sha256=<hex>" (the form GitHub's webhooks use).
const SignatureHeader = "X-Drill-Signature-256"

// Hook is one webhook.
type Hook struct {
	URL string
	// Secret, when set, signs each body (SignatureHeader).
	Secret string
	Format Format
}

// ParseURL checks a webhook URL: absolute http or https with a host. what
// names it in the error (the flag or the field). The URL itself is not
// repeated: it often carries a token.
func ParseURL(what, raw string) error {
	if !scenarios.IsHTTPURL(raw) {
		return fmt.Errorf("%s: not an absolute http:// or https:// URL", what)
	}
	return nil
}

// Shown is how a hook's URL appears in warnings: scheme and host only, as
// the path and query of a webhook URL are its credentials.
func Shown(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "the webhook"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

func (h Hook) format() Format {
	if h.Format != FormatAuto {
		return h.Format
	}
	if u, err := url.Parse(h.URL); err == nil && strings.EqualFold(u.Hostname(), "hooks.slack.com") {
		return FormatSlack
	}
	return FormatJSON
}

// Notice is the JSON body of a notification.
type Notice struct {
	Event    Event  `json:"event"`
	Scenario string `json:"scenario"`
	Owner    string `json:"owner,omitempty"`
	// State is the scenario's state now; Previous what this webhook was
	// last told ("" when nothing).
	State    State  `json:"state"`
	Previous State  `json:"previous,omitempty"`
	Verdict  string `json:"verdict"`
	// RunID and Status are of the newest finished run, when there is one.
	RunID         string   `json:"runId,omitempty"`
	Status        string   `json:"status,omitempty"`
	Reason        string   `json:"reason,omitempty"`
	Error         string   `json:"error,omitempty"`
	FailingChecks []string `json:"failingChecks,omitempty"`
	DurationMs    int64    `json:"durationMs,omitempty"`
	// MedianMs is the median duration of the scenario's passed runs before
	// this one (0: none yet).
	MedianMs    int64      `json:"medianMs,omitempty"`
	LastSuccess *time.Time `json:"lastSuccess,omitempty"`
	FreshnessMs int64      `json:"freshnessMs,omitempty"`
	// Dashboard links to the scenario in the dashboard (--dashboard-url).
	Dashboard string    `json:"dashboard,omitempty"`
	Text      string    `json:"text"`
	At        time.Time `json:"at"`
	// runStart is the start of the run RunID names (zero: no run).
	runStart time.Time
}

// Options configure a Notifier.
type Options struct {
	Hooks []Hook
	// Always sends on every run and check, changed or not.
	Always bool
	// DashboardURL, when set, is linked from each notice.
	DashboardURL string
	// Store keeps what was last announced (nil: nothing is remembered,
	// every state is news).
	Store *resultstore.Store
	// Redact runs over every body before it is sent.
	Redact func(string) string
	// Timeout bounds each attempt (default 10s); Attempts (default 3) are
	// Backoff apart (default 1s), doubling.
	Timeout  time.Duration
	Attempts int
	Backoff  time.Duration
	// UserAgent names drill and its version.
	UserAgent string
	Now       func() time.Time
}

// Notifier sends notices. A nil *Notifier sends nothing.
type Notifier struct {
	opts   Options
	client *http.Client
}

// New returns nil when there is no hook: nothing to do.
func New(opts Options) *Notifier {
	if len(opts.Hooks) == 0 {
		return nil
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.Redact == nil {
		opts.Redact = func(s string) string { return s }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// No redirects: a webhook that moves is a configuration to fix, and a
	// redirect must not carry the signature elsewhere.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Notifier{opts: opts, client: client}
}

// Plus is opts with extra hooks (a scenario's own spec.notify).
func (o Options) Plus(hooks []Hook) Options {
	o.Hooks = append(append([]Hook(nil), o.Hooks...), hooks...)
	return o
}

// Announce tells each hook about the scenario's state when it changed
// since that hook was last told (or always, with Always), and returns a
// warning for each hook that could not be told. base carries everything
// but the event and previous state.
func (n *Notifier) Announce(ctx context.Context, base Notice) []string {
	if n == nil {
		return nil
	}
	base.At = n.opts.Now().UTC()
	if n.opts.DashboardURL != "" {
		base.Dashboard = strings.TrimSuffix(n.opts.DashboardURL, "#") + "#scenario-" + base.Scenario
	}
	mem, err := openMemory(ctx, n.opts.Store, base.Scenario)
	if err != nil {
		return []string{fmt.Sprintf("notifications of %s: %v; none was sent", base.Scenario, err)}
	}
	defer mem.close()
	var warnings []string
	for _, h := range n.opts.Hooks {
		key := hookKey(h.URL)
		told := mem.states[key]
		if told.RunStart != nil && told.RunID != base.RunID &&
			base.runStart.Truncate(time.Millisecond).Before(told.RunStart.Truncate(time.Millisecond)) {
			// Judged from a history older than what this hook was told:
			// not news. (Histories keep a run's start to the millisecond.)
			continue
		}
		prev := told.State
		event, send := change(prev, base.State, n.opts.Always)
		if !send {
			if prev != base.State {
				mem.set(key, base)
			}
			continue
		}
		notice := base
		notice.Event, notice.Previous = event, prev
		notice.Text = text(notice)
		if err := n.deliver(ctx, h, notice); err != nil {
			// Not remembered: the next drill command tells it again.
			warnings = append(warnings, n.opts.Redact(fmt.Sprintf("notification %q of %s to %s was not delivered: %v", event, base.Scenario, Shown(h.URL), err)))
			continue
		}
		mem.set(key, base)
	}
	if err := mem.save(); err != nil {
		warnings = append(warnings, fmt.Sprintf("notifications of %s: could not remember what was sent: %v", base.Scenario, err))
	}
	return warnings
}

// deliver posts the notice, retrying a network error, a timeout, 429 and
// 5xx with backoff.
func (n *Notifier) deliver(ctx context.Context, h Hook, notice Notice) error {
	var body []byte
	var err error
	if h.format() == FormatSlack {
		body, err = json.Marshal(map[string]string{"text": notice.Text})
	} else {
		body, err = json.Marshal(notice)
	}
	if err != nil {
		return err
	}
	body = []byte(n.opts.Redact(string(body)))
	wait := n.opts.Backoff
	var last error
	for attempt := 1; attempt <= n.opts.Attempts; attempt++ {
		retry, err := n.post(ctx, h, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry || attempt == n.opts.Attempts {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (interrupted)", last)
		case <-t.C:
		}
		wait *= 2
	}
	if n.opts.Attempts > 1 {
		return fmt.Errorf("%d attempts, the last: %w", n.opts.Attempts, last)
	}
	return last
}

func (n *Notifier) post(ctx context.Context, h Hook, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, n.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("bad webhook URL")
	}
	req.Header.Set("Content-Type", "application/json")
	if n.opts.UserAgent != "" {
		req.Header.Set("User-Agent", n.opts.UserAgent)
	}
	if h.Secret != "" {
		mac := hmac.New(sha256.New, []byte(h.Secret))
		mac.Write(body)
		req.Header.Set(SignatureHeader, "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	resp, err := n.client.Do(req)
	if err != nil {
		// The error names the URL; say only what went wrong.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		if ctx.Err() == context.DeadlineExceeded {
			return true, fmt.Errorf("no answer within %s", n.opts.Timeout)
		}
		return true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return false, fmt.Errorf("HTTP %d", resp.StatusCode)
}

// text is the one paragraph a person reads in the channel.
func text(n Notice) string {
	var b strings.Builder
	switch n.Event {
	case EventFailing:
		fmt.Fprintf(&b, "drill: %s is failing", n.Scenario)
	case EventNotHolding:
		fmt.Fprintf(&b, "drill: %s passed, but the guideline no longer holds", n.Scenario)
	case EventStale:
		fmt.Fprintf(&b, "drill: %s went stale: no drill of it has passed within its freshness", n.Scenario)
	case EventAborted:
		fmt.Fprintf(&b, "drill: the newest drill of %s was aborted (its drill died; run `drill gc`)", n.Scenario)
	case EventRecovered:
		fmt.Fprintf(&b, "drill: %s recovered: it holds again", n.Scenario)
	default:
		fmt.Fprintf(&b, "drill: %s %s", n.Scenario, n.State)
	}
	if n.RunID != "" {
		fmt.Fprintf(&b, " (run %s, %s", n.RunID, n.Status)
		if n.DurationMs > 0 {
			fmt.Fprintf(&b, " in %s", (time.Duration(n.DurationMs) * time.Millisecond).Round(time.Second))
			if n.MedianMs > 0 {
				fmt.Fprintf(&b, ", median %s", (time.Duration(n.MedianMs) * time.Millisecond).Round(time.Second))
			}
		}
		b.WriteString(")")
	}
	b.WriteString(".")
	if n.Error != "" {
		fmt.Fprintf(&b, " %s: %s.", n.Reason, n.Error)
	}
	if len(n.FailingChecks) > 0 {
		fmt.Fprintf(&b, " Failing checks: %s.", strings.Join(n.FailingChecks, ", "))
	}
	if n.Owner != "" {
		fmt.Fprintf(&b, " Owner: %s.", n.Owner)
	}
	if n.Dashboard != "" {
		fmt.Fprintf(&b, " %s", n.Dashboard)
	}
	return b.String()
}

// FromRunNotice is the base notice of a finished run; medianMs is the
// median of the passed runs before it.
func FromRunNotice(doc *results.Run, medianMs int64) Notice {
	n := Notice{
		Scenario:   doc.Scenario.Name,
		Owner:      doc.Scenario.Owner,
		State:      FromRun(doc),
		RunID:      doc.RunID,
		Status:     string(doc.Status),
		DurationMs: doc.DurationMs,
		MedianMs:   medianMs,
		runStart:   doc.StartedAt,
	}
	n.Verdict = string(results.VerdictHolds)
	if n.State != Holds {
		n.Verdict = string(results.VerdictBroken)
	}
	if doc.Error != nil {
		n.Reason, n.Error = string(doc.Error.Reason), doc.Error.Message
	}
	if g := doc.Guideline; g != nil {
		for _, c := range g.Checks {
			if !c.OK {
				n.FailingChecks = append(n.FailingChecks, c.Name)
			}
		}
	}
	return n
}

// FromSummaryNotice is the base notice of a scenario as drill status
// judges it.
func FromSummaryNotice(s *results.Summary, owner string) Notice {
	n := Notice{
		Scenario:    s.Scenario,
		Owner:       owner,
		State:       FromSummary(s),
		Verdict:     string(s.Verdict()),
		MedianMs:    s.MedianMs,
		LastSuccess: s.LastSuccess,
		FreshnessMs: s.FreshnessMs,
	}
	if r := s.Newest; r != nil {
		n.RunID, n.Status, n.DurationMs, n.runStart = r.RunID, string(r.Status), r.DurationMs, r.StartedAt
		if r.Error != nil {
			n.Reason, n.Error = string(r.Error.Reason), r.Error.Message
		}
		for _, c := range r.Failing {
			n.FailingChecks = append(n.FailingChecks, c.Name)
		}
	}
	return n
}
