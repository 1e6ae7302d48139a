package server

import (
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// checkRecordStruct fails unless recordStruct renders in exactly as
// protojson does, and fails exactly when protojson fails.
func checkRecordStruct(t *testing.T, in []byte) {
	t.Helper()
	var want structpb.Struct
	werr := protojson.Unmarshal(in, &want)
	got, err := recordStruct(in)
	switch {
	case werr != nil && err == nil:
		t.Fatalf("%q: protojson fails (%v), recordStruct gives %v", in, werr, got)
	case werr == nil && err != nil:
		t.Fatalf("%q: protojson gives %v, recordStruct fails: %v", in, &want, err)
	case werr == nil && !proto.Equal(got, &want):
		t.Fatalf("%q:\n got %v\nwant %v", in, got, &want)
	}
}

func TestRecordStruct(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"empty", `{}`},
		{"record", `{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/Jane"},"readOnly":false,"managementEvent":true,"requestParameters":null,"resources":[{"ARN":"arn:aws:codebuild:us-east-1:111122223333:project/p"}],"n":[1,-0,2.5e3,0.1]}`},
		{"escapes", `{"a\"b":"\u00e9\ud83d\ude00\n\t\\\/","c":"<\u003e"}`},
		{"lone surrogate", `{"s":"\ud800x"}`},
		{"big numbers", `{"i":12345678901234567890,"f":1e308,"neg":-1E-5}`},
		{"number out of range", `{"f":1e400}`},
		{"key twice", `{"a":1,"a":2}`},
		{"key twice inside", `{"o":{"a":1,"a":2}}`},
		{"invalid utf-8 value", "{\"a\":\"\xff\"}"},
		{"invalid utf-8 key", "{\"\xff\":1}"},
		{"not an object", `[1,2]`},
		{"lenient number", `{"a":NaN}`},
		{"leading zero", `{"a":01}`},
		{"trailing garbage", `{"a":1} x`},
		{"control character", "{\"a\":\"x\ny\"}"},
		{"unknown escape", `{"a":"\x41"}`},
		{"short escape", `{"a":"\u12"}`},
		{"high then not low", `{"a":"\ud83d\u0041"}`},
		{"low first", `{"a":"\ude00\ud83d"}`},
		{"escaped backslash then u", `{"a":"\\ud800"}`},
		{"escapes at the end", `{"a\n":"\t"}`},
		{"deep", `{"a":[[[{"b":[null,true,"x",{}]}]]]}`},
	} {
		t.Run(tc.name, func(t *testing.T) { checkRecordStruct(t, []byte(tc.in)) })
	}
}

func FuzzRecordStruct(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,"x",null,true,{"b":-0.5e2}]}`, `{"s":"\ud83d\ude00"}`, `{"a":1,"a":1}`, `{"n":1e999}`} {
		f.Add([]byte(s))
	}
	for _, h := range genHits(f, 20) {
		f.Add(h.Event.Raw)
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkRecordStruct(t, in) })
}
