// Package s3src is the ingest.Source of a CloudTrail trail bucket,
// "s3://bucket/prefix": it walks
//
//	<prefix>/AWSLogs/[<o-org>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz
//
// (and CloudTrail-Insight beside CloudTrail) for every account and region it
// discovers with delimited ListObjectsV2 calls, downloads the log files with
// bounded parallelism and hands each one to ingest.Ingester.Input, then keeps
// polling for new files. Digest files (CloudTrail-Digest) are not ingested
// as events.
//
// # Integrity
//
// Unless Config.Integrity is off, every log file stored also stores the
// SHA-256 of its inflated content (a checkpoint entry under
// integrity.StoreKey, atomically with its events), and after each poll the
// digests listed so far are read (with their x-amz-meta-signature) and
// checked by an integrity.Checker: missing and altered log files, broken
// previousDigest chains, unsigned or badly signed digests, per account and
// region. Signing keys come from CloudTrail ListPublicKeys in each digest's
// region. The result is handed to Ingester.SetIntegrity, which Stats shows.
//
// # Checkpoints
//
// Keys of one account, region and kind sort by delivery time, so each such
// stream keeps a watermark: the newest key such that every listed key up to
// it has been stored (with the newest LastModified among those keys). It is
// passed, under "s3:<bucket>/<prefix>:<account>:<region>:<kind>", with the
// Input call that completes it, so it is stored atomically with that file's
// events; a restart reads it and lists with StartAfter. Files are downloaded
// and stored in parallel and finish out of order: the watermark only moves
// over the contiguous prefix of done files, and when the last store of a poll
// may not carry the final watermark (another file was still in flight), the
// watermark is stored once more by an empty input. Objects that are gone or
// denied are reported (Ingester.Problem) and the watermark moves past them.
//
// CloudTrail delivers late and not strictly in order, so every poll also
// re-lists the last TrailingDays day folders up to the watermark's. Keys this
// process stored are remembered (pruned to that window) and not downloaded
// again; after a restart a key behind the watermark is downloaded only if it
// was modified after the newest object the watermark covers (a late arrival).
// Event IDs are deduplicated by the index, so an overlap costs a download,
// never a doubled event.
//
// AWS access goes through aws-sdk-go-v2 and its default credential chain;
// the SDK's AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_S3 variables work unless
// the URL's endpoint parameter overrides them.
package s3src
