package awsretry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"go.uber.org/goleak"
	"golang.org/x/time/rate"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBackoffGrowsWithinBounds(t *testing.T) {
	for attempt := 0; attempt < 40; attempt++ {
		d := Backoff(100*time.Millisecond, 5*time.Second, attempt)
		ceil := min(100*time.Millisecond<<min(attempt, 20), 5*time.Second)
		if d < ceil/2 || d > ceil {
			t.Fatalf("attempt %d: %s outside [%s, %s]", attempt, d, ceil/2, ceil)
		}
	}
}

func TestDo(t *testing.T) {
	throttle := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}
	for _, tc := range []struct {
		name     string
		errs     []error // returned by successive attempts, then success
		retries  int
		wantErr  error
		outcomes []string
	}{
		{"first try", nil, 3, nil, []string{OK}},
		{"throttled then ok", []error{throttle, throttle}, 3, nil, []string{Throttled, Throttled, OK}},
		{"not retryable", []error{denied}, 3, denied, []string{Failed}},
		{"out of retries", []error{throttle, throttle, throttle}, 1, throttle, []string{Throttled, Throttled}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Policy{Limiter: rate.NewLimiter(rate.Inf, 1), Retries: tc.retries, Base: time.Millisecond, Max: 2 * time.Millisecond}
			var got []string
			n := 0
			v, err := Do(context.Background(), p, func(o string, _ int, _ time.Duration, _ error) { got = append(got, o) },
				func(context.Context) (int, error) {
					n++
					if n <= len(tc.errs) {
						return 0, tc.errs[n-1]
					}
					return 42, nil
				})
			if !errors.Is(err, tc.wantErr) || (err == nil && v != 42) {
				t.Fatalf("got %d, %v; want error %v", v, err, tc.wantErr)
			}
			if len(got) != len(tc.outcomes) {
				t.Fatalf("outcomes %v, want %v", got, tc.outcomes)
			}
			for i := range got {
				if got[i] != tc.outcomes[i] {
					t.Fatalf("outcomes %v, want %v", got, tc.outcomes)
				}
			}
		})
	}
}
