// Package index stores audit events in an embedded Bleve index on local disk
// and answers searches over them.
//
// It owns the event-to-document mapping, the sequence numbers behind cursors,
// dedupe by eventID, checkpoints stored atomically with the batch that
// completes them, the compilation of the query language (package
// index/query) to Bleve queries, paging by search_after, facets and date
// histograms. Bleve types never leave this package.
//
// The index is split into shards (Config.Shards Bleve indexes) because Bleve
// builds each batch's segment on one core: a large Put is split into
// contiguous chunks written in parallel, one per shard, and searches run
// over an alias of all shards. Checkpoints live in shard 0; with several
// chunks they are stored after every chunk is, so a crash in between leaves
// events without their checkpoint (re-read and deduplicated), never a
// checkpoint without its events.
//
// The block layout (docs/blocks.md: one document per block of up to 256
// events, block*.go, wordcounts.go) is what partitions created with
// Config.Layout "blocks" hold; blockstore.go adds them to each entry point
// of the Store, whose alias and shard view hold the per-event partitions
// only.
//
// Lock order: Store.mu (writers) before anything else; searches take no
// Store lock beyond reading the Bleve index, which is safe concurrently.
package index
