// Package lookup is the cloudtrail://region source: CloudTrail Event History
// read through the LookupEvents API, for accounts without a trail.
//
// Each region is polled on its own in time windows, oldest first, paging
// with NextToken. Requests go through a token bucket per region (LookupEvents
// allows 2 requests per second per account and region); throttling and other
// transient errors are retried with exponential backoff and full jitter.
// Every poll re-reads an overlap before its checkpoint because Event History
// shows events minutes after they happen; what comes back again is dropped by
// the index's eventID dedupe and counted as duplicates.
//
// Pages are handed to ingest.Ingester.Input in the shape of
// `aws cloudtrail lookup-events` output, so the same decoder handles them as
// a saved CLI output. The checkpoint of region R (key "cloudtrail:R") is the
// end of the newest window read completely, in RFC 3339; it is stored with
// the window's last page, atomically with its events.
package lookup
