package integrity

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// PublicKey is one CloudTrail digest signing key.
type PublicKey struct {
	// Fingerprint is the hex MD5 of DER, as digestPublicKeyFingerprint
	// names it. Empty means: compute it from DER.
	Fingerprint string
	// DER is the RSA public key, DER-encoded PKCS#1 (RSAPublicKey), as
	// ListPublicKeys returns it. PKIX (SubjectPublicKeyInfo) is accepted too.
	DER           []byte
	ValidityStart time.Time
	ValidityEnd   time.Time
}

// fingerprint returns k's fingerprint in lower-case hex.
func (k PublicKey) fingerprint() string {
	if k.Fingerprint != "" {
		return strings.ToLower(k.Fingerprint)
	}
	return Fingerprint(k.DER)
}

// Fingerprint returns the hex MD5 of a DER public key, the form CloudTrail
// uses for digestPublicKeyFingerprint.
func Fingerprint(der []byte) string {
	sum := md5.Sum(der)
	return hex.EncodeToString(sum[:])
}

// PublicKeys returns the signing keys of region valid at some time in
// [start, end] (CloudTrail signs each region's digests with that region's
// keys). The caller owns the returned slice. It may block on the network
// and must honour ctx.
type PublicKeys func(ctx context.Context, region string, start, end time.Time) ([]PublicKey, error)

// StaticKeys returns a PublicKeys that always returns keys, whatever the
// range (for tests and for offline checks with keys saved beforehand).
func StaticKeys(keys ...PublicKey) PublicKeys {
	return func(context.Context, string, time.Time, time.Time) ([]PublicKey, error) {
		return slices.Clone(keys), nil
	}
}

// ListPublicKeysAPI is the part of *cloudtrail.Client CloudTrailKeys uses.
type ListPublicKeysAPI interface {
	ListPublicKeys(ctx context.Context, in *cloudtrail.ListPublicKeysInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.ListPublicKeysOutput, error)
}

// CloudTrailKeys returns a PublicKeys over CloudTrail ListPublicKeys
// (permission cloudtrail:ListPublicKeys), following NextToken. Keys are
// per region: client returns the client that calls the given region.
func CloudTrailKeys(client func(region string) ListPublicKeysAPI) PublicKeys {
	return func(ctx context.Context, region string, start, end time.Time) ([]PublicKey, error) {
		in := &cloudtrail.ListPublicKeysInput{StartTime: aws.Time(start), EndTime: aws.Time(end)}
		var out []PublicKey
		p := cloudtrail.NewListPublicKeysPaginator(client(region), in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list public keys of %s %s..%s: %w", region, start.Format(time.RFC3339), end.Format(time.RFC3339), err)
			}
			for _, k := range page.PublicKeyList {
				pk := PublicKey{Fingerprint: aws.ToString(k.Fingerprint), DER: k.Value}
				if k.ValidityStartTime != nil {
					pk.ValidityStart = k.ValidityStartTime.UTC()
				}
				if k.ValidityEndTime != nil {
					pk.ValidityEnd = k.ValidityEndTime.UTC()
				}
				out = append(out, pk)
			}
		}
		return out, nil
	}
}
