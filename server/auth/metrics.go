package auth

import "github.com/prometheus/client_golang/prometheus"

var (
	metricFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "auth", Name: "failures_total",
		Help: "Calls refused, by reason (missing, malformed, unknown_token, unknown_certificate, no_tokens, denied, unknown_method).",
	}, []string{"reason"})
	metricReloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "auth", Name: "reloads_total",
		Help: "Reads of the identities file, by result (ok, error).",
	}, []string{"result"})
	metricIdentities = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "codetrail", Subsystem: "auth", Name: "identities",
		Help: "Tokens and certificate names in the identities file in use.",
	})
)

// Collectors returns the package's metrics for registration by main.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{metricFailures, metricReloads, metricIdentities}
}
