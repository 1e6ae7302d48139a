package server

import (
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/index/record"
	"github.com/codetrail/codetrail/ingest"
	"github.com/codetrail/codetrail/ingest/integrity"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// toEvent converts a hit to its protobuf form in the requested view.
func toEvent(h index.Hit, view pb.EventView) *pb.Event {
	e := &h.Event
	out := &pb.Event{
		EventId:     e.ID,
		EventSource: e.Source,
		EventName:   e.Name,
		Service:     e.Service,
		AwsRegion:   e.Region,
		AccountId:   e.Account,
		UserIdentity: &pb.UserIdentity{
			Type:        e.UserType,
			Arn:         e.UserARN,
			UserName:    e.UserName,
			PrincipalId: e.PrincipalID,
			AccessKeyId: e.AccessKeyID,
			InvokedBy:   e.InvokedBy,
			AccountId:   e.UserAccount,
		},
		SourceIpAddress: e.SourceIP,
		UserAgent:       e.UserAgent,
		ErrorCode:       e.ErrorCode,
		ErrorMessage:    e.ErrorMessage,
		EventType:       e.EventType,
		RequestId:       e.RequestID,
		Resources:       e.Resources,
		Cursor:          h.Cursor,
		EventVersion:    e.Version,
		EventCategory:   e.Category,
	}
	if !e.Time.IsZero() {
		out.EventTime = timestamppb.New(e.Time)
	}
	switch e.ReadOnly {
	case "true":
		out.ReadOnly = new(true)
	case "false":
		out.ReadOnly = new(false)
	}
	switch view {
	case pb.EventView_EVENT_VIEW_SUMMARY:
	case pb.EventView_EVENT_VIEW_RAW:
		out.RecordJson = string(e.Raw)
	default:
		out.Record = toStruct(e)
	}
	out.Problems = e.Problems
	return out
}

// toStruct renders the original record as nested JSON. A record that is not
// a JSON object cannot be stored, so failure here is a bug worth showing
// rather than hiding: it is reported in problems.
func toStruct(e *record.Event) *structpb.Struct {
	s, err := recordStruct(e.Raw)
	if err != nil {
		e.Problems = append(e.Problems, "record: "+err.Error())
		return nil
	}
	return s
}

func toCounts(c ingestCounts) *pb.IngestCounts {
	return &pb.IngestCounts{
		Files:               c.Files,
		Records:             c.Records,
		EventsStored:        c.Stored,
		Duplicates:          c.Duplicates,
		InvalidRecords:      c.InvalidRecords,
		InvalidFiles:        c.InvalidFiles,
		SkippedFiles:        c.SkippedFiles,
		RecordsWithProblems: c.RecordsWithProblems,
	}
}

// maxIntegrityList bounds each problem list of a region in Stats, so that a
// bucket with thousands of missing files cannot outgrow a gRPC message.
const maxIntegrityList = 100

func toIntegrity(ig ingest.Integrity) *pb.IntegrityReport {
	out := &pb.IntegrityReport{CheckedTime: timestamppb.New(ig.Checked), Problems: int64(ig.Report.Problems), Error: ig.Err}
	for _, g := range ig.Report.Regions {
		r := &pb.IntegrityRegion{
			Account: g.Account, Region: g.Region, Digests: int64(g.Digests), LogFiles: int64(g.LogFiles),
			KeyError: g.KeyError, Problems: int64(g.ProblemCount()),
		}
		r.Missing = capList(r, g.Missing, toFileProblem)
		r.HashMismatches = capList(r, g.HashMismatches, toFileProblem)
		r.BrokenChains = capList(r, g.BrokenChains, func(p integrity.ChainProblem) *pb.IntegrityChainProblem {
			return &pb.IntegrityChainProblem{Bucket: p.Bucket, Key: p.Key, PrecedingKey: p.PrecedingKey, Reason: p.Reason}
		})
		r.Unsigned = capList(r, g.Unsigned, toDigestProblem)
		r.BadSignatures = capList(r, g.BadSignatures, toDigestProblem)
		r.UnknownKeys = capList(r, g.UnknownKeys, toDigestProblem)
		r.Malformed = capList(r, g.Malformed, toDigestProblem)
		out.Regions = append(out.Regions, r)
	}
	return out
}

// capList converts at most maxIntegrityList entries of in and marks r
// truncated when there were more.
func capList[T any, P any](r *pb.IntegrityRegion, in []T, conv func(T) P) []P {
	if len(in) > maxIntegrityList {
		in = in[:maxIntegrityList]
		r.Truncated = true
	}
	out := make([]P, 0, len(in))
	for _, v := range in {
		out = append(out, conv(v))
	}
	return out
}

func toFileProblem(p integrity.FileProblem) *pb.IntegrityFileProblem {
	return &pb.IntegrityFileProblem{Bucket: p.Bucket, Key: p.Key, DigestKey: p.DigestKey, WantSha256: p.Want, GotSha256: p.Got}
}

func toDigestProblem(p integrity.DigestProblem) *pb.IntegrityDigestProblem {
	return &pb.IntegrityDigestProblem{Bucket: p.Bucket, Key: p.Key, Reason: p.Reason}
}
