package ingest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDirFiles(t *testing.T) {
	base := t.TempDir()
	trail := filepath.Join(base, "trail")
	for _, f := range []string{"b/2.json.gz", "a/1.json.gz", "a/.hidden", ".tmp/x.json.gz", "c.json"} {
		p := filepath.Join(trail, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	linked := filepath.Join(base, "linked")
	if err := os.Symlink(trail, linked); err != nil {
		t.Fatal(err)
	}
	// A link below the root is not followed: a loop must not hang the walk.
	if err := os.Symlink(trail, filepath.Join(trail, "b", "loop")); err != nil {
		t.Fatal(err)
	}
	want := func(root string) []string {
		return []string{filepath.Join(root, "a/1.json.gz"), filepath.Join(root, "b/2.json.gz"), filepath.Join(root, "c.json")}
	}
	for _, tc := range []struct{ name, dir string }{
		{"directory", trail},
		{"root is a symbolic link", linked},
		{"trailing separator", trail + "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DirFiles(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			if w := want(filepath.Clean(tc.dir)); !slices.Equal(got, w) {
				t.Fatalf("DirFiles(%s) = %q, want %q", tc.dir, got, w)
			}
		})
	}
	if _, err := DirFiles(filepath.Join(base, "missing")); err == nil {
		t.Fatal("a missing directory gave no error")
	}
}

func TestTrailFileTime(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		ok         bool
	}{
		{"111122223333_CloudTrail_us-east-1_20261103T0415Z_a1B2c3D4e5F6g7H8.json.gz", "20261103T0415Z", true},
		{"111122223333_CloudTrail-Insight_eu-west-1_20261103T0415Z_a1B2c3D4e5F6g7H8.json.gz", "20261103T0415Z", true},
		// Digests are not log files, and their names say so.
		{"111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20261103T041512Z.json.gz", "", false},
		{"111122223333_CloudTrail_us-east-1_2026110T04150Z_x.json.gz", "", false},
		{"111122223333_CloudTrail_us-east-1_20261103X0415Z_x.json.gz", "", false},
		{"111122223333_CloudTrail_us-east-1_2026a103T0415Z_x.json.gz", "", false},
		{"111122223333_CloudTrail_us-east-1_20261103T0415Z.json.gz", "", false},
		{"events.jsonl", "", false},
		{"", "", false},
	} {
		got, ok := trailFileTime(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("trailFileTime(%q) = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSortTrailOrder(t *testing.T) {
	f := func(acct, region, ts string) string {
		return filepath.Join("trail/AWSLogs", acct, "CloudTrail", region, "2026/11/03",
			acct+"_CloudTrail_"+region+"_"+ts+"_0123456789abcdef.json.gz")
	}
	// In name order every account and region went through all its days
	// before the next one began.
	got := []string{
		f("111122223333", "eu-west-1", "20261103T0410Z"),
		f("111122223333", "eu-west-1", "20261103T0420Z"),
		f("111122223333", "us-east-1", "20261103T0405Z"),
		f("111122223333", "us-east-1", "20261103T0415Z"),
		f("444455556666", "us-east-1", "20261103T0400Z"),
		f("444455556666", "us-east-1", "20261103T0415Z"),
		"trail/export.jsonl",
		"a/events.json",
	}
	want := []string{
		"a/events.json",
		"trail/export.jsonl",
		f("444455556666", "us-east-1", "20261103T0400Z"),
		f("111122223333", "us-east-1", "20261103T0405Z"),
		f("111122223333", "eu-west-1", "20261103T0410Z"),
		f("111122223333", "us-east-1", "20261103T0415Z"),
		f("444455556666", "us-east-1", "20261103T0415Z"),
		f("111122223333", "eu-west-1", "20261103T0420Z"),
	}
	sortTrailOrder(got)
	if !slices.Equal(got, want) {
		t.Fatalf("sortTrailOrder:\n got %q\nwant %q", got, want)
	}
}

func FuzzTrailFileTime(f *testing.F) {
	f.Add("111122223333_CloudTrail_us-east-1_20261103T0415Z_a1B2c3D4e5F6g7H8.json.gz")
	f.Add("x_CloudTrail-Insight_r_00000000T0000Z_")
	f.Add("a_b_c_d_e")
	f.Fuzz(func(t *testing.T, name string) {
		ts, ok := trailFileTime(name)
		if !ok {
			if ts != "" {
				t.Fatalf("%q: not a trail name, but time %q", name, ts)
			}
			return
		}
		if len(ts) != 14 || ts[8] != 'T' || ts[13] != 'Z' {
			t.Fatalf("%q: time %q is not YYYYMMDDTHHmmZ", name, ts)
		}
		if !strings.Contains(name, "_"+ts+"_") {
			t.Fatalf("%q: time %q is not one of its parts", name, ts)
		}
	})
}
