package lookup

import "github.com/prometheus/client_golang/prometheus"

var (
	metricRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "lookup", Name: "requests_total",
		Help: "LookupEvents requests by region and outcome (ok, throttled, error).",
	}, []string{"region", "outcome"})
	metricPages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "lookup", Name: "pages_total",
		Help: "LookupEvents pages stored, by region.",
	}, []string{"region"})
	metricDuplicates = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "lookup", Name: "duplicates_total",
		Help: "Events read again (the overlap re-read) that were already stored, by region.",
	}, []string{"region"})
)

// Collectors returns the package's metrics for registration by main.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{metricRequests, metricPages, metricDuplicates}
}
