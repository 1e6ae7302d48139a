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
