package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/codetrail/codetrail/ingest"
	"github.com/codetrail/codetrail/ingest/integrity"
)

func TestToIntegrity(t *testing.T) {
	missing := make([]integrity.FileProblem, maxIntegrityList+5)
	for i := range missing {
		missing[i] = integrity.FileProblem{Bucket: "b", Key: fmt.Sprintf("k%03d", i), DigestKey: "d", Want: "aa"}
	}
	for _, tc := range []struct {
		name      string
		region    integrity.RegionReport
		problems  int64
		listed    int
		truncated bool
	}{
		{"clean", integrity.RegionReport{Account: "111122223333", Region: "us-east-1", Digests: 3, LogFiles: 9}, 0, 0, false},
		{"few", integrity.RegionReport{Missing: missing[:2], HashMismatches: []integrity.FileProblem{{Key: "x", Want: "aa", Got: "bb"}},
			BrokenChains: []integrity.ChainProblem{{Key: "d2", PrecedingKey: "d1", Reason: "r"}}, Unsigned: []integrity.DigestProblem{{Key: "d3"}}}, 5, 2, false},
		{"many", integrity.RegionReport{Missing: missing}, int64(len(missing)), maxIntegrityList, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			out := toIntegrity(ingest.Integrity{Report: integrity.Report{Regions: []integrity.RegionReport{tc.region}, Problems: int(tc.problems)}, Checked: now, Err: "e"})
			g := out.GetRegions()[0]
			if out.GetProblems() != tc.problems || g.GetProblems() != tc.problems || len(g.GetMissing()) != tc.listed ||
				g.GetTruncated() != tc.truncated || out.GetError() != "e" || !out.GetCheckedTime().AsTime().Equal(now) {
				t.Fatalf("got %v", out)
			}
			if tc.name == "few" && (g.GetHashMismatches()[0].GetGotSha256() != "bb" || g.GetBrokenChains()[0].GetPrecedingKey() != "d1" || len(g.GetUnsigned()) != 1) {
				t.Fatalf("got %v", g)
			}
		})
	}
}
