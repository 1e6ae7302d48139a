// Package catalyst is the codecatalyst://space source: a CodeCatalyst
// space's event log read through the ListEventLogs API with bearer-token
// authentication.
//
// The log is polled in time windows (startTime and endTime are required by
// the API), oldest first, paging with nextToken, through a token bucket and
// with exponential backoff and jitter on throttling and transient errors.
// Every poll re-reads an overlap before the checkpoint in case entries show
// late; the index's dedupe by id drops what was already stored and counts
// it as duplicates.
//
// The SDK's entries are mapped back to the API's JSON (lowerCamel names,
// RFC 3339 times) and handed to ingest.Ingester.Input as
// `aws codecatalyst list-event-logs` output, {"items":[...]}. The
// checkpoint (key "codecatalyst:<space>") is the end of the newest window
// read completely, in RFC 3339, stored with the window's last page.
//
// # Bearer token
//
// The SDK (service/codecatalyst v1.22) takes the token only from
// aws.Config.BearerAuthTokenProvider, which config.LoadDefaultConfig fills
// from an sso-session in the shared config file; unlike Bedrock's client it
// does not read an AWS_BEARER_TOKEN_* variable itself. The source therefore
// looks, in order, at the token_file parameter (read on every request, so a
// rotated file is picked up), the environment variable
// AWS_BEARER_TOKEN_CODECATALYST, then the SDK's provider.
package catalyst
