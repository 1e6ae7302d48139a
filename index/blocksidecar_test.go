package index

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"

	"github.com/codetrail/codetrail/index/record"
)

// TestSidecar counts queries on block shards' sidecars, loaded from
// blocks of every format and built by the writer as it stores batches,
// against the matcher over the same events: totals, every facet and daily
// buckets. Queries of facetable terms, _exists, time ranges, AND, OR and
// NOT (patterns on typed fields expanded to their terms) must be decided
// on the sidecar; words, ids, paths and phrases must not.
func TestSidecar(t *testing.T) {
	evs := blockTestEvents(t, 3000)
	s := &evs[1234]
	ctx := context.Background()
	fields := make([]int, len(blockColumnFields))
	for i := range fields {
		fields[i] = i
	}
	week := s.Time.Add(-7 * day).UTC().Format(time.RFC3339)
	decided := []string{
		"",
		"eventName:" + s.Name,
		"NOT eventName:" + s.Name,
		"errorCode:*",
		"NOT errorCode:*",
		"service:" + s.Service + " AND NOT errorCode:*",
		"eventSource:" + s.Source + " AND eventName:" + s.Name + " AND eventTime:>=" + week,
		"service:" + s.Service + " AND (eventName:" + s.Name + " OR eventName:StopBuild) AND NOT errorCode:*",
		"resource:" + s.Resources[0],
		"NOT resource:*",
		"eventName:Start*",
		"eventName:[C TO G]",
		"eventTime:" + s.Time.UTC().Format("2006-01-02"),
		"eventTime:<" + s.Time.UTC().Format(time.RFC3339Nano),
		"readOnly:TRUE",
		"userIdentity.type:* AND NOT userIdentity.arn:*",
		"eventName:NoSuchName",
		"account:" + s.Account + " OR awsRegion:" + s.Region,
		// Time ranges beside other terms: blocks wholly inside, wholly
		// outside and across the bounds.
		"eventName:" + s.Name + " AND eventTime:<" + s.Time.UTC().Format(time.RFC3339Nano),
		"service:" + s.Service + " AND eventTime:" + s.Time.UTC().Format("2006-01-02") + " AND NOT errorCode:*",
		"eventTime:>=" + week + " AND eventTime:<" + s.Time.UTC().Format(time.RFC3339Nano),
		"NOT errorCode:* AND eventTime:<" + s.Time.UTC().Format(time.RFC3339Nano),
		"(eventName:" + s.Name + " OR errorCode:*) AND eventTime:>" + s.Time.Add(-time.Hour).UTC().Format(time.RFC3339Nano) + " AND eventTime:<" + s.Time.Add(time.Hour).UTC().Format(time.RFC3339Nano),
	}
	undecided := []string{
		"accessdenied",
		"eventID:" + s.ID,
		"requestID:" + s.RequestID,
		`"` + s.Name + ` ` + s.Source + `"`,
		"eventName:" + s.Name + " AND accessdenied",
		"NOT requestParameters.projectName:*",
		"NOT eventTime:*",
	}
	var check func(t *testing.T, idx bleve.Index, side *sidecar, evs []record.Event)
	check = func(t *testing.T, idx bleve.Index, side *sidecar, evs []record.Event) {
		t.Helper()
		if side.broken {
			t.Fatal("sidecar broken")
		}
		if side.next != uint32(len(evs)) {
			t.Fatalf("sidecar of %d events, want %d", side.next, len(evs))
		}
		c := compiler{now: s.Time}
		for _, q := range decided {
			p := mustPlan(t, c, idx, q)
			want := wantCounts(t, p, evs, true)
			match, ok := side.eval(&p.root)
			if !ok {
				t.Fatalf("%q: not decided on the sidecar", q)
			}
			cs, err := side.counts(match, blockCountRequest{fields: fields, start: want.start, iv: day, buckets: len(want.buckets)})
			if err != nil {
				t.Fatalf("%q: %v", q, err)
			}
			want.check(t, q, cs)
			checkSidecarPages(t, q, side, match, p, evs, idx)
		}
		for _, q := range undecided {
			if _, ok := side.eval(&mustPlan(t, c, idx, q).root); ok {
				t.Fatalf("%q: decided on the sidecar", q)
			}
		}
		if side.mapped == nil {
			// And the same once frozen, from its file.
			fz, err := side.freeze(filepath.Join(t.TempDir(), "block-0.sidecar"))
			if err != nil {
				t.Fatal(err)
			}
			if fz.mapped == nil || fz.fields[0].frozen == nil || fz.fields[0].values != nil {
				t.Fatal("not frozen")
			}
			check(t, idx, fz, evs)
		}
	}
	for _, f := range []struct {
		name   string
		format int
	}{{"one", formatOne}, {"split", formatSplit}, {"all index", formatAllIndex}, {"v1", formatV1}} {
		t.Run("loaded/"+f.name, func(t *testing.T) {
			idx, _ := writeBlockShardAs(t, evs, f.format)
			check(t, idx, storedSidecar(t, idx), evs)
		})
	}
	t.Run("nanoseconds", func(t *testing.T) {
		// Times not in whole milliseconds: their blocks keep them whole.
		evs := slices.Clone(evs)
		for i := range evs {
			if i%300 == 7 && !evs[i].Time.IsZero() {
				evs[i].Time = evs[i].Time.Add(123456789)
			}
		}
		idx, _ := writeBlockShardAs(t, evs, formatOne)
		side := storedSidecar(t, idx)
		if len(side.wide) == 0 || len(side.wide) == len(side.blocks) {
			t.Fatalf("%d blocks of %d with their times whole", len(side.wide), len(side.blocks))
		}
		check(t, idx, side, evs)
	})
	t.Run("ordered", func(t *testing.T) {
		// Batches of 700 in time order, as Put numbers them: their blocks
		// are ordered but those across two batches, and a page stops in
		// an ordered block at its first event past the page.
		evs := slices.Clone(evs)
		for lo := 1; lo < len(evs); lo += 700 { // the first stays: the histograms start at its day
			slices.SortStableFunc(evs[lo:min(lo+700, len(evs))], func(a, b record.Event) int { return a.Time.Compare(b.Time) })
		}
		for i := range evs {
			evs[i].Seq = uint64(i + 1)
		}
		idx, _ := writeBlockShardAs(t, evs, formatOne)
		side := storedSidecar(t, idx)
		ordered := 0
		for _, b := range side.blocks {
			if b.ordered {
				ordered++
			}
		}
		if ordered < len(side.blocks)/2 || ordered == len(side.blocks) {
			t.Fatalf("%d blocks of %d ordered", ordered, len(side.blocks))
		}
		check(t, idx, side, evs)
	})
	t.Run("written", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "shard")
		idx, err := bleve.NewUsing(dir, newMapping(), scorch.Name, scorch.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = idx.Close() }()
		w, err := newBlockWriter(ctx, idx)
		if err != nil {
			t.Fatal(err)
		}
		for lo := 0; lo < len(evs); lo += 700 {
			if err := w.writeBatch(evs[lo:min(lo+700, len(evs))]); err != nil {
				t.Fatal(err)
			}
		}
		check(t, idx, w.side, evs)
		// The values of each facetable field, as the blocks' lists hold
		// them, for patterns to be expanded against.
		for _, field := range blockColumnFields {
			got, ok := w.sidecarTerms(field)
			want, err := indexTerms(idx)(field)
			slices.Sort(got)
			if !ok || err != nil || !slices.Equal(got, want) {
				t.Fatalf("%s: %d values in the sidecar (%v), %d in the lists (%v)", field, len(got), ok, len(want), err)
			}
		}
		if _, ok := w.sidecarTerms("requestID"); ok {
			t.Fatal("terms of a field the sidecar does not hold")
		}
		// A common word's total: its count, and its events in the blocks
		// before it became common, against the matcher.
		c := compiler{now: s.Time}
		stored, done, err := shardStored(idx, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer done()
		late := 0
		common := slices.Sorted(maps.Keys(w.wordNums))
		step := max(1, len(common)/15)
		for i, word := range common {
			if i%step != 0 {
				continue
			}
			p := mustPlan(t, c, idx, word)
			if got, ok := p.oneWord(); !ok || got != word {
				t.Fatalf("%q: one word %q, %v", word, got, ok)
			}
			n, since, ok := w.wordTotal(word)
			if !ok {
				t.Fatalf("%q: not common", word)
			}
			if since > 1 {
				late++
			}
			early, err := p.before(since).count(ctx, searchOfIndex(idx), stored)
			if err != nil {
				t.Fatal(err)
			}
			if want := wantCounts(t, p, evs, false).total; n+early != want {
				t.Fatalf("%q: %d counted from %d on and %d before, want %d", word, n, since, early, want)
			}
		}
		if late == 0 {
			t.Fatal("no word became common after the first block")
		}
		if _, ok := mustPlan(t, c, idx, "accessdenied AND "+s.Name).oneWord(); ok {
			t.Fatal("a word and a term taken for one word")
		}
		// Through the writer, as a search asks it.
		p := mustPlan(t, compiler{now: s.Time}, idx, "errorCode:*")
		cs, ok := w.sidecarCounts(p, blockCountRequest{fields: []int{blockColumn("eventName")}})
		want := wantCounts(t, p, evs, true)
		if !ok || cs.total != want.total || len(cs.facets[0].values) != len(want.facets[blockColumn("eventName")].values) {
			t.Fatalf("errorCode:* through the writer: %v %d, want %d", ok, cs.total, want.total)
		}
		// A block the sidecar cannot read breaks it: counts go back to
		// the blocks.
		if err := w.side.add(eventIndex{events: 1, b: make([]byte, eventIndexHead+16)}, []byte("not columns")); err == nil {
			t.Fatal("damaged columns added")
		}
		if _, ok := w.sidecarCounts(p, blockCountRequest{}); ok {
			t.Fatal("a broken sidecar counted")
		}
	})
}

// BenchmarkSidecar counts the harness's aggregations over a block shard's
// sidecar of 100,000 generated events: a facet on eventName over the
// errors, a day histogram of one service, and the total of source AND
// name over a week.
func BenchmarkSidecar(b *testing.B) {
	evs := blockTestEvents(b, 100_000)
	idx, err := bleve.NewUsing(filepath.Join(b.TempDir(), "shard"), newMapping(), scorch.Name, scorch.Name, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = idx.Close() }()
	w, err := newBlockWriter(context.Background(), idx)
	if err != nil {
		b.Fatal(err)
	}
	for lo := 0; lo < len(evs); lo += 5000 {
		if err := w.writeBatch(evs[lo:min(lo+5000, len(evs))]); err != nil {
			b.Fatal(err)
		}
	}
	// The memory it takes, times included, on the heap; then the same
	// searches once frozen (a partition that takes no more events).
	perEvent := float64(w.side.size()) / float64(len(evs))
	s := &evs[len(evs)/2]
	c := compiler{now: s.Time}
	start := evs[0].Time.UTC().Truncate(day)
	week := s.Time.Add(-7 * day).UTC().Format(time.RFC3339)
	for _, frozen := range []bool{false, true} {
		prefix := "heap/"
		if frozen {
			if err := w.freeze(filepath.Join(b.TempDir(), "block-0.sidecar")); err != nil || w.side.mapped == nil {
				b.Fatalf("not frozen: %v", err)
			}
			prefix, perEvent = "frozen/", float64(w.side.size())/float64(len(evs))
		}
		for _, bc := range []struct {
			name, q string
			r       blockCountRequest
		}{
			{"facet errors", "errorCode:*", blockCountRequest{fields: []int{blockColumn("eventName")}}},
			{"histogram service", "service:" + s.Service, blockCountRequest{start: start, iv: day, buckets: 60}},
			{"source+name+7d", "eventSource:" + s.Source + " AND eventName:" + s.Name + " AND eventTime:>=" + week, blockCountRequest{}},
		} {
			p := mustPlan(b, c, idx, bc.q)
			b.Run(prefix+bc.name, func(b *testing.B) {
				for b.Loop() {
					if _, ok := w.sidecarCounts(p, bc.r); !ok {
						b.Fatal("not decided")
					}
				}
				b.ReportMetric(perEvent, "sidecar-heap-B/event")
			})
		}
		// Pages of the 50 newest matches, as the harness's term and
		// source+name+7d queries ask for them.
		for _, pc := range []struct{ name, q string }{
			{"page name", "eventName:" + s.Name},
			{"page source+name+7d", "eventSource:" + s.Source + " AND eventName:" + s.Name + " AND eventTime:>=" + week},
		} {
			p := mustPlan(b, c, idx, pc.q)
			b.Run(prefix+pc.name, func(b *testing.B) {
				for b.Loop() {
					pg, _, ok, err := w.sidecarSearch(p, true, 50, "", false, blockCountRequest{})
					if err != nil || !ok || len(pg.matches) != 50 {
						b.Fatalf("page of %d, decided %v: %v", len(pg.matches), ok, err)
					}
				}
			})
		}
	}
}

// storedSidecar reads the sidecar of the blocks of idx as loadBlocks does
// (the test writer's blocks have no ids).
func storedSidecar(t *testing.T, idx bleve.Index) *sidecar {
	t.Helper()
	side := newSidecar()
	err := eachDoc(context.Background(), idx, blockDoc, fieldSeq, func(_ *search.DocumentMatch, stored func(string) []byte) error {
		side.addStored(stored)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return side
}

// checkSidecarPages pages through match on the sidecar, newest and oldest
// first, 37 events a page with the last one's key as the token, against
// the matcher's matches of p in order; and reads the first page's events
// from their blocks, named by id only.
func checkSidecarPages(t *testing.T, q string, side *sidecar, match *roaring.Bitmap, p *blockPlan, evs []record.Event, idx bleve.Index) {
	t.Helper()
	var want []eventKey
	for i := range evs {
		if p.match(newEventTerms(&evs[i])) {
			k := eventKey{nanos: noTime, seq: evs[i].Seq}
			if t, ok := indexedTime(&evs[i]); ok {
				k.nanos = t.UnixNano()
			}
			want = append(want, k)
		}
	}
	block := func(first uint64) *search.DocumentMatch { return &search.DocumentMatch{ID: blockID(first)} }
	for _, newest := range []bool{true, false} {
		slices.SortFunc(want, func(a, b eventKey) int {
			if a.less(b) != newest {
				return -1
			}
			return 1
		})
		var got []eventKey
		var from eventKey
		for page := 0; ; page++ {
			pg := side.page(match, newest, 37, from, page > 0, block)
			if page == 0 && len(pg.matches) > 0 {
				stored, done, err := shardStored(idx, nil, 0)
				if err != nil {
					t.Fatal(err)
				}
				read, err := blockEvents(pg.matches, stored, false)
				done()
				if err != nil {
					t.Fatalf("%q: read the first page: %v", q, err)
				}
				for i, ev := range read {
					if ev.Seq != pg.matches[i].key.seq {
						t.Fatalf("%q: event %d of the first page read as %d", q, pg.matches[i].key.seq, ev.Seq)
					}
				}
			}
			for _, m := range pg.matches {
				got = append(got, m.key)
				if first, _ := blockFirst(m.block.ID); m.key.seq != first+uint64(m.ord) {
					t.Fatalf("%q: event %d named as %d of block %s", q, m.key.seq, m.ord, m.block.ID)
				}
			}
			if len(pg.matches) < 37 || page > len(want) {
				break
			}
			from = pg.matches[len(pg.matches)-1].key
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%q (newest %v): paged %d events, want %d", q, newest, len(got), len(want))
		}
		if pg := side.page(match, newest, 0, eventKey{}, false, block); len(pg.matches) != 0 || pg.more != (len(want) > 0) {
			t.Fatalf("%q: a page of 0: %d events, more %v", q, len(pg.matches), pg.more)
		}
	}
}

// TestHoldsRange: whether a bitmap holds every number of a range, across
// a container's bounds (65,536) and with a hole.
func TestHoldsRange(t *testing.T) {
	bm := roaring.New()
	bm.AddRange(100, 70000)
	bm.Remove(300)
	bm.Add(80000)
	for _, c := range []struct {
		lo, n uint32
		want  bool
	}{
		{100, 200, true},
		{100, 256, false}, // the hole at 300
		{301, 256, true},
		{65500, 256, true}, // across two containers
		{69900, 100, true},
		{69900, 101, false},
		{99, 10, false},
		{80000, 1, true},
		{0, 1, false},
		{100, 0, false},
	} {
		if got := holdsRange(bm, c.lo, c.n); got != c.want {
			t.Errorf("holdsRange(%d, %d) = %v, want %v", c.lo, c.n, got, c.want)
		}
	}
}

// TestStringArena: interned strings equal what was given, across chunks,
// and stay so while more are added; long ones are copies of their own.
func TestStringArena(t *testing.T) {
	var a stringArena
	tests := []string{"", "x", "codebuild.amazonaws.com", strings.Repeat("a", arenaChunk/16), strings.Repeat("b", arenaChunk/16+1)}
	var got, want []string
	for i := range 200 {
		for _, v := range tests {
			v = fmt.Sprintf("%s-%d", v, i)
			buf := []byte(v)
			s := a.intern(string(buf))
			buf[0] = '!' // the arena holds a copy
			got, want = append(got, s), append(want, v)
		}
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("interned %d: %q, want %q", i, got[i], want[i])
		}
	}
	if a.intern("") != "" {
		t.Fatal("the empty string")
	}
}
