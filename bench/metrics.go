package main

import (
	"io"
	"net"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// metricsAddr is where the metrics variant's daemons serve metrics,
// each in its own server's namespace.
const metricsAddr = "127.0.0.1:9100"

// metricsScrape is how often the metrics variant is scraped (-scrape):
// by default more often than Prometheus's default of 15 s, so that a
// cost would show; 0: never (the endpoint on, nobody asking).
var metricsScrape = time.Second

// scrapeMetrics reads http://metricsAddr/metrics in ns every
// metricsScrape until the scope ends, as a Prometheus server would; a
// scrape that fails (the daemon not up yet, or stopped) is tried again
// at the next.
func scrapeMetrics(s *scope, ns *lab.NS) {
	if metricsScrape <= 0 {
		return
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	s.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		t := time.NewTicker(metricsScrape)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			_ = scrapeOnce(ns)
		}
	}()
}

func scrapeOnce(ns *lab.NS) error {
	var c net.Conn
	if err := ns.Do(func() error {
		var err error
		c, err = net.DialTimeout("tcp", metricsAddr, time.Second)
		return err
	}); err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET /metrics HTTP/1.0\r\nHost: bench\r\n\r\n"); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, c)
	return err
}
