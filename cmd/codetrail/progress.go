package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/codetrail/codetrail/client"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// progressRedraw is the shortest time between two redraws of the progress
// bar: ten a second looks live and costs a slow terminal (or an SSH link)
// nothing.
const progressRedraw = 100 * time.Millisecond

// progressPoll is how often ingest asks the server's Stats how many events
// it has read: the figure changes as files complete, and a Stats call is
// cheap but not free.
const progressPoll = 250 * time.Millisecond

// ingestRPCSource is the source name the server gives Ingest streams in
// Stats (server.Server.Ingest).
const ingestRPCSource = "ingest-rpc"

// stdinPartPrefix starts the names of standard input chunks (see inputs).
const stdinPartPrefix = "stdin part "

// progress draws a one-line progress bar of an ingest on a terminal: files
// sent, events the server has read, events per second and the time left.
// It is safe for concurrent use: the ingest loop reports what it sent, a
// poller what the server read.
type progress struct {
	w     io.Writer
	now   func() time.Time
	files int   // inputs to send
	size  int64 // bytes to send; 0 when unknown (standard input)
	start time.Time

	mu        sync.Mutex
	last      time.Time // of the last draw
	drawn     bool
	sentFiles int
	sentBytes int64
	events    int64 // -1 while unknown
}

// newProgress starts a progress bar for files inputs of size bytes (0 if
// unknown); now is the clock (time.Now outside tests).
func newProgress(w io.Writer, files int, size int64, now func() time.Time) *progress {
	return &progress{w: w, now: now, files: files, size: size, start: now(), events: -1}
}

// sent records one input sent. The chunks of standard input count as one
// file, but each adds its bytes.
func (p *progress) sent(in client.Input) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !strings.HasPrefix(in.Name, stdinPartPrefix) || in.Name == stdinPartPrefix+"1" {
		p.sentFiles++
	}
	p.sentBytes += int64(len(in.Data))
	p.drawLocked(p.sentFiles == p.files)
}

// setEvents records how many events the server has read for this ingest.
func (p *progress) setEvents(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = n
	p.drawLocked(false)
}

// drawLocked redraws the line, at most once per progressRedraw unless force.
func (p *progress) drawLocked(force bool) {
	now := p.now()
	if !force && p.drawn && now.Sub(p.last) < progressRedraw {
		return
	}
	p.last, p.drawn = now, true
	st := progressState{files: p.files, sentFiles: p.sentFiles, size: p.size, sentBytes: p.sentBytes, events: p.events, elapsed: now.Sub(p.start)}
	// \r goes back to the line start, \x1b[K clears what a longer line left.
	fmt.Fprintf(p.w, "\r%s\x1b[K", st.line())
}

// done clears the bar, so the summary starts on a clean line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// progressState is what one drawing of the bar shows.
type progressState struct {
	files, sentFiles int
	size, sentBytes  int64
	events           int64 // -1 when unknown
	elapsed          time.Duration
}

// progressBarWidth is the number of cells of the bar.
const progressBarWidth = 24

// line renders the bar: "[=====>    ] 3/8 files  12,000 events  6,000
// events/s  ETA 4s". Without a known size there is no bar and no ETA; once
// everything is sent it waits for the server to store it.
func (s progressState) line() string {
	var parts []string
	frac := -1.0
	if s.size > 0 {
		frac = min(float64(s.sentBytes)/float64(s.size), 1)
		done := int(frac * progressBarWidth)
		bar := strings.Repeat("=", done)
		if done < progressBarWidth {
			bar += ">" + strings.Repeat(" ", progressBarWidth-done-1)
		}
		parts = append(parts, "["+bar+"]")
	}
	parts = append(parts, fmt.Sprintf("%d/%d files", s.sentFiles, s.files))
	if s.events >= 0 {
		parts = append(parts, thousands(s.events)+" events")
		if secs := s.elapsed.Seconds(); secs > 0 {
			parts = append(parts, thousands(int64(float64(s.events)/secs))+" events/s")
		}
	}
	switch {
	case s.sentFiles >= s.files && s.files > 0:
		parts = append(parts, "storing…")
	case frac > 0 && frac < 1:
		left := time.Duration(float64(s.elapsed) / frac * (1 - frac))
		parts = append(parts, "ETA "+humanDuration(left.Round(time.Second)))
	}
	return strings.Join(parts, "  ")
}

// pollEvents reports to set, every progressPoll until ctx ends, how many
// records the server's Ingest streams have read since base. Other clients
// ingesting at the same time are counted too: it is a progress figure, the
// summary has the exact one.
func pollEvents(ctx context.Context, stats func(context.Context) (*pb.StatsResponse, error), base int64, set func(int64)) {
	t := time.NewTicker(progressPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := stats(ctx)
		if err != nil {
			continue
		}
		set(max(ingestRecords(st)-base, 0))
	}
}

// ingestRecords is the number of records the server's Ingest streams have
// read, from Stats.
func ingestRecords(st *pb.StatsResponse) int64 {
	for _, s := range st.GetSources() {
		if s.GetName() == ingestRPCSource {
			return s.GetCounts().GetRecords()
		}
	}
	return 0
}
