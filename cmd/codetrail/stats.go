package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

func runStats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	conn := addClientFlags(fs)
	asJSON := fs.Bool("json", false, "print the raw Stats response as JSON (every field, every integrity problem)")
	problems := fs.Int("problems", 10, "recent ingest problems to show, newest first")
	color := addColorFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: codetrail stats [flags]\n\nShows a running server's figures: events and size of the index, ingest totals,\nsubscribers, each source (counts, lag, last error), the digest integrity\ncheck of sources that make one, and recent ingest problems. Times are UTC.\n\nFlags:")
		printFlags(stderr, fs)
	}
	if err := parseFlags(ctx, fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if *problems < 0 {
		return fmt.Errorf("--problems must be 0 or more")
	}
	c, err := conn.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := c.Stats(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, st)
	}
	return renderStats(stdout, st, statsView{now: time.Now(), problems: *problems, p: painter{on: useColor(color.value, stdout)}})
}

// statsView is how to render Stats.
type statsView struct {
	now      time.Time // for "ago" and lag
	problems int       // recent problems to show
	p        painter
}

// integrityLines is how many integrity problems stats lists, over all
// accounts and regions; --json has up to 100 of each kind per region.
const integrityLines = 10

// renderStats writes Stats for people: a summary, then a table of sources,
// the integrity check of each source that has one, and recent problems.
func renderStats(w io.Writer, st *pb.StatsResponse, v statsView) error {
	p := v.p
	sum := &table{}
	span := ""
	if st.GetOldestEventTime() != nil {
		span = fmt.Sprintf(" from %s to %s", st.GetOldestEventTime().AsTime().UTC().Format(timeLayout), st.GetNewestEventTime().AsTime().UTC().Format(timeLayout))
	}
	sum.addCells(cell{"events", styleBold}, cell{text: thousands(st.GetEvents()) + span})
	size := humanBytes(st.GetIndexSizeBytes())
	if n := st.GetSegments(); n > 0 {
		size += fmt.Sprintf(" in %d segments", n)
		if st.GetCompacting() {
			size += " (compaction running, or due once ingest is idle)"
		}
	}
	sum.addCells(cell{"index size", styleBold}, cell{text: size})
	if st.GetCursor() != "" {
		sum.addCells(cell{"cursor", styleBold}, cell{text: st.GetCursor()})
	}
	n := st.GetIngest()
	sum.addCells(cell{"ingest", styleBold}, cell{text: fmt.Sprintf("%s inputs, %s records: %s stored, %s duplicates, %s invalid records, %s invalid inputs, %s digests skipped (since start)",
		thousands(n.GetFiles()), thousands(n.GetRecords()), thousands(n.GetEventsStored()), thousands(n.GetDuplicates()),
		thousands(n.GetInvalidRecords()), thousands(n.GetInvalidFiles()), thousands(n.GetSkippedFiles()))})
	sub := st.GetSubscribers()
	sum.addCells(cell{"subscribers", styleBold}, cell{text: fmt.Sprintf("%d active, %d caught up, %s, %s",
		sub.GetActive(), sub.GetCaughtUp(),
		p.paint(fmt.Sprintf("%d lagging", sub.GetLagging()), warnIf(sub.GetLagging() > 0, styleYellow)),
		p.paint(fmt.Sprintf("%d ended for lag", sub.GetEndedForLag()), warnIf(sub.GetEndedForLag() > 0, styleRed)))})
	if err := sum.render(w, p); err != nil {
		return err
	}

	fmt.Fprintln(w)
	if len(st.GetSources()) == 0 {
		fmt.Fprintln(w, "no sources")
	} else if err := sourcesTable(st.GetSources(), v.now).render(w, p); err != nil {
		return err
	}

	for _, s := range st.GetSources() {
		if s.GetIntegrity() == nil {
			continue
		}
		fmt.Fprintln(w)
		if err := renderIntegrity(w, s.GetName(), s.GetIntegrity(), v); err != nil {
			return err
		}
	}

	fmt.Fprintln(w)
	probs := st.GetRecentProblems()
	if len(probs) == 0 {
		fmt.Fprintln(w, "no recent problems")
		return nil
	}
	if v.problems == 0 {
		fmt.Fprintf(w, "%d recent problems (--problems N lists them)\n", len(probs))
		return nil
	}
	fmt.Fprintln(w, p.paint(fmt.Sprintf("recent problems (%d shown of the last %d kept, newest first)", min(len(probs), v.problems), len(probs)), styleBold))
	pt := &table{header: []string{"TIME", "INPUT", "POSITION", "REASON"}}
	for _, pr := range probs[:min(len(probs), v.problems)] {
		tm := ""
		if pr.GetTime() != nil {
			tm = pr.GetTime().AsTime().UTC().Format(timeLayout)
		}
		pt.addCells(cell{tm, styleDim}, cell{text: clipLeft(pr.GetName(), 56)}, cell{text: pr.GetPosition()}, cell{clip(pr.GetReason(), 100), styleRed})
	}
	return pt.render(w, p)
}

// warnIf is st when cond holds, else no style.
func warnIf(cond bool, st style) style {
	if cond {
		return st
	}
	return styleNone
}

// sourcesTable lays out the sources: what each read and stored, its lag
// (now minus the newest eventTime it has seen), when it last stored events
// and its last error. INVALID is invalid records plus unreadable inputs.
func sourcesTable(sources []*pb.SourceStats, now time.Time) *table {
	t := &table{
		header: []string{"SOURCE", "INPUTS", "RECORDS", "STORED", "DUPLICATES", "INVALID", "LAG", "LAST STORED", "LAST ERROR"},
		right:  []bool{false, true, true, true, true, true, true, false, false},
	}
	for _, s := range sources {
		n := s.GetCounts()
		invalid := n.GetInvalidRecords() + n.GetInvalidFiles()
		lag := "-"
		if s.GetLag() != nil {
			lag = humanDuration(s.GetLag().AsDuration())
		}
		stored := "never"
		if s.GetLastSuccessTime() != nil {
			stored = humanDuration(now.Sub(s.GetLastSuccessTime().AsTime())) + " ago"
		}
		lastErr := ""
		if s.GetLastError() != "" {
			lastErr = clip(s.GetLastError(), 80)
			if s.GetLastErrorTime() != nil {
				lastErr = humanDuration(now.Sub(s.GetLastErrorTime().AsTime())) + " ago: " + lastErr
			}
		}
		t.addCells(
			cell{text: clipLeft(s.GetName(), 56)},
			cell{text: thousands(n.GetFiles())},
			cell{text: thousands(n.GetRecords())},
			cell{text: thousands(n.GetEventsStored())},
			cell{text: thousands(n.GetDuplicates())},
			cell{thousands(invalid), warnIf(invalid > 0, styleRed)},
			cell{text: lag},
			cell{text: stored},
			cell{lastErr, styleRed},
		)
	}
	return t
}

// renderIntegrity writes one source's digest check: a headline, a row per
// account and region, and the first problems.
func renderIntegrity(w io.Writer, source string, ig *pb.IntegrityReport, v statsView) error {
	p := v.p
	verdict := p.paint("ok", styleGreen)
	if ig.GetProblems() > 0 {
		verdict = p.paint(fmt.Sprintf("%s problems", thousands(ig.GetProblems())), styleError)
	}
	checked := ""
	if ig.GetCheckedTime() != nil {
		checked = fmt.Sprintf(", checked %s ago", humanDuration(v.now.Sub(ig.GetCheckedTime().AsTime())))
	}
	fmt.Fprintf(w, "%s %s: %s%s\n", p.paint("integrity of", styleBold), source, verdict, checked)
	if e := ig.GetError(); e != "" {
		// One line per region that could not be checked fully.
		lines := strings.Split(strings.TrimSpace(e), "\n")
		for i, l := range lines {
			if i == 3 {
				fmt.Fprintf(w, "  %d more (codetrail stats --json)\n", len(lines)-i)
				break
			}
			fmt.Fprintf(w, "  %s %s\n", p.paint("incomplete:", styleYellow), clipMiddle(l, 110))
		}
	}
	if len(ig.GetRegions()) == 0 {
		fmt.Fprintln(w, "  no digests checked yet")
		return nil
	}
	t := &table{
		header: []string{"ACCOUNT", "REGION", "DIGESTS", "LOG FILES", "PROBLEMS", "NOTE"},
		right:  []bool{false, false, true, true, true, false},
		indent: "  ",
	}
	probs := &table{header: []string{"PROBLEM", "ACCOUNT", "REGION", "OBJECT", "DETAIL"}, indent: "  "}
	var listed, total int64
	for _, r := range ig.GetRegions() {
		var note []string
		if r.GetKeyError() != "" {
			note = append(note, "signatures unchecked (no public keys)")
		}
		if r.GetTruncated() {
			note = append(note, "lists cut at 100 a kind")
		}
		t.addCells(
			cell{text: r.GetAccount()},
			cell{text: r.GetRegion()},
			cell{text: thousands(r.GetDigests())},
			cell{text: thousands(r.GetLogFiles())},
			cell{thousands(r.GetProblems()), warnIf(r.GetProblems() > 0, styleRed)},
			cell{strings.Join(note, "; "), styleYellow},
		)
		total += r.GetProblems()
		for _, pr := range integrityProblems(r) {
			if listed == integrityLines {
				break
			}
			listed++
			probs.addCells(cell{pr.kind, styleRed}, cell{text: r.GetAccount()}, cell{text: r.GetRegion()}, cell{text: pr.object}, cell{text: pr.detail})
		}
	}
	if err := t.render(w, p); err != nil {
		return err
	}
	if listed == 0 {
		return nil
	}
	fmt.Fprintln(w)
	if err := probs.render(w, p); err != nil {
		return err
	}
	if total > listed {
		fmt.Fprintf(w, "  %s more (codetrail stats --json lists up to 100 of each kind per region)\n", thousands(total-listed))
	}
	return nil
}

// integrityProblem is one line of the problems table.
type integrityProblem struct{ kind, object, detail string }

// integrityProblems lists one region's problems: the kind, the object's
// name (its key's last part: account, region and date are in the name) and
// what is wrong.
func integrityProblems(r *pb.IntegrityRegion) []integrityProblem {
	base := func(key string) string { return key[strings.LastIndex(key, "/")+1:] }
	var out []integrityProblem
	for _, f := range r.GetMissing() {
		out = append(out, integrityProblem{"missing", base(f.GetKey()), ""})
	}
	for _, f := range r.GetHashMismatches() {
		out = append(out, integrityProblem{"hash mismatch", base(f.GetKey()), fmt.Sprintf("digest has %s, ingested %s", clip(f.GetWantSha256(), 13), clip(f.GetGotSha256(), 13))})
	}
	for _, c := range r.GetBrokenChains() {
		out = append(out, integrityProblem{"broken chain", base(c.GetKey()), clip(c.GetReason(), 80)})
	}
	for _, kind := range []struct {
		name  string
		probs []*pb.IntegrityDigestProblem
	}{
		{"unsigned", r.GetUnsigned()}, {"bad signature", r.GetBadSignatures()},
		{"unknown key", r.GetUnknownKeys()}, {"malformed", r.GetMalformed()},
	} {
		for _, d := range kind.probs {
			out = append(out, integrityProblem{kind.name, base(d.GetKey()), clip(d.GetReason(), 80)})
		}
	}
	return out
}
