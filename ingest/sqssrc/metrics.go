package sqssrc

import "github.com/prometheus/client_golang/prometheus"

var (
	metricReceived = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "sqs", Name: "messages_received_total",
		Help: "SQS messages received, redeliveries included.",
	})
	metricDeleted = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "sqs", Name: "messages_deleted_total",
		Help: "SQS messages deleted after every object they name was stored.",
	})
	metricBad = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "sqs", Name: "messages_bad_total",
		Help: "SQS messages that could not be understood and were left for the redrive policy.",
	})
	metricFetched = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "sqs", Name: "objects_fetched_total",
		Help: "S3 objects fetched for SQS notices.",
	})
	metricObjectProblems = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "sqs", Name: "object_problems_total",
		Help: "S3 objects named by a notice that were reported and skipped (missing, denied, too_large).",
	}, []string{"reason"})
)

// Collectors returns the package's metrics for registration by main.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{metricReceived, metricDeleted, metricBad, metricFetched, metricObjectProblems}
}
