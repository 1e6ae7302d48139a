package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/codetrail/codetrail/client"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

func runTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	conn := addClientFlags(fs)
	asJSON := fs.Bool("json", false, "print each event as one JSON line (with its record)")
	since := fs.String("since", "", "first replay stored events at or after this: a duration ago (90m, 2h, 7d, 2w) or a UTC date or time (2024-01-31, 2024-01-31T15:04:05Z)")
	after := fs.String("after", "", "resume after this cursor (each event carries one; --json prints it)")
	fromStart := fs.Bool("from-start", false, "first replay everything stored")
	quiet := fs.Bool("quiet", false, "do not report reconnections and the switch to live on stderr")
	color := addColorFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: codetrail tail [flags] [QUERY]\n\nPrints events matching QUERY as they are stored, one line each: time (UTC),\naccount, region, user, service, event, resource, error. On a terminal the\nservice is coloured by tool and errors are red. With --since, --after or\n--from-start it first replays stored matches. It reconnects by itself and\nresumes where it stopped, without gaps or repeats.\n\nFlags:")
		printFlags(stderr, fs)
	}
	if err := parseFlags(ctx, fs, args, stderr); err != nil {
		return err
	}
	req := &pb.SubscribeRequest{Query: strings.Join(fs.Args(), " "), View: pb.EventView_EVENT_VIEW_SUMMARY}
	if *asJSON {
		req.View = pb.EventView_EVENT_VIEW_FULL
	}
	set := 0
	if *since != "" {
		t, err := parseWhen(*since, time.Now(), false)
		if err != nil {
			return fmt.Errorf("--since %w", err)
		}
		req.Start = &pb.SubscribeRequest_StartTime{StartTime: timestamppb.New(t)}
		set++
	}
	if *after != "" {
		req.Start = &pb.SubscribeRequest_AfterCursor{AfterCursor: *after}
		set++
	}
	if *fromStart {
		req.Start = &pb.SubscribeRequest_FromStart{FromStart: true}
		set++
	}
	if set > 1 {
		return fmt.Errorf("give at most one of --since, --after and --from-start")
	}
	c, err := conn.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	opt := client.SubscribeOptions{OnStatus: func(m *pb.SubscribeResponse, err error) {
		switch {
		case *quiet:
		case err != nil:
			fmt.Fprintf(stderr, "tail: stream ended (%v); resuming\n", err)
		case m.GetCaughtUp() != nil:
			fmt.Fprintln(stderr, "tail: live")
		}
	}}
	p := painter{on: useColor(color.value, stdout)}
	for e, err := range c.Subscribe(ctx, req, opt) {
		if err != nil {
			return err
		}
		if *asJSON {
			b, err := jsonLine(e)
			if err != nil {
				return err
			}
			if _, err := stdout.Write(b); err != nil {
				return err
			}
			continue
		}
		if _, err := fmt.Fprintln(stdout, eventLine(e, p)); err != nil {
			return err
		}
	}
	return nil
}

// eventLine renders an event on one line: time, account, region, user,
// service, eventName, resource, error. p colours the service by tool and
// the error red; the words are the same either way.
func eventLine(e *pb.Event, p painter) string {
	t := "-"
	if e.GetEventTime() != nil {
		t = e.GetEventTime().AsTime().UTC().Format(time.RFC3339)
	}
	res := "-"
	if len(e.GetResources()) > 0 {
		res = e.GetResources()[0]
	}
	errc := ""
	if e.GetErrorCode() != "" {
		errc = " " + p.paint("ERROR "+e.GetErrorCode(), styleError)
	}
	return fmt.Sprintf("%s %s %s %s %s %s %s%s", p.paint(t, styleDim), dash(e.GetAccountId()), dash(e.GetAwsRegion()),
		dash(e.GetUserIdentity().GetUserName()), p.paint(dash(e.GetService()), serviceStyle(e.GetService())), dash(e.GetEventName()), res, errc)
}
