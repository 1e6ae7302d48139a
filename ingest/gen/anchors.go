package gen

import "sort"

// anchor is an event planned at a fixed fresh index, so that the records the
// README and tests rely on exist whatever the seed and size.
type anchor struct {
	idx int
	set func(g *Generator, e *event)
}

// minAnchorEvents is the smallest stream that carries the anchors.
const minAnchorEvents = 200

func (g *Generator) planAnchors() {
	n := g.cfg.Events
	if n < minAnchorEvents {
		return
	}
	type plan struct {
		frac float64
		set  func(g *Generator, e *event)
	}
	jane := func(o **op) func(g *Generator, e *event) {
		return func(g *Generator, e *event) { g.anchorEvent(e, *o, true) }
	}
	anyone := func(o **op) func(g *Generator, e *event) {
		return func(g *Generator, e *event) { g.anchorEvent(e, *o, false) }
	}
	plans := []plan{
		{0.004, jane(&opCreatePipeline)},
		{0.006, func(g *Generator, e *event) {
			g.anchorEvent(e, opCreateNotificationRule, true)
			a := e.a
			e.rule = &notifRule{name: "MyFirstPipeline-notifications", id: "f" + randHex(worldRand(a.id, "rule"), 39),
				region: e.region, resource: e.pipe.arn, topic: "arn:aws:sns:" + e.region + ":" + a.id + ":MyFirstPipeline-alerts"}
		}},
		{0.0065, func(g *Generator, e *event) {
			g.anchorEvent(e, opPutRule, false)
			e.by, e.p = byNotif, nil
			e.rule = &notifRule{resource: e.pipe.arn, region: e.region}
		}},
		{0.007, func(g *Generator, e *event) {
			g.anchorEvent(e, opPutTargets, false)
			e.by, e.p = byNotif, nil
			e.rule = &notifRule{resource: e.pipe.arn, region: e.region}
		}},
		{0.02, jane(&opStartPipelineExecution)},
		{0.15, jane(&opGetPipelineState)},
		{0.25, jane(&opUpdatePipeline)},
		{0.33, anyone(&opStartPipelineExecution)},
		{0.40, func(g *Generator, e *event) {
			g.anchorEvent(e, opDeletePipeline, true)
			e.errCode = deniedCode[srcCP] // message filled by identity()
		}},
		{0.55, anyone(&opStartPipelineExecution)},
		{0.62, anyone(&opUpdatePipeline)},
		{0.80, anyone(&opStartPipelineExecution)},
		{0.90, jane(&opListPipelineExecutions)},
	}
	sort.SliceStable(plans, func(i, j int) bool { return plans[i].frac < plans[j].frac })
	prev := -1
	for _, p := range plans {
		idx := max(int(p.frac*float64(n)), prev+1)
		g.anchors = append(g.anchors, anchor{idx: idx, set: p.set})
		prev = idx
	}
}

// anchorEvent sets e to o on MyFirstPipeline in the anchor account, made by
// JaneDoe (jane) or a random person of the account.
func (g *Generator) anchorEvent(e *event, o *op, jane bool) {
	a := g.world[0]
	e.a, e.op, e.by = a, o, byHuman
	e.pipe = a.pipelines[len(a.pipelines)-1] // MyFirstPipeline
	e.region = e.pipe.region
	e.proj, e.repo, e.app = e.pipe.build, e.pipe.repo, e.pipe.app
	e.scratch = a.scratch[0]
	if jane {
		e.p = a.jane
	} else {
		for e.p = a.human(g.r); e.p.kind == pkRoot; e.p = a.human(g.r) {
		}
	}
}
