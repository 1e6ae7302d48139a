package s3src

import "github.com/prometheus/client_golang/prometheus"

var (
	metricListed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "s3", Name: "objects_listed_total",
		Help: "Log and digest objects newly seen in listings, per source.",
	}, []string{"source"})
	metricDownloaded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "s3", Name: "objects_downloaded_total",
		Help: "Objects downloaded whole, per source.",
	}, []string{"source"})
	metricFailed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "s3", Name: "objects_failed_total",
		Help: "Objects that could not be downloaded, per source and reason (not_found, access_denied, archived, too_large, error).",
	}, []string{"source", "reason"})
	metricBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "s3", Name: "bytes_downloaded_total",
		Help: "Compressed bytes downloaded, per source.",
	}, []string{"source"})
	metricListFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "s3", Name: "list_failures_total",
		Help: "Listings that failed (retried next poll), per source.",
	}, []string{"source"})
	metricDigests = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "codetrail", Subsystem: "s3", Name: "digests_known",
		Help: "Digest files listed and held for the integrity check, per source.",
	}, []string{"source"})
)

// Collectors returns the package's metrics for registration by main.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{metricListed, metricDownloaded, metricFailed, metricBytes, metricListFailures, metricDigests}
}
