package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

func runSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	conn := addClientFlags(fs)
	asJSON := fs.Bool("json", false, "print the whole response as JSON (for programs)")
	limit := fs.Int("limit", 20, "events to show (pages are fetched as needed)")
	since := fs.String("since", "", "only events newer than this: a duration (1h, 7d) or a date")
	until := fs.String("until", "", "only events older than this: a duration ago (1h) or a date")
	order := fs.String("order", "newest", "newest, oldest or relevance")
	var facets stringList
	fs.Var(&facets, "facet", "count the values of a field over all matches (repeatable), e.g. --facet eventSource")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: codetrail search [flags] QUERY\n\nQUERY is in the codetrail query language, e.g.\n  'service:codepipeline AND eventName:UpdatePipeline AND NOT errorCode:*'\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	req := &pb.SearchRequest{Query: strings.Join(fs.Args(), " ")}
	switch *order {
	case "newest":
		req.Order = pb.Order_ORDER_NEWEST_FIRST
	case "oldest":
		req.Order = pb.Order_ORDER_OLDEST_FIRST
	case "relevance":
		req.Order = pb.Order_ORDER_RELEVANCE
	default:
		return fmt.Errorf("--order %q: use newest, oldest or relevance", *order)
	}
	now := time.Now()
	for _, b := range []struct {
		v   string
		dst **timestamppb.Timestamp
	}{{*since, &req.StartTime}, {*until, &req.EndTime}} {
		if b.v == "" {
			continue
		}
		t, err := parseWhen(b.v, now)
		if err != nil {
			return err
		}
		*b.dst = timestamppb.New(t)
	}
	if *limit < 1 {
		return fmt.Errorf("--limit must be at least 1")
	}
	req.PageSize = int32(min(*limit, 1000))
	for _, f := range facets {
		req.Facets = append(req.Facets, &pb.FacetRequest{Field: f, Size: 10})
	}
	if *asJSON {
		req.View = pb.EventView_EVENT_VIEW_FULL
	} else {
		req.View = pb.EventView_EVENT_VIEW_SUMMARY
	}
	c, err := conn.dial()
	if err != nil {
		return err
	}
	defer c.Close()

	first, err := c.Search(ctx, req)
	if err != nil {
		return err
	}
	events := first.GetEvents()
	for tok := first.GetNextPageToken(); tok != "" && len(events) < *limit; {
		r := proto.Clone(req).(*pb.SearchRequest)
		r.PageToken, r.Facets, r.PageSize = tok, nil, int32(min(*limit-len(events), 1000))
		page, err := c.Search(ctx, r)
		if err != nil {
			return err
		}
		events = append(events, page.GetEvents()...)
		tok = page.GetNextPageToken()
	}
	if len(events) > *limit {
		events = events[:*limit]
	}
	if *asJSON {
		first.Events = events
		return printJSON(stdout, first)
	}
	printTable(stdout, events)
	fmt.Fprintf(stdout, "%d of %d matching events (%s)\n", len(events), first.GetTotalHits(), first.GetTook().AsDuration().Round(time.Microsecond))
	for _, f := range first.GetFacets() {
		fmt.Fprintf(stdout, "\n%s:\n", f.GetField())
		for _, v := range f.GetCounts() {
			fmt.Fprintf(stdout, "  %8d  %s\n", v.GetCount(), v.GetValue())
		}
		if f.GetOther() > 0 {
			fmt.Fprintf(stdout, "  %8d  (other)\n", f.GetOther())
		}
	}
	return nil
}

// parseWhen reads a duration ago ("90m", "2h", "7d") or a date.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if strings.HasSuffix(s, "d") {
		var n int
		if _, err := fmt.Sscanf(s, "%dd", &n); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a duration (1h, 7d) or a date (2024-01-31)", s)
}

func printTable(w io.Writer, events []*pb.Event) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACCOUNT\tREGION\tUSER\tSERVICE\tEVENT\tRESOURCE\tERROR")
	for _, e := range events {
		res := ""
		if len(e.GetResources()) > 0 {
			res = e.GetResources()[0]
			if len(e.GetResources()) > 1 {
				res += fmt.Sprintf(" (+%d)", len(e.GetResources())-1)
			}
		}
		t := ""
		if e.GetEventTime() != nil {
			t = e.GetEventTime().AsTime().UTC().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t, e.GetAccountId(), e.GetAwsRegion(),
			clip(e.GetUserIdentity().GetUserName(), 32), e.GetService(), e.GetEventName(), clip(res, 48), e.GetErrorCode())
	}
	tw.Flush()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func printJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
