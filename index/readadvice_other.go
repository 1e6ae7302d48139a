//go:build !linux

package index

// readAdviser does nothing where madvise(MADV_RANDOM) is not available.
type readAdviser struct{}

func newReadAdviser(string) *readAdviser { return &readAdviser{} }

func (a *readAdviser) pass() (int, error) { return 0, nil }
