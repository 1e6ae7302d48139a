package integrity

import (
	"cmp"
	"slices"
)

// Report is the result of one Check, JSON-friendly and deterministically
// ordered: regions by account then region, problems by bucket then key.
type Report struct {
	Regions []RegionReport `json:"regions"`
	// Problems is the number of entries in all problem lists of all regions.
	Problems int `json:"problems"`
}

// OK reports whether the check found no problem at all.
func (r Report) OK() bool { return r.Problems == 0 }

// RegionReport is the result for the digests of one account and region.
type RegionReport struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	// Digests is the number of digest files checked.
	Digests int `json:"digests"`
	// LogFiles is the number of log file entries in those digests.
	LogFiles int `json:"logFiles"`

	// Missing lists log files a digest lists that were never ingested.
	Missing []FileProblem `json:"missing,omitempty"`
	// HashMismatches lists log files ingested with another SHA-256 than the
	// digest records (altered after delivery, or a different object).
	HashMismatches []FileProblem `json:"hashMismatches,omitempty"`
	// BrokenChains lists digests whose previousDigest* fields do not match
	// the digest before them in the same trail (one removed, replaced or
	// altered), or that leave a gap in time after it.
	BrokenChains []ChainProblem `json:"brokenChains,omitempty"`
	// Unsigned lists digests without an x-amz-meta-signature.
	Unsigned []DigestProblem `json:"unsigned,omitempty"`
	// BadSignatures lists digests whose signature does not verify, or that
	// cannot be verified (bad algorithm, moved from where they claim to be).
	BadSignatures []DigestProblem `json:"badSignatures,omitempty"`
	// UnknownKeys lists digests signed with a fingerprint that no public key
	// returned for the period has.
	UnknownKeys []DigestProblem `json:"unknownKeys,omitempty"`
	// Malformed lists digests that could not be decoded at all.
	Malformed []DigestProblem `json:"malformed,omitempty"`
	// KeyError is why the region's public keys could not be had; its
	// signatures are then unchecked (not counted as problems).
	KeyError string `json:"keyError,omitempty"`
}

// ProblemCount is the number of entries in all of g's problem lists.
func (g *RegionReport) ProblemCount() int {
	return len(g.Missing) + len(g.HashMismatches) + len(g.BrokenChains) + len(g.Unsigned) +
		len(g.BadSignatures) + len(g.UnknownKeys) + len(g.Malformed)
}

func (g *RegionReport) sort() {
	fileCmp := func(a, b FileProblem) int {
		return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.Key, b.Key), cmp.Compare(a.DigestKey, b.DigestKey))
	}
	digestCmp := func(a, b DigestProblem) int {
		return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.Key, b.Key))
	}
	slices.SortFunc(g.Missing, fileCmp)
	slices.SortFunc(g.HashMismatches, fileCmp)
	slices.SortFunc(g.BrokenChains, func(a, b ChainProblem) int {
		return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.Key, b.Key))
	})
	for _, l := range [][]DigestProblem{g.Unsigned, g.BadSignatures, g.UnknownKeys, g.Malformed} {
		slices.SortFunc(l, digestCmp)
	}
}

// FileProblem is a log file listed by a digest that is missing or differs.
type FileProblem struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// DigestKey is the key of the digest that lists the file.
	DigestKey string `json:"digestKey"`
	// Want is the hex SHA-256 the digest records, Got the one ingested
	// (empty for a missing file).
	Want string `json:"want,omitempty"`
	Got  string `json:"got,omitempty"`
}

// ChainProblem is a broken link between a digest and the one before it.
type ChainProblem struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// PrecedingKey is the key of the digest held before this one in the
	// same trail, which its previousDigest* fields should name.
	PrecedingKey string `json:"precedingKey"`
	Reason       string `json:"reason"`
}

// DigestProblem is a digest that is unsigned, badly signed or malformed.
type DigestProblem struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Reason string `json:"reason"`
}
