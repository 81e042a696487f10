// Package tracing exports drill's runs as OpenTelemetry traces: one span
// for a run, one per cycle, one per step (provision and destroy included),
// with the CI/CD semantic conventions and drill's own attributes.
//
// Nothing here runs unless tracing is configured (an OTLP endpoint in the
// environment or --otlp-endpoint): New returns nil then, and the runner
// records no trace. Exporting never fails or slows a drill: spans go
// through a bounded batch processor, and Shutdown flushes them with a short
// timeout and reports, as a warning, what could not be delivered.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

// ServiceName is the service.name of drill's spans unless OTEL_SERVICE_NAME
// or OTEL_RESOURCE_ATTRIBUTES says otherwise.
const ServiceName = "drill"

// FlushTimeout bounds how long the end of a drill waits for its spans to be
// delivered.
const FlushTimeout = 5 * time.Second

// Options configure New.
type Options struct {
	// Endpoint is --otlp-endpoint: the collector's base URL
	// (http://host:4318), traces go to its /v1/traces. Empty: the standard
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT.
	Endpoint string
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
	// Logger receives the warnings (the collector cannot be reached).
	Logger *zap.Logger
	// Version is drill's version, the service.version.
	Version string
}

// Configured reports whether opts ask for traces: an endpoint given, or one
// of the standard variables set, and the SDK not disabled.
func Configured(opts Options) bool {
	get := opts.getenv()
	if strings.EqualFold(strings.TrimSpace(get("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	if strings.EqualFold(strings.TrimSpace(get("OTEL_TRACES_EXPORTER")), "none") {
		return false
	}
	return opts.Endpoint != "" || get("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

func (o Options) getenv() func(string) string {
	if o.Getenv != nil {
		return o.Getenv
	}
	return os.Getenv
}

// Exporter is the process's trace pipeline: a tracer provider with a batch
// processor in front of an OTLP/HTTP exporter.
type Exporter struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	parent   context.Context
	log      *zap.Logger

	mu       sync.Mutex
	failures int
	lastErr  error
	// sdkErr is the newest error the SDK reported (dropped spans included).
	sdkErr error
}

// New builds the exporter, or returns nil, nil when tracing is not
// configured. A malformed endpoint is an error (a usage error for the CLI).
func New(ctx context.Context, opts Options) (*Exporter, error) {
	if !Configured(opts) {
		return nil, nil
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	e := &Exporter{log: log}
	var xopts []otlptracehttp.Option
	if opts.Endpoint != "" {
		u, err := endpointURL(opts.Endpoint)
		if err != nil {
			return nil, err
		}
		xopts = append(xopts, otlptracehttp.WithEndpointURL(u))
	}
	xopts = append(xopts,
		otlptracehttp.WithTimeout(FlushTimeout),
		// One retry budget for the whole flush: a collector that is down
		// must not hold the drill's exit for the SDK's default minute.
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: true, InitialInterval: 200 * time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: FlushTimeout}),
	)
	exp, err := otlptracehttp.New(ctx, xopts...)
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	host, _ := os.Hostname()
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (WithFromEnv) override
	// drill's own attributes.
	res, err := resource.New(ctx, resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(semconv.ServiceName(ServiceName), semconv.ServiceVersion(opts.Version),
			semconv.HostName(host), semconv.ProcessPID(os.Getpid())),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	e.init(opts, sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
		sdktrace.WithSpanProcessor(sdktrace.NewBatchSpanProcessor(&countingExporter{SpanExporter: exp, e: e},
			sdktrace.WithMaxQueueSize(4096), sdktrace.WithMaxExportBatchSize(512),
			sdktrace.WithBatchTimeout(2*time.Second), sdktrace.WithExportTimeout(FlushTimeout))),
	))
	// The SDK reports dropped spans and export failures through the global
	// handler; they are warnings, never a failed drill. Export failures are
	// counted by countingExporter, so the handler only keeps the message.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(e.noteSDK))
	return e, nil
}

func (e *Exporter) init(opts Options, p *sdktrace.TracerProvider) {
	e.provider = p
	e.tracer = p.Tracer("github.com/redeploy-drill/drill")
	// A traceparent given to drill (a CI pipeline's) is the parent of every
	// run's span.
	e.parent = propagation.TraceContext{}.Extract(context.Background(), envCarrier(opts.getenv()))
}

// CheckEndpoint refuses an --otlp-endpoint that is no http(s) URL or
// host:port ("" is none: fine).
func CheckEndpoint(s string) error {
	if s == "" {
		return nil
	}
	_, err := endpointURL(s)
	return err
}

// endpointURL accepts --otlp-endpoint as a base URL (traces go to
// /v1/traces under it) or as host:port (http).
func endpointURL(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	scheme, rest, _ := strings.Cut(s, "://")
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("--otlp-endpoint %q: the scheme must be http or https", s)
	}
	host, path, _ := strings.Cut(rest, "/")
	if host == "" {
		return "", fmt.Errorf("--otlp-endpoint %q: no host", s)
	}
	path = strings.TrimSuffix(path, "/")
	if !strings.HasSuffix(path, "v1/traces") {
		path = strings.TrimPrefix(path+"/v1/traces", "/")
	}
	return scheme + "://" + host + "/" + path, nil
}

// Shutdown flushes the spans, waiting at most FlushTimeout, and logs a
// warning when some could not be delivered. It never fails the drill.
func (e *Exporter) Shutdown() {
	if e == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), FlushTimeout)
	defer cancel()
	err := e.provider.Shutdown(ctx)
	e.mu.Lock()
	failures, last, sdkErr := e.failures, e.lastErr, e.sdkErr
	e.mu.Unlock()
	if err == nil && failures == 0 && sdkErr == nil {
		return
	}
	if err == nil {
		err = last
	}
	if err == nil {
		err = sdkErr
	}
	e.log.Warn("traces were not all exported (the drill's result is unaffected)", zap.Int("errors", failures), zap.Error(err))
}

// noteSDK keeps what the SDK reported (a full queue, a failed export).
func (e *Exporter) noteSDK(err error) {
	e.mu.Lock()
	e.sdkErr = err
	e.mu.Unlock()
}

func (e *Exporter) note(err error) {
	e.mu.Lock()
	e.failures++
	e.lastErr = err
	e.mu.Unlock()
}

// countingExporter notes failed exports, which the batch processor
// otherwise only hands to the global error handler.
type countingExporter struct {
	sdktrace.SpanExporter
	e *Exporter
}

func (c *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := c.SpanExporter.ExportSpans(ctx, spans)
	if err != nil && !errors.Is(err, context.Canceled) {
		c.e.note(err)
	}
	return err
}

// envCarrier reads TRACEPARENT and TRACESTATE from the environment, the
// names CI systems and the OpenTelemetry environment carrier use.
type envCarrier func(string) string

func (c envCarrier) Get(key string) string { return c(strings.ToUpper(key)) }
func (c envCarrier) Set(string, string)    {}
func (c envCarrier) Keys() []string        { return []string{"traceparent", "tracestate"} }
