// Package awsretry paces and retries calls to polled AWS APIs (LookupEvents,
// ListEventLogs): every attempt waits for a rate limiter token, and
// throttling or transient errors are retried with exponential backoff and
// jitter. The SDK's own retryer is off for these clients so that retries
// too go through the limiter.
package awsretry

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"golang.org/x/time/rate"
)

// Policy says how calls are paced and retried.
type Policy struct {
	Limiter   *rate.Limiter // paces every attempt
	Retries   int           // retries after the first attempt
	Base, Max time.Duration // backoff bounds
}

// Outcome of one attempt, for metrics.
const (
	OK        = "ok"
	Throttled = "throttled"
	Failed    = "error"
)

var (
	throttles  = retry.ThrottleErrorCode{Codes: retry.DefaultThrottleErrorCodes}
	retryables = retry.IsErrorRetryables(retry.DefaultRetryables)
)

// Do calls call until it succeeds, fails with an error retrying cannot fix,
// runs out of retries, or ctx ends. observe (may be nil) sees each attempt's
// outcome and, for a retry, the delay before the next one.
func Do[T any](ctx context.Context, p Policy, observe func(outcome string, attempt int, delay time.Duration, err error), call func(context.Context) (T, error)) (T, error) {
	var zero T
	for attempt := 0; ; attempt++ {
		if err := p.Limiter.Wait(ctx); err != nil {
			return zero, err
		}
		out, err := call(ctx)
		if err == nil {
			if observe != nil {
				observe(OK, attempt, 0, nil)
			}
			return out, nil
		}
		if ctx.Err() != nil {
			return zero, ctx.Err()
		}
		throttled := throttles.IsErrorThrottle(err).Bool()
		outcome := Failed
		if throttled {
			outcome = Throttled
		}
		if (!throttled && !retryables.IsErrorRetryable(err).Bool()) || attempt >= p.Retries {
			if observe != nil {
				observe(outcome, attempt, 0, err)
			}
			return zero, err
		}
		d := Backoff(p.Base, p.Max, attempt)
		if observe != nil {
			observe(outcome, attempt, d, err)
		}
		if err := Sleep(ctx, d); err != nil {
			return zero, err
		}
	}
}

// Backoff is base*2^attempt capped at max, with "equal jitter" (half fixed,
// half random): full jitter may retry at once, which against a throttling
// API only spends the next token on another refusal.
func Backoff(base, max time.Duration, attempt int) time.Duration {
	d := max
	if attempt < 30 && base<<attempt < max {
		d = base << attempt
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
