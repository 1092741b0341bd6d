// Package metrics is the daemons' Prometheus endpoint: a registry of
// their own (never the global one) with the Go and process collectors,
// served on /metrics only, off unless FAILOVER_METRICS_ADDR is set, and
// what both daemons' metrics share: the names' namespace, the duration
// buckets, hook runs, failed notice deliveries and the arbiter's client. Each daemon's own
// metrics live beside its runtime (failoverd.Metrics, heartbeatd.Metrics);
// this package imports neither runtime, so heartbeatd links nothing of
// the secondary's.
//
// Nothing here slows the daemons' work. Per-packet numbers (heartbeats
// received, dropped, sent) are not counted twice: a scrape reads the
// counters the daemons keep already, each copied under its own short
// lock, never failoverd's state lock. What the event loop reports
// (transitions, jobs, notices) costs an atomic add or a histogram
// observation when it happens, and never waits for a scrape.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace starts every metric's name.
const Namespace = "ipfailover"

// Path is the endpoint's one path.
const Path = "/metrics"

// DurationBuckets (seconds) span a takeover with no hooks at a 10 ms
// interval to one whose hooks mount storage and start a database.
var DurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// NewRegistry returns a registry with the Go runtime's and the process's
// collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Listen opens the endpoint's socket, so that a daemon can refuse to
// start when the address is taken or not its own.
func Listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics endpoint: %w", err)
	}
	return l, nil
}

// scrapeTimeout bounds one scrape, reading and writing included.
const scrapeTimeout = 10 * time.Second

// Handler serves reg on Path and answers 404 to every other path.
func Handler(reg *prometheus.Registry, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            slogPrinter{log},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             scrapeTimeout,
	}))
	return mux
}

// Serve answers scrapes on l until ctx ends.
func Serve(ctx context.Context, l net.Listener, reg *prometheus.Registry, log *slog.Logger) error {
	srv := &http.Server{Handler: Handler(reg, log), ReadHeaderTimeout: scrapeTimeout, WriteTimeout: 2 * scrapeTimeout, IdleTimeout: time.Minute}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics endpoint: %w", err)
	}
	return nil
}

// slogPrinter is promhttp's error log.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("metrics: " + fmt.Sprint(v...)) }

// Endpoint is a daemon's metrics endpoint: its socket, open from start,
// and its registry.
type Endpoint struct {
	Registry *prometheus.Registry
	l        net.Listener
	log      *slog.Logger
}

// Open opens the endpoint at addr ("" : none, and a nil Endpoint).
func Open(addr string, log *slog.Logger) (*Endpoint, error) {
	if addr == "" {
		return nil, nil
	}
	l, err := Listen(addr)
	if err != nil {
		return nil, err
	}
	return &Endpoint{Registry: NewRegistry(), l: l, log: log}, nil
}

// Run answers scrapes until ctx ends.
func (e *Endpoint) Run(ctx context.Context) error {
	e.log.Info("serving metrics", "addr", e.l.Addr().String(), "path", Path)
	return Serve(ctx, e.l, e.Registry, e.log)
}
