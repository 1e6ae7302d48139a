// Package gateway serves the gRPC API as HTTP/JSON (grpc-gateway v2, routes
// in proto/gateway.yaml), with the OpenAPI document generated from the
// protos at /openapi.json and Subscribe also as server-sent events at
// /v1/subscribe/sse.
//
// The gateway talks to the gRPC server in process, over an in-memory
// listener the server also serves, so every HTTP call goes through the same
// interceptors (authentication, scopes, logging, metrics) as a gRPC call.
// Bearer tokens pass through as the authorization metadata; the common name
// of a verified HTTP client certificate passes as metadata that the
// authenticator trusts only on that in-memory connection (Creds marks it).
package gateway
