package ingest

import "github.com/prometheus/client_golang/prometheus"

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
	metricBatchEvents = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "codetrail", Subsystem: "ingest", Name: "batch_events",
		Help:    "Events per committed batch.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 8),
	})
)

// Collectors returns the package's metrics for registration by main.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{metricRecords, metricProblems, metricBatchSeconds, metricBatchEvents}
}
