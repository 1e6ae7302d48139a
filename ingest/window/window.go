// Package window walks the time windows that polled sources (Event History,
// CodeCatalyst event logs) read: from the checkpoint minus an overlap, since
// events appear late, up to now, oldest first.
package window

import "time"

// Walk calls read for each window [from, to) between the start of what to
// read and now, oldest first. start is the earliest time to read; covered
// is the end of the newest window read completely before (zero: none), and
// reading resumes overlap before it, but never before start. read gets the
// checkpoint to store with the window: it never moves back, since the first
// window may end inside the overlap. Walk stops at read's first error.
func Walk(now, start, covered time.Time, overlap, size time.Duration, read func(from, to, covered time.Time) error) error {
	from := start
	if back := covered.Add(-overlap); !covered.IsZero() && back.After(from) {
		from = back
	}
	for from.Before(now) {
		to := from.Add(size)
		if to.After(now) {
			to = now
		}
		if to.After(covered) {
			covered = to
		}
		if err := read(from, to, covered); err != nil {
			return err
		}
		from = to
	}
	return nil
}
