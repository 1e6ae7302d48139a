package main

import (
	"fmt"
	"time"
)

// daysFlag is a duration flag that also takes days and weeks ("90d", "2w").
type daysFlag struct{ d *time.Duration }

func (f daysFlag) String() string {
	if f.d == nil || *f.d == 0 {
		return "0"
	}
	if *f.d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", *f.d/(24*time.Hour))
	}
	return f.d.String()
}

func (f daysFlag) Set(s string) error {
	if s == "0" || s == "" {
		*f.d = 0
		return nil
	}
	d, ok := parseAgo(s)
	if !ok {
		return fmt.Errorf("%q is not a duration such as 90d, 2w or 12h", s)
	}
	*f.d = d
	return nil
}
