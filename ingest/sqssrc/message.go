package sqssrc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// object is one S3 object a notice names.
type object struct {
	Bucket, Key string
}

// notice is what one message body asks for: the objects to ingest, or
// nothing (an S3 test event, events other than ObjectCreated).
type notice struct {
	Objects []object
	// Why is set when there is nothing to do, for the debug log.
	Why string
}

// body is the union of the shapes a message may have. encoding/json matches
// names case-insensitively, which is harmless here: the shapes do not share
// names that differ only in case.
type body struct {
	// SNS envelope.
	Type    string  `json:"Type"`
	Message *string `json:"Message"`
	// CloudTrail notice (the envelope's Message, or raw delivery).
	S3Bucket    string          `json:"s3Bucket"`
	S3ObjectKey json.RawMessage `json:"s3ObjectKey"`
	// S3 event notification.
	Records []s3Record `json:"Records"`
	// S3 test event ("s3:TestEvent"), sent when notifications are set up.
	Event string `json:"Event"`
}

type s3Record struct {
	EventSource string `json:"eventSource"`
	EventName   string `json:"eventName"`
	S3          struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key string `json:"key"`
		} `json:"object"`
	} `json:"s3"`
}

// parseNotice reads a message body: an SNS envelope (CloudTrail's notice or
// an S3 event published to SNS, in Message), a CloudTrail notice
// {"s3Bucket":..., "s3ObjectKey":[...]} delivered raw, or an S3 event
// notification {"Records":[{"eventSource":"aws:s3",...}]} whose keys are
// URL-encoded. The error says why a body cannot be understood.
func parseNotice(raw []byte) (notice, error) { return parseBody(raw, true) }

func parseBody(raw []byte, envelopeOK bool) (notice, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return notice{}, errors.New("empty message body")
	}
	if raw[0] != '{' {
		return notice{}, errors.New("message body is not a JSON object")
	}
	var b body
	if err := json.Unmarshal(raw, &b); err != nil {
		return notice{}, fmt.Errorf("message body is not valid JSON: %w", err)
	}
	switch {
	case b.Message != nil || b.Type != "":
		if !envelopeOK {
			return notice{}, errors.New("SNS envelope inside an SNS envelope")
		}
		if b.Type != "Notification" {
			return notice{}, fmt.Errorf("SNS message of type %q, not a Notification", b.Type)
		}
		if b.Message == nil {
			return notice{}, errors.New("SNS notification without Message")
		}
		n, err := parseBody([]byte(*b.Message), false)
		if err != nil {
			return notice{}, fmt.Errorf("SNS Message: %w", err)
		}
		return n, nil
	case b.S3Bucket != "" || b.S3ObjectKey != nil:
		return cloudTrailNotice(b)
	case b.Records != nil:
		return s3Event(b.Records)
	case b.Event == "s3:TestEvent":
		return notice{Why: "S3 test event"}, nil
	}
	return notice{}, errors.New("neither a CloudTrail notice, an S3 event notification nor an SNS envelope")
}

func cloudTrailNotice(b body) (notice, error) {
	if b.S3Bucket == "" {
		return notice{}, errors.New("CloudTrail notice without s3Bucket")
	}
	var keys []string
	if err := json.Unmarshal(b.S3ObjectKey, &keys); err != nil {
		// Be lenient about a single key given as a string.
		var k string
		if json.Unmarshal(b.S3ObjectKey, &k) != nil {
			return notice{}, errors.New("CloudTrail notice: s3ObjectKey is not a list of keys")
		}
		keys = []string{k}
	}
	var n notice
	for _, k := range keys {
		if k == "" {
			return notice{}, errors.New("CloudTrail notice: empty object key")
		}
		n.Objects = append(n.Objects, object{Bucket: b.S3Bucket, Key: k})
	}
	if len(n.Objects) == 0 {
		return notice{}, errors.New("CloudTrail notice without object keys")
	}
	return n, nil
}

func s3Event(recs []s3Record) (notice, error) {
	var n notice
	seen := 0
	for i, r := range recs {
		if r.EventSource != "aws:s3" {
			continue
		}
		seen++
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			continue
		}
		if r.S3.Bucket.Name == "" || r.S3.Object.Key == "" {
			return notice{}, fmt.Errorf("S3 event record %d without bucket or key", i)
		}
		// S3 event keys are URL-encoded form values (a space is "+").
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			return notice{}, fmt.Errorf("S3 event record %d: key %q: %w", i, r.S3.Object.Key, err)
		}
		n.Objects = append(n.Objects, object{Bucket: r.S3.Bucket.Name, Key: key})
	}
	switch {
	case seen == 0:
		return notice{}, errors.New("Records without S3 event records (eventSource aws:s3)")
	case len(n.Objects) == 0:
		n.Why = "S3 events other than ObjectCreated"
	}
	return n, nil
}

// isDigest reports whether key is a CloudTrail digest file, which carries
// no events (the integrity check reads digests from the s3:// source).
func isDigest(key string) bool {
	return strings.HasPrefix(key, "CloudTrail-Digest/") || strings.Contains(key, "/CloudTrail-Digest/")
}
