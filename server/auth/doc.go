// Package auth authenticates gRPC callers and says what each may do.
//
// A caller is known by a bearer token (metadata "authorization: Bearer
// TOKEN") or by the verified client certificate of a mutual TLS connection.
// Identities come from a JSON file that holds only SHA-256 hashes of the
// tokens, never the tokens; Reload reads it again (the server does on
// SIGHUP) and keeps the previous identities when the new file is bad.
//
// Each identity has the RPC classes it may call (search: Search and
// GetEvent; subscribe; ingest; admin: everything, Stats in full) and a scope
// of accounts, regions and services. The scope is not enforced here: the
// server passes it into the index query (index.Scope), so nothing outside it
// is counted or found. Health is open to all; reflection to any
// authenticated caller.
package auth
