package server

import (
	"sync"

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
	out := &pb.Event{}
	fillEvent(out, &pb.UserIdentity{}, &timestamppb.Timestamp{}, h, view)
	return out
}

// fillEvent sets out to the hit in view, with u as its UserIdentity and ts
// as its EventTime when the event has a time.
func fillEvent(out *pb.Event, u *pb.UserIdentity, ts *timestamppb.Timestamp, h index.Hit, view pb.EventView) {
	e := &h.Event
	out.EventId = e.ID
	out.EventSource = e.Source
	out.EventName = e.Name
	out.Service = e.Service
	out.AwsRegion = e.Region
	out.AccountId = e.Account
	out.UserIdentity = u
	u.Type = e.UserType
	u.Arn = e.UserARN
	u.UserName = e.UserName
	u.PrincipalId = e.PrincipalID
	u.AccessKeyId = e.AccessKeyID
	u.InvokedBy = e.InvokedBy
	u.AccountId = e.UserAccount
	out.SourceIpAddress = e.SourceIP
	out.UserAgent = e.UserAgent
	out.ErrorCode = e.ErrorCode
	out.ErrorMessage = e.ErrorMessage
	out.EventType = e.EventType
	out.RequestId = e.RequestID
	out.Resources = e.Resources
	out.Cursor = h.Cursor
	out.EventVersion = e.Version
	out.EventCategory = e.Category
	if !e.Time.IsZero() {
		ts.Seconds, ts.Nanos = e.Time.Unix(), int32(e.Time.Nanosecond())
		out.EventTime = ts
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
}

// pageEvents holds the messages of a page's events, made together and,
// once the page is sent, reused for later pages (eventsPool): 50 events'
// messages are some 25 KB.
type pageEvents struct {
	list   []*pb.Event // the page's, for its response
	events []pb.Event
	users  []pb.UserIdentity
	times  []timestamppb.Timestamp
}

var eventsPool sync.Pool // of *pageEvents

// getPageEvents returns room for n events' messages.
func getPageEvents(n int) *pageEvents {
	p, _ := eventsPool.Get().(*pageEvents)
	if p == nil || cap(p.events) < n {
		p = &pageEvents{list: make([]*pb.Event, 0, n), events: make([]pb.Event, n), users: make([]pb.UserIdentity, n), times: make([]timestamppb.Timestamp, n)}
	}
	return p
}

// add converts a hit into the next message.
func (p *pageEvents) add(h index.Hit, view pb.EventView) *pb.Event {
	i := len(p.list)
	out := &p.events[i]
	fillEvent(out, &p.users[i], &p.times[i], h, view)
	p.list = append(p.list, out)
	return out
}

// release resets the messages it made (so that the pool holds none of
// their strings) and pools p.
func (p *pageEvents) release() {
	for i := range p.list {
		p.events[i].Reset()
		p.users[i].Reset()
		p.times[i].Reset()
	}
	clear(p.list)
	p.list = p.list[:0]
	eventsPool.Put(p)
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
