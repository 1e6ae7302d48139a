// Package docs holds the operator and user documentation of codetrail
// (query.md, api.md, operations.md, scaling.md, aws.md, security.md), a
// storage layout behind a flag (blocks.md) and the deployment examples under
// deploy/. It has no code: its tests keep the documents true
// to the code. Every example query of query.md must parse, and, against the
// demo dataset, find what the text says it finds; the systemd unit and the
// Kubernetes manifest may only use flags that `codetrail serve` has, with
// ports, paths and probes that agree; relative links must point at files and
// headings that exist.
package docs
