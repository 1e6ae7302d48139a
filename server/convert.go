package server

import (
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/index/record"
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
	var s structpb.Struct
	if err := protojson.Unmarshal(e.Raw, &s); err != nil {
		e.Problems = append(e.Problems, "record: "+err.Error())
		return nil
	}
	return &s
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
