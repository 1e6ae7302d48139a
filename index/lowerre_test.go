package index

import (
	"regexp"
	"testing"
)

// TestLowerRegexp: on the analysed text, literals match lower case terms
// while escapes keep their meaning.
func TestLowerRegexp(t *testing.T) {
	for _, tc := range []struct {
		re          string
		match, miss []string
	}{
		{`\S+`, []string{"deploy"}, []string{"with space"}},
		{`Get.*`, []string{"getpipeline"}, []string{"putpipeline"}},
		{`[A-C]x\W`, []string{"bx-"}, []string{"dx-", "bxa"}},
		{`\D+`, []string{"abc"}, []string{"123"}},
		{`My[A-Z]irst`, []string{"myfirst"}, []string{"my1irst"}},
	} {
		re := regexp.MustCompile("^(?:" + lowerRegexp(tc.re) + ")$")
		for _, m := range tc.match {
			if !re.MatchString(m) {
				t.Errorf("%s (%s) does not match %q", tc.re, lowerRegexp(tc.re), m)
			}
		}
		for _, m := range tc.miss {
			if re.MatchString(m) {
				t.Errorf("%s (%s) matches %q", tc.re, lowerRegexp(tc.re), m)
			}
		}
	}
}
