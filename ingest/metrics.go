package ingest

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	metricRecords = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "ingest", Name: "records_total",
		Help: "Records read from inputs, valid or not.",
	})
	metricProblems = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "ingest", Name: "problems_total",
		Help: "Records (kind=record) and inputs (kind=file) skipped as bad.",
	}, []string{"kind"})
	metricBatchSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "codetrail", Subsystem: "ingest", Name: "batch_seconds",
		Help:    "Time to commit one batch to the index.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
	metricBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "ingest", Name: "bytes_total",
		Help: "Bytes of inputs given to Input (as received: gzip stays compressed).",
	})
	metricHeldBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "codetrail", Subsystem: "ingest", Name: "held_bytes",
		Help: "Bytes of inputs held in memory (as received: gzip stays compressed), waiting for the decode budget, being decoded or waiting for their commit.",
	})
	metricBatchEvents = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "codetrail", Subsystem: "ingest", Name: "batch_events",
		Help:    "Events per committed batch.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 8),
	})
)

// Collectors returns the package's metrics for registration by main.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{metricRecords, metricProblems, metricBatchSeconds, metricBatchEvents, metricBytes, metricHeldBytes}
}

var (
	descSourceEvents   = prometheus.NewDesc("codetrail_ingest_source_events_stored_total", "New events stored, per source.", []string{"source"}, nil)
	descSourceDups     = prometheus.NewDesc("codetrail_ingest_source_duplicates_total", "Records already stored, per source.", []string{"source"}, nil)
	descSourceInvalid  = prometheus.NewDesc("codetrail_ingest_source_invalid_total", "Records and inputs skipped as bad, per source and kind (record, file).", []string{"source", "kind"}, nil)
	descSourceErrors   = prometheus.NewDesc("codetrail_ingest_source_errors_total", "Failures of a source (listing, reading, storing), per source.", []string{"source"}, nil)
	descSourceLag      = prometheus.NewDesc("codetrail_ingest_source_lag_seconds", "Now minus the newest eventTime a source has seen.", []string{"source"}, nil)
	descSourceLastGood = prometheus.NewDesc("codetrail_ingest_source_last_success_timestamp_seconds", "When a source last stored events.", []string{"source"}, nil)
)

// sourceCollector reports the Ingester's per-source figures when scraped.
type sourceCollector struct{ in *Ingester }

// Collector returns the per-source metrics of in, read when scraped.
func (in *Ingester) Collector() prometheus.Collector { return sourceCollector{in} }

func (c sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSourceEvents, descSourceDups, descSourceInvalid, descSourceErrors, descSourceLag, descSourceLastGood} {
		ch <- d
	}
}

func (c sourceCollector) Collect(ch chan<- prometheus.Metric) {
	_, srcs, _ := c.in.Stats()
	now := time.Now()
	for _, s := range srcs {
		ch <- prometheus.MustNewConstMetric(descSourceEvents, prometheus.CounterValue, float64(s.Counts.Stored), s.Name)
		ch <- prometheus.MustNewConstMetric(descSourceDups, prometheus.CounterValue, float64(s.Counts.Duplicates), s.Name)
		ch <- prometheus.MustNewConstMetric(descSourceInvalid, prometheus.CounterValue, float64(s.Counts.InvalidRecords), s.Name, "record")
		ch <- prometheus.MustNewConstMetric(descSourceInvalid, prometheus.CounterValue, float64(s.Counts.InvalidFiles), s.Name, "file")
		ch <- prometheus.MustNewConstMetric(descSourceErrors, prometheus.CounterValue, float64(s.Errors), s.Name)
		if !s.NewestEvent.IsZero() {
			ch <- prometheus.MustNewConstMetric(descSourceLag, prometheus.GaugeValue, now.Sub(s.NewestEvent).Seconds(), s.Name)
		}
		if !s.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(descSourceLastGood, prometheus.GaugeValue, float64(s.LastSuccess.UnixNano())/1e9, s.Name)
		}
	}
}
