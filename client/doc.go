// Package client is the Go library for codetrail servers: dial with
// functional options, search (one page or every page), get one event, read
// stats and send inputs to the Ingest RPC.
package client
