package catalyst

import "github.com/prometheus/client_golang/prometheus"

var (
	metricRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "codecatalyst", Name: "requests_total",
		Help: "ListEventLogs requests by space and outcome (ok, throttled, error).",
	}, []string{"space", "outcome"})
	metricPages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "codecatalyst", Name: "pages_total",
		Help: "ListEventLogs pages stored, by space.",
	}, []string{"space"})
	metricDuplicates = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "codecatalyst", Name: "duplicates_total",
		Help: "Events read again (the overlap re-read) that were already stored, by space.",
	}, []string{"space"})
)

// Collectors returns the package's metrics for registration by main.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{metricRequests, metricPages, metricDuplicates}
}
