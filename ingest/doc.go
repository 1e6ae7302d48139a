// Package ingest reads audit records from where they are (local files and
// directories, standard input, the Ingest RPC), decodes them (package
// ingest/decode, index/record) and stores them in the index in large
// group-committed batches, counting and reporting every bad record or input
// without letting it stop the rest.
package ingest
