package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// maxPage is the largest page the CLI asks for: the server's default
// --max-page-size.
const maxPage = 1000

func runSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	conn := addClientFlags(fs)
	asJSON := fs.Bool("json", false, "print the whole response as JSON: events with their records, total, facets (for programs)")
	asJSONL := fs.Bool("jsonl", false, "print one event a line as JSON, with its record (for jq and scripts)")
	count := fs.Bool("count", false, "print only the number of matching events")
	limit := fs.Int("limit", 20, "events to show (pages are fetched as needed); 0 shows only the total and the facets")
	since := fs.String("since", "", "only events at or after this: a duration ago (90m, 2h, 7d, 2w, 1d12h) or a UTC date or time (2024-01-31, 2024-01-31T15:04:05Z)")
	until := fs.String("until", "", "only events before this: a duration ago or a UTC date or time; a date alone includes that whole day")
	order := newChoice("newest", "newest", "oldest", "relevance")
	fs.Var(order, "order", "result order")
	var facets stringList
	fs.Var(&facets, "facet", "count the values of `FIELD` over all matches, most frequent first, e.g. --facet eventName (field names and aliases as in queries)")
	facetSize := fs.Int("facet-size", 10, "values shown per facet, the rest counted as other")
	color := addColorFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: codetrail search [flags] QUERY\n\nQUERY is in the codetrail query language, e.g.\n  'service:codepipeline AND eventName:UpdatePipeline AND NOT errorCode:*'\nOn a terminal the events are an aligned, coloured table; piped, the same\ntable without colours. Times are UTC.\n\nFlags:")
		printFlags(stderr, fs)
	}
	if err := parseFlags(ctx, fs, args, stderr); err != nil {
		return err
	}
	switch {
	case *asJSON && *asJSONL:
		return fmt.Errorf("give --json or --jsonl, not both")
	case *count && (*asJSON || *asJSONL || len(facets) > 0):
		return fmt.Errorf("--count prints only the number of matches: leave out --json, --jsonl and --facet")
	case *asJSONL && len(facets) > 0:
		return fmt.Errorf("--jsonl prints events only: use --json for facets")
	case *limit < 0:
		return fmt.Errorf("--limit must be 0 or more")
	case *facetSize < 1:
		return fmt.Errorf("--facet-size must be at least 1")
	}
	req := &pb.SearchRequest{Query: strings.Join(fs.Args(), " ")}
	switch order.value {
	case "oldest":
		req.Order = pb.Order_ORDER_OLDEST_FIRST
	case "relevance":
		req.Order = pb.Order_ORDER_RELEVANCE
	default:
		req.Order = pb.Order_ORDER_NEWEST_FIRST
	}
	start, end, err := timeBounds(*since, *until, time.Now())
	if err != nil {
		return err
	}
	if !start.IsZero() {
		req.StartTime = timestamppb.New(start)
	}
	if !end.IsZero() {
		req.EndTime = timestamppb.New(end)
	}
	want := *limit
	if *count {
		want = 0
	}
	// A page size of 0 means the server's default: ask for one event and
	// drop it when only the total is wanted.
	req.PageSize = int32(min(max(want, 1), maxPage))
	if !*count {
		for _, f := range facets {
			req.Facets = append(req.Facets, &pb.FacetRequest{Field: f, Size: int32(*facetSize)})
		}
	}
	req.View = pb.EventView_EVENT_VIEW_SUMMARY
	if *asJSON || *asJSONL {
		req.View = pb.EventView_EVENT_VIEW_FULL
	}
	c, err := conn.dial()
	if err != nil {
		return err
	}
	defer c.Close()

	var events []*pb.Event
	page := func(evs []*pb.Event) error {
		if *asJSONL {
			return printJSONL(stdout, evs)
		}
		events = append(events, evs...)
		return nil
	}
	first, err := fetchEvents(ctx, c.Search, req, want, page)
	if err != nil {
		return err
	}
	// On stderr, so that --count, --json and --jsonl output stays clean.
	for _, w := range first.GetWarnings() {
		fmt.Fprintln(stderr, "warning:", w)
	}
	switch {
	case *count:
		_, err := fmt.Fprintln(stdout, first.GetTotalHits())
		return err
	case *asJSONL:
		return nil
	case *asJSON:
		first.Events = events
		return printJSON(stdout, first)
	}
	p := painter{on: useColor(color.value, stdout)}
	if len(events) > 0 {
		if err := eventTable(events).render(stdout, p); err != nil {
			return err
		}
	}
	took := first.GetTook().AsDuration().Round(time.Microsecond)
	if want == 0 {
		fmt.Fprintf(stdout, "%s matching events (%s)\n", thousands(first.GetTotalHits()), took)
	} else {
		fmt.Fprintf(stdout, "%s of %s matching events (%s)\n", thousands(int64(len(events))), thousands(first.GetTotalHits()), took)
	}
	for _, f := range first.GetFacets() {
		fmt.Fprintln(stdout)
		if err := facetTable(f, first.GetTotalHits()).render(stdout, p); err != nil {
			return err
		}
	}
	return nil
}

// fetchEvents runs req and the pages after it until want events came (or
// the matches ran out), handing each page's events to page, at most want in
// all. It returns the first response, which carries the total and facets.
func fetchEvents(ctx context.Context, search func(context.Context, *pb.SearchRequest) (*pb.SearchResponse, error),
	req *pb.SearchRequest, want int, page func([]*pb.Event) error) (*pb.SearchResponse, error) {
	first, err := search(ctx, req)
	if err != nil {
		return nil, err
	}
	got := 0
	res := first
	for {
		evs := res.GetEvents()
		if len(evs) > want-got {
			evs = evs[:want-got]
		}
		got += len(evs)
		if len(evs) > 0 {
			if err := page(evs); err != nil {
				return nil, err
			}
		}
		tok := res.GetNextPageToken()
		if tok == "" || got >= want {
			return first, nil
		}
		r := proto.Clone(req).(*pb.SearchRequest)
		r.PageToken, r.Facets, r.Histogram, r.PageSize = tok, nil, nil, int32(min(want-got, maxPage))
		if res, err = search(ctx, r); err != nil {
			return nil, err
		}
	}
}

// timeBounds reads --since and --until (either may be empty) against now.
func timeBounds(since, until string, now time.Time) (start, end time.Time, err error) {
	if since != "" {
		if start, err = parseWhen(since, now, false); err != nil {
			return start, end, fmt.Errorf("--since %w", err)
		}
	}
	if until != "" {
		if end, err = parseWhen(until, now, true); err != nil {
			return start, end, fmt.Errorf("--until %w", err)
		}
	}
	if !start.IsZero() && !end.IsZero() && !start.Before(end) {
		return start, end, fmt.Errorf("--since %s (%s) is not before --until %s (%s)", since, start.UTC().Format(time.RFC3339), until, end.UTC().Format(time.RFC3339))
	}
	return start, end, nil
}

// dateLayouts are the dates and times --since and --until take; without a
// zone they are UTC, as the tables show times.
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}

// parseWhen reads "now", a duration ago ("90m", "2h", "7d", "2w", "1d12h")
// or a date or time. As an upper bound (upper) a date alone means the end of
// that day, as in the query language's ranges.
func parseWhen(s string, now time.Time, upper bool) (time.Time, error) {
	if s == "now" {
		return now, nil
	}
	if d, ok := parseAgo(s); ok {
		return now.Add(-d), nil
	}
	for _, l := range dateLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			if upper && l == "2006-01-02" {
				t = t.AddDate(0, 0, 1)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: use a duration ago (90m, 2h, 7d, 2w) or a date or time (2024-01-31, 2024-01-31T15:04:05Z)", s)
}

// agoUnits are the units of parseAgo: Go's, plus days and weeks.
var agoUnits = []struct {
	name string
	d    time.Duration
}{
	// Longest names first, so "ms" is not read as "m".
	{"ns", time.Nanosecond}, {"us", time.Microsecond}, {"µs", time.Microsecond}, {"ms", time.Millisecond},
	{"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour},
}

// parseAgo reads a non-negative duration as a sequence of numbers with
// units, Go's (ns us ms s m h) plus d (24h) and w (7d): "90m", "7d", "2w",
// "1d12h", "1.5h".
func parseAgo(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var total float64
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, false
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, false
		}
		s = s[i:]
		matched := false
		for _, u := range agoUnits {
			if strings.HasPrefix(s, u.name) {
				total += n * float64(u.d)
				s = s[len(u.name):]
				matched = true
				break
			}
		}
		if !matched {
			return 0, false
		}
	}
	if total >= float64(1<<63-1) { // the constant rounds up to 2^63, which does not fit
		return 0, false
	}
	return time.Duration(total), true
}

// eventTable lays out events one a row: time, account, region, user,
// service, event, resource (+ how many more), error. The service is
// coloured by tool, errors red.
func eventTable(events []*pb.Event) *table {
	t := &table{header: []string{"TIME", "ACCOUNT", "REGION", "USER", "SERVICE", "EVENT", "RESOURCE", "ERROR"}}
	for _, e := range events {
		res := ""
		if rs := e.GetResources(); len(rs) > 0 {
			res = clip(rs[0], 40)
			if len(rs) > 1 {
				res += fmt.Sprintf(" (+%d)", len(rs)-1)
			}
		}
		tm := ""
		if e.GetEventTime() != nil {
			tm = e.GetEventTime().AsTime().UTC().Format(timeLayout)
		}
		t.addCells(
			cell{tm, styleDim},
			cell{text: e.GetAccountId()},
			cell{text: e.GetAwsRegion()},
			cell{text: clip(e.GetUserIdentity().GetUserName(), 28)},
			cell{e.GetService(), serviceStyle(e.GetService())},
			cell{text: e.GetEventName()},
			cell{text: res},
			cell{e.GetErrorCode(), styleError},
		)
	}
	return t
}

// facetTable lays out one facet: each value with its count and its share of
// all matches, then the matches with other values and without the field.
func facetTable(f *pb.Facet, total int64) *table {
	t := &table{header: []string{f.GetField(), "COUNT", "SHARE"}, right: []bool{false, true, true}}
	share := func(n int64) string {
		if total <= 0 {
			return ""
		}
		return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
	}
	for _, c := range f.GetCounts() {
		v := c.GetValue()
		if v == "" {
			v = `""`
		}
		t.add(clip(v, 64), thousands(c.GetCount()), share(c.GetCount()))
	}
	if f.GetOther() > 0 {
		t.addCells(cell{"(other values)", styleDim}, cell{text: thousands(f.GetOther())}, cell{text: share(f.GetOther())})
	}
	if f.GetMissing() > 0 {
		t.addCells(cell{"(no " + f.GetField() + ")", styleDim}, cell{text: thousands(f.GetMissing())}, cell{text: share(f.GetMissing())})
	}
	if len(t.rows) == 0 {
		t.addCells(cell{"(no values)", styleDim})
	}
	return t
}

// printJSON writes m as indented JSON.
func printJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// jsonLine renders m as JSON on one line. protojson varies its spacing on
// purpose; compacting makes the line the same on every run.
func jsonLine(m proto.Message) ([]byte, error) {
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// printJSONL writes each event as one JSON line.
func printJSONL(w io.Writer, events []*pb.Event) error {
	for _, e := range events {
		b, err := jsonLine(e)
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
