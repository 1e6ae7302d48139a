package integrity

import "github.com/prometheus/client_golang/prometheus"

var metricProblems = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Namespace: "codetrail", Subsystem: "integrity", Name: "problems",
	Help: "Problems found by the last integrity check, per account, region and kind (missing, hash_mismatch, broken_chain, unsigned, bad_signature, unknown_key, malformed).",
}, []string{"account", "region", "kind"})

// Collectors returns the package's metrics for registration by main.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{metricProblems}
}

// observe sets the problem gauges from r. Accounts and regions that vanished
// from the report keep their last value; reports only grow in practice.
func observe(r Report) {
	for _, g := range r.Regions {
		for kind, n := range map[string]int{
			"missing":       len(g.Missing),
			"hash_mismatch": len(g.HashMismatches),
			"broken_chain":  len(g.BrokenChains),
			"unsigned":      len(g.Unsigned),
			"bad_signature": len(g.BadSignatures),
			"unknown_key":   len(g.UnknownKeys),
			"malformed":     len(g.Malformed),
		} {
			metricProblems.WithLabelValues(g.Account, g.Region, kind).Set(float64(n))
		}
	}
}
