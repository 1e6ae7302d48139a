package gen

import (
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"time"

	"github.com/codetrail/codetrail/index/record"
)

// Meta describes a record returned by Next.
type Meta struct {
	// Time is the record's eventTime.
	Time time.Time
	// Account is recipientAccountId and Region is awsRegion.
	Account, Region string
	// Window is the start of the 5-minute delivery window: the record goes to
	// the trail file of (Account, Region, Window). A duplicate is delivered in
	// a later window than its first copy.
	Window time.Time
	// Duplicate is true for the second delivery of a record (same eventID).
	Duplicate bool
}

type pendingRec struct {
	rec    []byte
	meta   Meta
	ai, ri int
}

// Generator produces the event stream of a Config. It is not safe for
// concurrent use. Memory is bounded by the world (a few hundred objects) and
// the per-window time layout (one int per 5-minute window): it never holds
// the events it produced.
type Generator struct {
	cfg   Config
	r     *rand.Rand
	world []*account
	acctW []int
	rIdx  map[string]int

	first time.Time // start of the first delivery window
	end   time.Time
	cum   []int // cum[k]: fresh events before window k
	wi    int
	fresh int

	anchors []anchor
	ai      int
	follow  []followUp
	pending []pendingRec
	ready   []pendingRec

	w          jw
	e          event
	lastAcct   int
	lastRegion int
	hosts      [][]string // [source][region] endpoint host
}

// New returns a generator of cfg's event stream.
func New(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Generator{
		cfg:  cfg,
		r:    rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5851f42d4c957f2d)),
		rIdx: make(map[string]int, len(cfg.Regions)),
	}
	for i, r := range cfg.Regions {
		g.rIdx[r] = i
	}
	g.layout()
	g.planAnchors()
	born := math.MaxInt
	if len(g.anchors) > 0 {
		born = g.anchors[0].idx
	}
	g.world = newWorld(cfg.Accounts, cfg.Regions, born)
	for i := range g.world {
		g.acctW = append(g.acctW, []int{40, 25, 20, 15}[min(i, 3)])
	}
	g.hosts = make([][]string, len(sources))
	for s, src := range sources {
		for _, r := range cfg.Regions {
			g.hosts[s] = append(g.hosts[s], endpointHost(src, r))
		}
	}
	return g, nil
}

// layout spreads cfg.Events over the 5-minute windows of the span, weighted by
// a working-day curve (busy at 15:00 UTC, quiet at night and on weekends).
func (g *Generator) layout() {
	c := g.cfg
	g.end = c.Start.Add(c.Span)
	g.first = c.Start.Truncate(DeliveryWindow)
	n := int((g.end.Sub(g.first) + DeliveryWindow - 1) / DeliveryWindow)
	w := make([]float64, n)
	total := 0.0
	for k := range w {
		ws := g.first.Add(time.Duration(k) * DeliveryWindow)
		lo, hi := maxTime(ws, c.Start), minTime(ws.Add(DeliveryWindow), g.end)
		h := float64(ws.Hour()) + float64(ws.Minute())/60
		f := 0.2 + math.Exp(-(h-15)*(h-15)/(2*4*4))
		if d := ws.Weekday(); d == time.Saturday || d == time.Sunday {
			f *= 0.3
		}
		w[k] = f * hi.Sub(lo).Seconds()
		total += w[k]
	}
	g.cum = make([]int, n+1)
	acc := 0.0
	for k := range w {
		acc += w[k]
		g.cum[k+1] = int(math.Round(acc / total * float64(c.Events)))
	}
	g.cum[n] = c.Events
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (g *Generator) windowStart(k int) time.Time {
	return g.first.Add(time.Duration(k) * DeliveryWindow)
}

// Next appends the next record as compact JSON to dst and returns the
// extended slice with its Meta; ok is false once all cfg.Events events and
// their duplicates were returned. The returned bytes alias dst: the caller
// owns them and the generator keeps no reference. Cost: about 2 µs and one
// or two small allocations per record.
func (g *Generator) Next(dst []byte) (rec []byte, meta Meta, ok bool) {
	for {
		if len(g.ready) > 0 {
			p := g.ready[0]
			g.ready = g.ready[1:]
			g.lastAcct, g.lastRegion = p.ai, p.ri
			return append(dst, p.rec...), p.meta, true
		}
		if g.fresh >= g.cfg.Events {
			if len(g.pending) > 0 {
				g.promote(g.windowStart(g.wi + 1))
				continue
			}
			return dst, Meta{}, false
		}
		k := g.wi
		for g.cum[k+1] <= g.fresh {
			k++
		}
		if k != g.wi {
			g.wi = k
			if len(g.pending) > 0 {
				g.promote(g.windowStart(k))
				continue
			}
		}
		break
	}
	start := len(dst)
	rec, meta = g.event(dst)
	g.fresh++
	if g.cfg.DuplicateRate > 0 && g.r.Float64() < g.cfg.DuplicateRate {
		g.pending = append(g.pending, pendingRec{rec: append([]byte(nil), rec[start:]...), meta: meta, ai: g.lastAcct, ri: g.lastRegion})
	}
	return rec, meta, true
}

func (g *Generator) promote(window time.Time) {
	for _, p := range g.pending {
		p.meta.Window = window
		p.meta.Duplicate = true
		g.ready = append(g.ready, p)
	}
	g.pending = g.pending[:0]
}

// All returns an iterator over the remaining records. Each record slice is
// valid only until the next iteration; copy it to keep it.
func (g *Generator) All() iter.Seq2[[]byte, Meta] {
	return func(yield func([]byte, Meta) bool) {
		var buf []byte
		for {
			rec, m, ok := g.Next(buf[:0])
			if !ok || !yield(rec, m) {
				return
			}
			buf = rec
		}
	}
}

// Events returns all records of cfg in memory, for tests and small N.
func Events(cfg Config) ([][]byte, error) {
	g, err := New(cfg)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, cfg.Events)
	for rec := range g.All() {
		out = append(out, append([]byte(nil), rec...))
	}
	return out, nil
}

// Parsed returns the first n records of the default stream parsed as the
// index stores them, for tests and benchmarks of what comes after parsing.
func Parsed(n int) ([]record.Event, error) {
	cfg := DefaultConfig()
	cfg.Events = n
	recs, err := Events(cfg)
	if err != nil {
		return nil, err
	}
	out := make([]record.Event, len(recs))
	for i, raw := range recs {
		if out[i], err = record.Parse(record.KindCloudTrail, raw); err != nil {
			return nil, fmt.Errorf("generated record %d: %w", i, err)
		}
	}
	return out, nil
}
