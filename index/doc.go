// Package index stores audit events in an embedded Bleve index on local disk
// and answers searches over them.
//
// It owns the event-to-document mapping, the sequence numbers behind cursors,
// dedupe by eventID, checkpoints stored atomically with the batch that
// completes them, the compilation of the query language (package
// index/query) to Bleve queries, paging by search_after, facets and date
// histograms. Bleve types never leave this package.
//
// Lock order: Store.mu (writers) before anything else; searches take no
// Store lock beyond reading the Bleve index, which is safe concurrently.
package index
