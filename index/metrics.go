package index

import "github.com/prometheus/client_golang/prometheus"

var (
	metricStored = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "events_stored_total",
		Help: "Events stored for the first time.",
	})
	metricDuplicates = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "duplicates_total",
		Help: "Events not stored because their eventID was already stored.",
	})
	metricSearchSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "search_seconds",
		Help:    "Time to answer a search.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	})
)

var (
	metricSubscribers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "codetrail", Subsystem: "subscribe", Name: "subscribers",
		Help: "Open subscriptions by state: active (all), caught_up (live), lagging (reading the index after having been live).",
	}, []string{"state"})
	metricEndedForLag = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "subscribe", Name: "ended_for_lag_total",
		Help: "Subscriptions ended because they stayed too far behind.",
	})
)

// Collectors returns the package's metrics for registration by main.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{metricStored, metricDuplicates, metricSearchSeconds, metricSubscribers, metricEndedForLag}
}
