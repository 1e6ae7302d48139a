// Package decode turns one input (a whole file's bytes, possibly gzip, or a
// stream of JSON lines) into the audit records it holds, detecting the input's
// format from its content alone: CloudTrail log files ({"Records":[...]},
// including Insights files), CloudTrail digest files (recognised and skipped),
// JSON lines and concatenated JSON values, bare JSON arrays, single events,
// EventBridge envelopes, `aws cloudtrail lookup-events` output and
// `aws codecatalyst list-event-logs` output.
//
// Decoding is tolerant: a malformed record is reported to a problem callback
// and skipped, and the records before and after it are still yielded. The
// structural scanner that splits an input into records tracks strings, escapes
// and nesting itself, never moves backwards and so runs in linear time even on
// damaged input; each record it finds is then validated on its own.
package decode
