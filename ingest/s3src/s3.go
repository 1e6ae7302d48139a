package s3src

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// object is one listed key.
type object struct {
	key      string
	size     int64
	modified time.Time
}

// discover lists orgs, accounts, kinds and regions with delimited listings
// and adds the streams not known yet. On error the streams found so far are
// kept.
func (s *Source) discover(ctx context.Context) error {
	base := s.cfg.logsPrefix()
	tops, err := s.listPrefixes(ctx, base)
	if err != nil {
		return err
	}
	type acct struct{ org, id, prefix string }
	var accts []acct
	for _, p := range tops {
		switch name := lastPart(p); {
		case accountRE.MatchString(name):
			accts = append(accts, acct{id: name, prefix: p})
		case orgRE.MatchString(name):
			subs, err := s.listPrefixes(ctx, p)
			if err != nil {
				return err
			}
			for _, sp := range subs {
				if id := lastPart(sp); accountRE.MatchString(id) {
					accts = append(accts, acct{org: name, id: id, prefix: sp})
				}
			}
		}
	}
	for _, a := range accts {
		if len(s.cfg.Accounts) > 0 && !slices.Contains(s.cfg.Accounts, a.id) {
			continue
		}
		kinds, err := s.listPrefixes(ctx, a.prefix)
		if err != nil {
			return err
		}
		for _, kp := range kinds {
			kind := lastPart(kp)
			if kind != kindTrail && kind != kindInsight && kind != kindDigest {
				continue
			}
			regions, err := s.listPrefixes(ctx, kp)
			if err != nil {
				return err
			}
			for _, rp := range regions {
				region := lastPart(rp)
				if !regionRE.MatchString(region) || (len(s.cfg.Regions) > 0 && !slices.Contains(s.cfg.Regions, region)) {
					continue
				}
				who := a.id
				if a.org != "" {
					who = a.org + "/" + a.id
				}
				ck := "s3:" + s.cfg.Bucket + "/" + s.cfg.Prefix + ":" + who + ":" + region + ":" + kind
				if _, ok := s.streams[ck]; !ok {
					s.streams[ck] = &stream{ckKey: ck, prefix: rp, org: a.org, account: a.id, region: region, kind: kind}
				}
			}
		}
	}
	return nil
}

// lastPart is the last folder name of a "a/b/c/" prefix.
func lastPart(p string) string {
	p = strings.TrimSuffix(p, "/")
	return p[strings.LastIndexByte(p, '/')+1:]
}

// listPrefixes returns the folders directly under prefix.
func (s *Source) listPrefixes(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.cfg.Bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/"),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", s.cfg.Bucket, prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			if v := aws.ToString(cp.Prefix); v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// listObjects returns the keys under prefix after startAfter, in key order.
func (s *Source) listObjects(ctx context.Context, prefix, startAfter string) ([]object, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.cfg.Bucket), Prefix: aws.String(prefix)}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	var out []object
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s after %q: %w", s.cfg.Bucket, prefix, startAfter, err)
		}
		for _, o := range page.Contents {
			out = append(out, object{key: aws.ToString(o.Key), size: aws.ToInt64(o.Size), modified: aws.ToTime(o.LastModified)})
		}
	}
	slices.SortFunc(out, func(a, b object) int { return strings.Compare(a.key, b.key) })
	out = slices.CompactFunc(out, func(a, b object) bool { return a.key == b.key })
	return out, nil
}

// fetch downloads one object whole. The SDK retries throttling, 5xx and
// network errors before the body; a body that breaks off is fetched again
// here, with the same backoff.
func (s *Source) fetch(ctx context.Context, o object) fetched {
	if o.size > s.cfg.MaxObjectBytes {
		return fetched{problem: fmt.Sprintf("object of %d bytes is over the %d byte limit", o.size, s.cfg.MaxObjectBytes), reason: "too_large"}
	}
	var err error
	for attempt := 0; attempt < s.cfg.Attempts; attempt++ {
		if attempt > 0 {
			d, _ := fullJitter{max: s.cfg.MaxBackoff}.BackoffDelay(attempt, err)
			select {
			case <-ctx.Done():
				return fetched{err: ctx.Err()}
			case <-time.After(d):
			}
		}
		var out *s3.GetObjectOutput
		out, err = s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(o.key)})
		if err != nil {
			if reason, code := permanent(err); reason != "" {
				return fetched{problem: fmt.Sprintf("get s3://%s/%s: %s", s.cfg.Bucket, o.key, code), reason: reason}
			}
			// The SDK has already retried what is worth retrying.
			return fetched{err: fmt.Errorf("get s3://%s/%s: %w", s.cfg.Bucket, o.key, err)}
		}
		if n := aws.ToInt64(out.ContentLength); n > s.cfg.MaxObjectBytes {
			_ = out.Body.Close()
			return fetched{problem: fmt.Sprintf("object of %d bytes is over the %d byte limit", n, s.cfg.MaxObjectBytes), reason: "too_large"}
		}
		var buf bytes.Buffer
		if n := aws.ToInt64(out.ContentLength); n > 0 {
			buf.Grow(int(n))
		}
		_, err = buf.ReadFrom(io.LimitReader(out.Body, s.cfg.MaxObjectBytes+1))
		_ = out.Body.Close()
		if err != nil {
			if ctx.Err() != nil {
				return fetched{err: ctx.Err()}
			}
			err = fmt.Errorf("read s3://%s/%s: %w", s.cfg.Bucket, o.key, err)
			continue
		}
		if int64(buf.Len()) > s.cfg.MaxObjectBytes {
			return fetched{problem: fmt.Sprintf("object is over the %d byte limit", s.cfg.MaxObjectBytes), reason: "too_large"}
		}
		metricDownloaded.WithLabelValues(s.name).Inc()
		metricBytes.WithLabelValues(s.name).Add(float64(buf.Len()))
		return fetched{data: buf.Bytes()}
	}
	return fetched{err: err}
}

// permanent classifies errors that retrying cannot fix: the object is gone
// or we may not read it (or it is archived). It returns the metric reason
// and the error code.
func permanent(err error) (reason, code string) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return "", ""
	}
	switch code := ae.ErrorCode(); code {
	case "NoSuchKey", "NotFound":
		return "not_found", code
	case "AccessDenied", "Forbidden":
		return "access_denied", code
	case "InvalidObjectState":
		return "archived", code
	}
	return "", ""
}
