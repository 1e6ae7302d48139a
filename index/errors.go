package index

import "errors"

// ErrNotFound is returned by Get when no event has the id.
var ErrNotFound = errors.New("index: event not found")

// ErrInvalid wraps every error caused by a bad request (bad field, bad
// interval, bad page size); the message says what was wrong.
var ErrInvalid = errors.New("index: invalid request")

// ErrBadToken is returned for a page token or cursor that is malformed,
// altered, or belongs to another query.
var ErrBadToken = errors.New("index: bad page token or cursor")

// ErrCompacted is returned for a cursor older than retained history.
var ErrCompacted = errors.New("index: cursor is older than retained history")

// ErrClosed is returned by calls on a closed Store.
var ErrClosed = errors.New("index: store is closed")

// ErrDiskFull is returned by Put when the data directory's file system has
// less free space than Config.MinFreeBytes: nothing is written, and a later
// Put succeeds once space returns. Bleve does not recover cleanly from a
// write that fails for want of space, so the store stops short of it.
var ErrDiskFull = errors.New("index: disk nearly full")
