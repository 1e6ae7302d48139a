package sqssrc

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		raw     string
		want    Config
		wantErr string
	}{
		{
			name: "emulator",
			raw:  "sqs://127.0.0.1:4566/000000000000/trail-notices?endpoint=http://127.0.0.1:4566&s3_endpoint=http://127.0.0.1:9000&path_style=true&region=us-east-1&visibility=60s&wait=20s&parallel=4",
			want: Config{
				QueueURL: "http://127.0.0.1:4566/000000000000/trail-notices", Endpoint: "http://127.0.0.1:4566",
				S3Endpoint: "http://127.0.0.1:9000", PathStyle: true, Region: "us-east-1",
				Visibility: 60 * time.Second, Wait: 20 * time.Second, Parallel: 4,
			},
		},
		{
			name: "aws defaults",
			raw:  "sqs://sqs.eu-west-1.amazonaws.com/123456789012/trail-notices",
			want: Config{QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/trail-notices",
				Visibility: 60 * time.Second, Wait: 20 * time.Second, Parallel: 8},
		},
		{
			name: "https endpoint keeps https",
			raw:  "sqs://q.example/1/q?endpoint=https://vpce.example&wait=0s",
			want: Config{QueueURL: "https://q.example/1/q", Endpoint: "https://vpce.example",
				Visibility: 60 * time.Second, Parallel: 8},
		},
		{
			name: "queue URL after sqs://",
			raw:  "sqs://https://sqs.eu-west-1.amazonaws.com/123456789012/trail-notices?parallel=2",
			want: Config{QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/trail-notices",
				Visibility: 60 * time.Second, Wait: 20 * time.Second, Parallel: 2},
		},
		{
			name: "http queue URL after sqs://",
			raw:  "sqs://http://127.0.0.1:4566/000000000000/q",
			want: Config{QueueURL: "http://127.0.0.1:4566/000000000000/q", Visibility: 60 * time.Second, Wait: 20 * time.Second, Parallel: 8},
		},
		{name: "unknown params named", raw: "sqs://h/1/q?bogus=1&also=2&region=x", wantErr: "unknown parameters in \"sqs://h/1/q?bogus=1&also=2&region=x\": also, bogus"},
		{name: "not sqs", raw: "s3://h/1/q", wantErr: "not sqs://"},
		{name: "no queue", raw: "sqs://h", wantErr: "not http(s)://host/account/queue"},
		{name: "bad bool", raw: "sqs://h/1/q?path_style=maybe", wantErr: "path_style"},
		{name: "bad duration", raw: "sqs://h/1/q?visibility=soon", wantErr: "visibility"},
		{name: "fractional visibility", raw: "sqs://h/1/q?visibility=1500ms", wantErr: "whole seconds"},
		{name: "wait too long", raw: "sqs://h/1/q?wait=21s", wantErr: "between 0s and 20s"},
		{name: "parallel", raw: "sqs://h/1/q?parallel=0", wantErr: "parallel must be positive"},
		{name: "bad endpoint", raw: "sqs://h/1/q?endpoint=localhost:4566", wantErr: "not an http(s) URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.raw)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse error = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestNewNameAndRegion(t *testing.T) {
	cfg, err := Parse("sqs://sqs.eu-west-1.amazonaws.com/123456789012/trail-notices")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Name(), "sqs://sqs.eu-west-1.amazonaws.com/123456789012/trail-notices"; got != want {
		t.Errorf("Name = %q, want %q", got, want)
	}
	if got := s.sqs.Options().Region; got != "eu-west-1" {
		t.Errorf("region = %q, want eu-west-1 from the queue host", got)
	}
	if _, err := New(Config{QueueURL: cfg.QueueURL}, nil); err == nil {
		t.Error("New accepted a zero Visibility")
	}
}
