package record

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestLeavesType(t *testing.T) {
	tests := []struct {
		name string
		in   []Leaf
		json string
	}{
		{"none", nil, "null"},
		{"one", []Leaf{{"eventName", "StartBuild", true}}, `[{"Path":"eventName","Value":"StartBuild","String":true}]`},
		{"empty values and repeated paths", []Leaf{{"a", "", true}, {"a", "1", false}, {"", "x", true}},
			`[{"Path":"a","Value":"","String":true},{"Path":"a","Value":"1","String":false},{"Path":"","Value":"x","String":true}]`},
		{"unicode", []Leaf{{"k\"ey", "é😀\n", true}}, `[{"Path":"k\"ey","Value":"é😀\n","String":true}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := MakeLeaves(tt.in...)
			if l.Len() != len(tt.in) {
				t.Fatalf("Len = %d, want %d", l.Len(), len(tt.in))
			}
			for i, want := range tt.in {
				if got := l.At(i); got != want {
					t.Errorf("At(%d) = %+v, want %+v", i, got, want)
				}
			}
			if got := slices.Collect(l.All()); !slices.Equal(got, tt.in) {
				t.Errorf("All = %+v, want %+v", got, tt.in)
			}
			if got := l.Slice(); !slices.Equal(got, tt.in) || (got == nil) != (len(tt.in) == 0) {
				t.Errorf("Slice = %#v, want %#v", got, tt.in)
			}
			b, err := json.Marshal(l)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.json {
				t.Errorf("JSON %s, want %s", b, tt.json)
			}
			var back Leaves
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(back.Slice(), tt.in) {
				t.Errorf("JSON round trip gives %+v, want %+v", back.Slice(), tt.in)
			}
		})
	}
	// All stops when the loop does.
	n := 0
	for range MakeLeaves(Leaf{"a", "1", false}, Leaf{"b", "2", false}, Leaf{"c", "3", false}).All() {
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("the loop ran %d times, want 2", n)
	}
	var bad Leaves
	if err := json.Unmarshal([]byte(`{"Path":1}`), &bad); err == nil {
		t.Error("an object read as leaves")
	}
}

// TestParsedLeavesShareText checks that a parsed event's leaves are read
// from the event's one text, as the strings they replace were.
func TestParsedLeavesShareText(t *testing.T) {
	ev, err := Parse(KindCloudTrail, []byte(`{"eventName":"StartBuild","requestParameters":{"projectName":"web","n":3,"ok":true,"none":null}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Leaf{{"eventName", "StartBuild", true}, {"requestParameters.projectName", "web", true}, {"requestParameters.n", "3", false}, {"requestParameters.ok", "true", false}}
	if got := ev.Leaves.Slice(); !slices.Equal(got, want) {
		t.Errorf("leaves %+v, want %+v", got, want)
	}
	if ev.Name != "StartBuild" {
		t.Errorf("Name = %q", ev.Name)
	}
}
