package index

import (
	"context"
	"slices"
	"testing"
)

func TestFieldWarnings(t *testing.T) {
	s := openStoreCfg(t, func(*Config) {})
	ctx := context.Background()
	if _, err := s.Put(ctx, synthetic(t, 20, 0), nil); err != nil {
		t.Fatal(err)
	}
	other := Scope{Accounts: []string{"999999999999"}}
	for _, tc := range []struct {
		name  string
		query string
		scope Scope
		want  []string
	}{
		{"hits: no warning", "requestParameters.projectName:p1", Scope{}, nil},
		{"typed field, no match: no warning", "eventName:Nope", Scope{}, nil},
		{"known path, no match: no warning", "requestParameters.projectName:nope", Scope{}, nil},
		{"case slip", "eventname:StartBuild", Scope{}, []string{`no stored event has the field "eventname"; did you mean "eventName"?`}},
		{"typo", "evntName:StartBuild", Scope{}, []string{`no stored event has the field "evntName"; did you mean "eventName"?`}},
		{"alias typo", "regoin:us-east-1", Scope{}, []string{`no stored event has the field "regoin"; did you mean "region"?`}},
		{"nothing close", "requestParameters.pipelineName:x", Scope{}, []string{`no stored event has the field "requestParameters.pipelineName"`}},
		{"each field once", "(evntName:a OR evntName:b) AND nosuch.path:*", Scope{}, []string{
			`no stored event has the field "evntName"; did you mean "eventName"?`,
			`no stored event has the field "nosuch.path"`,
		}},
		// Out of the caller's scope, a field that others' events have is
		// reported as missing: the warning tells nothing about them.
		{"scoped", "requestParameters.projectName:p1", other, []string{`no stored event has the field "requestParameters.projectName"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Search(ctx, SearchRequest{Query: tc.query, Scope: tc.scope})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Warnings, tc.want) {
				t.Fatalf("warnings %q, want %q", res.Warnings, tc.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"kitten", "sitting", 3},
		{"eventname", "eventname", 0}, {"evntname", "eventname", 1}, {"regoin", "region", 1}, {"ab", "ba", 1}, {"ca", "abc", 3},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
