package sqssrc

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// snsEnvelope wraps message as SNS delivers it to SQS without raw delivery.
func snsEnvelope(message string) string {
	b, _ := json.Marshal(map[string]string{
		"Type":             "Notification",
		"MessageId":        "5f8e3c2a-0000-4000-8000-000000000001",
		"TopicArn":         "arn:aws:sns:us-east-1:123456789012:trail",
		"Message":          message,
		"Timestamp":        "2024-02-01T10:00:00.000Z",
		"SignatureVersion": "1",
		"Signature":        "c2ln",
		"SigningCertURL":   "https://sns.us-east-1.amazonaws.com/SimpleNotificationService.pem",
		"UnsubscribeURL":   "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
	})
	return string(b)
}

func s3EventBody(name string, keys ...string) string {
	var recs []string
	for _, k := range keys {
		recs = append(recs, `{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventName":"`+name+`","s3":{"s3SchemaVersion":"1.0","bucket":{"name":"trail","arn":"arn:aws:s3:::trail"},"object":{"key":"`+k+`","size":100}}}`)
	}
	return `{"Records":[` + strings.Join(recs, ",") + `]}`
}

func TestParseNotice(t *testing.T) {
	const notice = `{"s3Bucket":"trail","s3ObjectKey":["AWSLogs/1/a.json.gz","AWSLogs/1/b.json.gz"]}`
	ab := []object{{"trail", "AWSLogs/1/a.json.gz"}, {"trail", "AWSLogs/1/b.json.gz"}}
	for _, tc := range []struct {
		name    string
		body    string
		want    []object
		wantErr string
	}{
		{name: "sns envelope", body: snsEnvelope(notice), want: ab},
		{name: "raw delivery", body: notice, want: ab},
		{name: "single key string", body: `{"s3Bucket":"trail","s3ObjectKey":"k"}`, want: []object{{"trail", "k"}}},
		{name: "s3 event url-encoded", body: s3EventBody("ObjectCreated:Put", "AWSLogs/1/my+file%3D1%2B2.json.gz", "x/%C3%A9t%C3%A9.gz"),
			want: []object{{"trail", "AWSLogs/1/my file=1+2.json.gz"}, {"trail", "x/été.gz"}}},
		{name: "s3 event through sns", body: snsEnvelope(s3EventBody("ObjectCreated:CompleteMultipartUpload", "k")), want: []object{{"trail", "k"}}},
		{name: "s3 test event", body: `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-02-01T10:00:00.000Z","Bucket":"trail","RequestId":"1","HostId":"2"}`},
		{name: "s3 removal only", body: s3EventBody("ObjectRemoved:Delete", "k")},
		{name: "not json", body: `hello`, wantErr: "not a JSON object"},
		{name: "broken json", body: `{"s3Bucket":`, wantErr: "not valid JSON"},
		{name: "empty", body: ``, wantErr: "empty message body"},
		{name: "no keys", body: `{"s3Bucket":"trail","s3ObjectKey":[]}`, wantErr: "without object keys"},
		{name: "no bucket", body: `{"s3ObjectKey":["k"]}`, wantErr: "without s3Bucket"},
		{name: "keys not strings", body: `{"s3Bucket":"b","s3ObjectKey":[1]}`, wantErr: "not a list of keys"},
		{name: "a trail file is not a notice", body: `{"Records":[{"eventSource":"codecommit.amazonaws.com","eventName":"GitPush"}]}`, wantErr: "without S3 event records"},
		{name: "bad escape", body: s3EventBody("ObjectCreated:Put", "a%zz"), wantErr: "record 0"},
		{name: "sns bad inner", body: snsEnvelope(`nope`), wantErr: "SNS Message: message body is not a JSON object"},
		{name: "sns subscription confirmation", body: `{"Type":"SubscriptionConfirmation","Message":"You have chosen to subscribe"}`, wantErr: "not a Notification"},
		{name: "nested envelopes", body: snsEnvelope(snsEnvelope(notice)), wantErr: "inside an SNS envelope"},
		{name: "something else", body: `{"hello":"world"}`, wantErr: "neither"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := parseNotice([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(n.Objects, tc.want) {
				t.Fatalf("objects = %v, want %v", n.Objects, tc.want)
			}
			if len(n.Objects) == 0 && n.Why == "" {
				t.Error("nothing to do but no reason given")
			}
		})
	}
}

func TestIsDigest(t *testing.T) {
	for key, want := range map[string]bool{
		"AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/02/01/x.json.gz":  true,
		"CloudTrail-Digest/x.json.gz":                                            true,
		"AWSLogs/123456789012/CloudTrail/us-east-1/2024/02/01/x.json.gz":         false,
		"AWSLogs/123456789012/CloudTrail-Insight/us-east-1/2024/02/01/x.json.gz": false,
	} {
		if got := isDigest(key); got != want {
			t.Errorf("isDigest(%q) = %v", key, got)
		}
	}
}

func FuzzParseNotice(f *testing.F) {
	f.Add([]byte(snsEnvelope(`{"s3Bucket":"b","s3ObjectKey":["k"]}`)))
	f.Add([]byte(s3EventBody("ObjectCreated:Put", "a+b%20c")))
	f.Add([]byte(`{"s3Bucket":"b","s3ObjectKey":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := parseNotice(b)
		if err != nil {
			return
		}
		for _, o := range n.Objects {
			if o.Bucket == "" || o.Key == "" {
				t.Fatalf("object without bucket or key: %+v", o)
			}
		}
	})
}
