package s3src

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/codetrail/codetrail/ingest"
	"github.com/codetrail/codetrail/ingest/integrity"
)

// maxDigestObject bounds one digest object as stored (gzip). Real ones are
// a few KiB to a few hundred KiB.
const maxDigestObject = 16 << 20

// newChecker returns the integrity checker of s, asking the store for the
// hashes of files stored before a restart.
func (s *Source) newChecker(in *ingest.Ingester, keys integrity.PublicKeys) (*integrity.Checker, error) {
	cfg := integrity.DefaultConfig()
	cfg.Ingested = func(bucket, key string) ([sha256.Size]byte, bool, error) {
		var sum [sha256.Size]byte
		b, err := in.Checkpoint(integrity.StoreKey(bucket, key))
		if err != nil || len(b) != sha256.Size {
			return sum, false, err
		}
		copy(sum[:], b)
		return sum, true, nil
	}
	return integrity.New(cfg, keys)
}

// cloudTrailKeys is the PublicKeys of ListPublicKeys, with a client per
// region built from the source's AWS config.
func (s *Source) cloudTrailKeys() integrity.PublicKeys {
	clients := map[string]*cloudtrail.Client{}
	return integrity.CloudTrailKeys(func(region string) integrity.ListPublicKeysAPI {
		// Called from verify only, one poll at a time.
		c, ok := clients[region]
		if !ok {
			c = cloudtrail.NewFromConfig(s.awsCfg, func(o *cloudtrail.Options) { o.Region = region })
			clients[region] = c
		}
		return c
	})
}

// logSum is the hash a digest records for body: SHA-256 of the inflated
// file. A body that does not inflate gets the hash of its bytes, which no
// digest records: the check reports it as altered, not as missing.
func logSum(body []byte) [sha256.Size]byte {
	sum, err := integrity.HashLog(body)
	if err != nil {
		return sha256.Sum256(body)
	}
	return sum
}

// verify reads the digests listed since the last call and checks every
// digest held against what was stored, then reports the result with
// in.SetIntegrity. Digests that cannot be read now are tried next poll.
func (s *Source) verify(ctx context.Context, in *ingest.Ingester) {
	if s.checker == nil {
		return
	}
	refs := s.Digests()
	added := 0
	for _, d := range refs {
		if s.verified[d.Key] {
			continue
		}
		body, sig, err := s.getDigest(ctx, d.Key)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if reason, _ := permanent(err); reason != "" {
				in.Problem(s.name, d.Key, "", "digest: "+err.Error())
				s.verified[d.Key] = true
				continue
			}
			in.Fail(s.name, err)
			continue
		}
		s.checker.AddDigest(integrity.Digest{Bucket: d.Bucket, Key: d.Key, Account: d.Account, Region: d.Region, Body: body, Signature: sig})
		s.verified[d.Key] = true
		added++
	}
	if len(s.verified) == 0 {
		return
	}
	r, err := s.checker.Check(ctx)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		s.log.Warn("integrity check incomplete", "err", err)
	}
	if added > 0 || !r.OK() {
		s.log.Info("integrity checked", "digests", len(s.verified), "problems", r.Problems)
	}
	in.SetIntegrity(s.name, ingest.Integrity{Report: r, Checked: time.Now(), Err: errText(err)})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// getDigest downloads one digest file with its x-amz-meta-signature.
func (s *Source) getDigest(ctx context.Context, key string) (body []byte, signature string, err error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(key)})
	if err != nil {
		return nil, "", fmt.Errorf("get digest s3://%s/%s: %w", s.cfg.Bucket, key, err)
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(out.Body, maxDigestObject+1)); err != nil {
		return nil, "", fmt.Errorf("read digest s3://%s/%s: %w", s.cfg.Bucket, key, err)
	}
	if buf.Len() > maxDigestObject {
		// Reported by the checker as malformed rather than dropped.
		return buf.Bytes()[:0], "", nil
	}
	// The SDK strips x-amz-meta- and lower-cases the rest.
	return buf.Bytes(), out.Metadata["signature"], nil
}
