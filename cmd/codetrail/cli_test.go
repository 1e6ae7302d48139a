package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/codetrail/codetrail/client"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// Unit tests of the command line's formatting, flags, config file and
// completion scripts; the end-to-end tests run the same against a server.

var ansiRe = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

func stripANSI(s string) string { return ansiRe.ReplaceAllString(s, "") }

func TestTableRender(t *testing.T) {
	tb := &table{header: []string{"NAME", "COUNT", "NOTE"}, right: []bool{false, true, false}}
	tb.addCells(cell{"codepipeline", serviceStyle("codepipeline")}, cell{text: "1,200"}, cell{"slow", styleError})
	tb.addCells(cell{text: "x"}, cell{text: "7"}, cell{text: ""})
	tb.addCells(cell{text: "naïve…"}, cell{text: "12"}, cell{text: "ok"})
	want := "" +
		"NAME          COUNT  NOTE\n" +
		"codepipeline  1,200  slow\n" +
		"x                 7\n" +
		"naïve…           12  ok\n"
	tests := []struct {
		name string
		on   bool
	}{{"plain", false}, {"colour", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tb.render(&b, painter{on: tt.on}); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			if hasANSI(got) != tt.on {
				t.Fatalf("colour on=%v but output has ANSI=%v:\n%q", tt.on, hasANSI(got), got)
			}
			// Colours must not move a column: without them the text is the
			// plain table.
			if stripANSI(got) != want {
				t.Fatalf("got\n%s\nwant\n%s", stripANSI(got), want)
			}
			if tt.on && !strings.Contains(got, "\x1b[1;31mslow\x1b[0m") || tt.on && !strings.Contains(got, "\x1b[36mcodepipeline\x1b[0m") {
				t.Fatalf("styles missing: %q", got)
			}
		})
	}
}

func testEvent(service, errc string) *pb.Event {
	return &pb.Event{
		EventTime: timestamppb.New(time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC)), AccountId: "123456789012", AwsRegion: "eu-west-1",
		UserIdentity: &pb.UserIdentity{UserName: "JaneDoe"}, Service: service, EventName: "CreateDeployment",
		Resources: []string{"e2e-live", "g0"}, ErrorCode: errc,
	}
}

func TestEventLine(t *testing.T) {
	tests := []struct {
		name       string
		e          *pb.Event
		on         bool
		want       string
		wantStyles []string
	}{
		{"plain", testEvent("codedeploy", ""), false, "2024-06-01T10:00:00Z 123456789012 eu-west-1 JaneDoe codedeploy CreateDeployment e2e-live", nil},
		{"plain error", testEvent("codedeploy", "AccessDenied"), false, "2024-06-01T10:00:00Z 123456789012 eu-west-1 JaneDoe codedeploy CreateDeployment e2e-live ERROR AccessDenied", nil},
		{"colour", testEvent("codebuild", ""), true, "2024-06-01T10:00:00Z 123456789012 eu-west-1 JaneDoe codebuild CreateDeployment e2e-live", []string{"\x1b[33mcodebuild\x1b[0m"}},
		{"colour error", testEvent("codepipeline", "AccessDenied"), true, "2024-06-01T10:00:00Z 123456789012 eu-west-1 JaneDoe codepipeline CreateDeployment e2e-live ERROR AccessDenied", []string{"\x1b[36mcodepipeline\x1b[0m", "\x1b[1;31mERROR AccessDenied\x1b[0m"}},
		{"other service is plain", testEvent("other", ""), true, "2024-06-01T10:00:00Z 123456789012 eu-west-1 JaneDoe other CreateDeployment e2e-live", []string{" other "}},
		{"empty fields", &pb.Event{}, false, "- - - - - - -", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := eventLine(tt.e, painter{on: tt.on})
			if stripANSI(got) != tt.want {
				t.Fatalf("got  %q\nwant %q", stripANSI(got), tt.want)
			}
			if !tt.on && hasANSI(got) {
				t.Fatalf("plain line has ANSI: %q", got)
			}
			for _, s := range tt.wantStyles {
				if !strings.Contains(got, s) {
					t.Errorf("%q lacks %q", got, s)
				}
			}
		})
	}
}

func TestEventTable(t *testing.T) {
	events := []*pb.Event{testEvent("codedeploy", ""), testEvent("codebuild", "AccessDenied")}
	events[1].Resources = []string{strings.Repeat("r", 60)}
	var b bytes.Buffer
	if err := eventTable(events).render(&b, painter{}); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"TIME                 ACCOUNT       REGION     USER     SERVICE     EVENT             RESOURCE                                  ERROR\n" +
		"2024-06-01 10:00:00  123456789012  eu-west-1  JaneDoe  codedeploy  CreateDeployment  e2e-live (+1)\n" +
		"2024-06-01 10:00:00  123456789012  eu-west-1  JaneDoe  codebuild   CreateDeployment  " + strings.Repeat("r", 39) + "…  AccessDenied\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestFacetTable(t *testing.T) {
	f := &pb.Facet{Field: "errorCode", Counts: []*pb.FacetCount{{Value: "AccessDenied", Count: 1200}, {Value: "ThrottlingException", Count: 30}, {Value: "", Count: 2}}, Other: 5, Missing: 13}
	var b bytes.Buffer
	if err := facetTable(f, 1250).render(&b, painter{}); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"errorCode            COUNT  SHARE\n" +
		"AccessDenied         1,200  96.0%\n" +
		"ThrottlingException     30   2.4%\n" +
		`""                       2   0.2%` + "\n" +
		"(other values)           5   0.4%\n" +
		"(no errorCode)          13   1.0%\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := facetTable(&pb.Facet{Field: "service"}, 0).render(&b, painter{}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "service      COUNT  SHARE\n(no values)\n" {
		t.Fatalf("empty facet: %q", b.String())
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in    string
		upper bool
		want  time.Time
		bad   bool
	}{
		{in: "90m", want: now.Add(-90 * time.Minute)},
		{in: "2h", want: now.Add(-2 * time.Hour)},
		{in: "7d", want: now.AddDate(0, 0, -7)},
		{in: "2w", want: now.AddDate(0, 0, -14)},
		{in: "1d12h", want: now.Add(-36 * time.Hour)},
		{in: "1.5h", want: now.Add(-90 * time.Minute)},
		{in: "1h30m", want: now.Add(-90 * time.Minute)},
		{in: "500ms", want: now.Add(-500 * time.Millisecond)},
		{in: "0s", want: now},
		{in: "now", want: now},
		{in: "2024-01-31", want: time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)},
		{in: "2024-01-31", upper: true, want: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)},
		{in: "2024-01-31T15:04", upper: true, want: time.Date(2024, 1, 31, 15, 4, 0, 0, time.UTC)},
		{in: "2024-01-31T15:04:05", want: time.Date(2024, 1, 31, 15, 4, 5, 0, time.UTC)},
		{in: "2024-01-31 15:04:05", want: time.Date(2024, 1, 31, 15, 4, 5, 0, time.UTC)},
		{in: "2024-01-31T15:04:05Z", want: time.Date(2024, 1, 31, 15, 4, 5, 0, time.UTC)},
		{in: "2024-01-31T15:04:05+02:00", want: time.Date(2024, 1, 31, 13, 4, 5, 0, time.UTC)},
		{in: "2024-01-31T15:04:05.250Z", want: time.Date(2024, 1, 31, 15, 4, 5, 250e6, time.UTC)},
		{in: "", bad: true},
		{in: "-1h", bad: true},
		{in: "7", bad: true},
		{in: "7x", bad: true},
		{in: "d", bad: true},
		{in: "yesterday", bad: true},
		{in: "2024-13-01", bad: true},
		{in: "99999999999w", bad: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s upper=%v", tt.in, tt.upper), func(t *testing.T) {
			got, err := parseWhen(tt.in, now, tt.upper)
			if tt.bad {
				if err == nil {
					t.Fatalf("want an error, got %s", got)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestTimeBounds(t *testing.T) {
	now := time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, since, until string
		wantErr            string
	}{
		{name: "none"},
		{name: "since only", since: "7d"},
		{name: "both", since: "2w", until: "1h"},
		{name: "same day", since: "2024-06-01", until: "2024-06-01"}, // the until day is whole
		{name: "reversed", since: "1h", until: "2h", wantErr: "is not before"},
		{name: "bad since", since: "soon", wantErr: "--since"},
		{name: "bad until", until: "later", wantErr: "--until"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := timeBounds(tt.since, tt.until, now)
			if (err != nil) != (tt.wantErr != "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name, in string
		want     []configEntry
		wantErr  string
	}{
		{name: "lines", in: "# a comment\n\nserver = 10.0.0.1:7000\n  --limit=50  \n   # indented comment\nsource = s3://b/p?accounts=1#x\n",
			want: []configEntry{{3, "server", "10.0.0.1:7000"}, {4, "limit", "50"}, {6, "source", "s3://b/p?accounts=1#x"}}},
		{name: "quoted", in: `since = " 7d "` + "\nempty =\n", want: []configEntry{{1, "since", " 7d "}, {2, "empty", ""}}},
		{name: "no equals", in: "server 10.0.0.1\n", wantErr: "f:1: want flag-name = value"},
		{name: "no name", in: "= x\n", wantErr: "f:1: want flag-name = value"},
		{name: "bad quote", in: "a = \"x\\q\"\n", wantErr: "f:1: quoted value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(strings.NewReader(tt.in), "f")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestFlagPrecedence checks command line > environment > config file >
// default, for plain and repeatable flags.
func TestFlagPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "codetrail.conf")
	conf := "# shared by every command\nserver = file:1\nlimit = 30\nfacet = eventName\nfacet = service\n" +
		"data = /srv/codetrail   # a serve flag: skipped by search\n"
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.conf")
	if err := os.WriteFile(other, []byte("server = other:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		server string
		limit  int
		facets string
		err    string
	}{
		{name: "defaults", server: "default:1", limit: 20},
		{name: "file", args: []string{"--config", file}, server: "file:1", limit: 30, facets: "eventName,service"},
		{name: "env over file", args: []string{"--config", file}, env: map[string]string{"CODETRAIL_SERVER": "env:1", "CODETRAIL_FACET": "user"}, server: "env:1", limit: 30, facets: "user"},
		{name: "command line over env and file", args: []string{"--config", file, "--server", "cli:1", "--facet", "errorCode"}, env: map[string]string{"CODETRAIL_SERVER": "env:1"}, server: "cli:1", limit: 30, facets: "errorCode"},
		{name: "file from CODETRAIL_CONFIG", env: map[string]string{"CODETRAIL_CONFIG": file}, server: "file:1", limit: 30, facets: "eventName,service"},
		{name: "--config over CODETRAIL_CONFIG", args: []string{"--config", other}, env: map[string]string{"CODETRAIL_CONFIG": file}, server: "other:1", limit: 20},
		{name: "missing file", args: []string{"--config", filepath.Join(dir, "nope")}, err: "no such file"},
		{name: "bad env value", env: map[string]string{"CODETRAIL_LIMIT": "many"}, err: `CODETRAIL_LIMIT="many"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			fs := flag.NewFlagSet("search", flag.ContinueOnError)
			server := fs.String("server", "default:1", "")
			limit := fs.Int("limit", 20, "")
			var facets stringList
			fs.Var(&facets, "facet", "")
			err := parseFlags(context.Background(), fs, tt.args, &bytes.Buffer{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *server != tt.server || *limit != tt.limit || facets.String() != tt.facets {
				t.Fatalf("server %q limit %d facets %q; want %q %d %q", *server, *limit, facets.String(), tt.server, tt.limit, tt.facets)
			}
		})
	}
}

func TestConfigFileErrors(t *testing.T) {
	tests := []struct{ name, conf, want string }{
		{"unknown flag", "server = x\nservr = y\n", ":2: no command has a flag --servr"},
		{"bad value", "limit = lots\n", `:1: --limit "lots": parse error`},
		{"config in config", "config = other.conf\n", ":1: a config file cannot name another config file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "c.conf")
			if err := os.WriteFile(file, []byte(tt.conf), 0o644); err != nil {
				t.Fatal(err)
			}
			fs := flag.NewFlagSet("search", flag.ContinueOnError)
			fs.String("server", "", "")
			fs.Int("limit", 20, "")
			err := parseFlags(context.Background(), fs, []string{"--config", file}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

// TestHelpStatesEveryDefault checks that each command's --help lists every
// flag it registers with a default line, and exits 0.
func TestHelpStatesEveryDefault(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			fs := commandFlags(context.Background(), c)
			if fs == nil {
				t.Fatalf("%s registers no flag set", c.name)
			}
			var out, errb bytes.Buffer
			if code := run(context.Background(), []string{c.name, "--help"}, &out, &errb); code != 0 {
				t.Fatalf("exit %d\n%s", code, errb.String())
			}
			help := errb.String()
			fs.VisitAll(func(f *flag.Flag) {
				// The default is on its own line, or the usage says it.
				re := regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(f.Name) + `\b.*\n(?:        .*\n)*?        (default: [^;]+; )?env ` + envName(f.Name) + `\n`)
				if m := re.FindStringSubmatch(help); m == nil || m[1] == "" && !strings.Contains(m[0], "default") {
					t.Errorf("--help lacks --%s with its default:\n%s", f.Name, help)
				}
			})
		})
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"help", "serve"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "--listen") {
		t.Fatalf("help serve: exit %d\n%s", code, errb.String())
	}
}

func TestFlagDefault(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Bool("off", false, "")
	fs.Bool("on", true, "")
	fs.String("none", "", "")
	fs.String("spaced", "a b", "")
	fs.Duration("wait", 10*time.Second, "")
	fs.Var(newChoice("auto", "auto", "never"), "color", "")
	want := map[string]string{"off": "off", "on": "on", "none": "none", "spaced": `"a b"`, "wait": "10s", "color": "auto"}
	for name, w := range want {
		if got := flagDefault(fs.Lookup(name)); got != w {
			t.Errorf("%s: %q, want %q", name, got, w)
		}
	}
	if ph := flagPlaceholder(fs.Lookup("color")); ph != "auto|never" {
		t.Errorf("choice placeholder %q", ph)
	}
	if err := fs.Set("color", "sometimes"); err == nil || err.Error() != "use auto or never" {
		t.Errorf("bad choice: %v", err)
	}
}

func TestUseColor(t *testing.T) {
	// /dev/null is a character device, as a terminal is.
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	tests := []struct {
		name, mode string
		w          *os.File
		env        map[string]string
		want       bool
	}{
		{"auto terminal", colorAuto, devnull, nil, true},
		{"auto pipe", colorAuto, pw, nil, false},
		{"auto NO_COLOR", colorAuto, devnull, map[string]string{"NO_COLOR": "1"}, false},
		{"auto empty NO_COLOR", colorAuto, devnull, map[string]string{"NO_COLOR": ""}, true},
		{"auto TERM=dumb", colorAuto, devnull, map[string]string{"TERM": "dumb"}, false},
		{"always pipe", colorAlways, pw, map[string]string{"NO_COLOR": "1"}, true},
		{"never terminal", colorNever, devnull, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", "")
			t.Setenv("TERM", "xterm")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if got := useColor(tt.mode, tt.w); got != tt.want {
				t.Fatalf("useColor(%s) = %v, want %v", tt.mode, got, tt.want)
			}
		})
	}
	if useColor(colorAuto, &bytes.Buffer{}) {
		t.Fatal("a buffer is no terminal")
	}
}

func TestHumanFormats(t *testing.T) {
	tests := []struct{ got, want string }{
		{thousands(0), "0"},
		{thousands(999), "999"},
		{thousands(1000), "1,000"},
		{thousands(20000), "20,000"},
		{thousands(1234567), "1,234,567"},
		{thousands(-1234), "-1,234"},
		{humanBytes(512), "512 B"},
		{humanBytes(1536), "1.5 KiB"},
		{humanBytes(43311923), "41.3 MiB"},
		{humanBytes(5 << 30), "5.0 GiB"},
		{humanDuration(400 * time.Millisecond), "0s"},
		{humanDuration(42 * time.Second), "42s"},
		{humanDuration(12*time.Minute + 30*time.Second), "12m30s"},
		{humanDuration(time.Hour), "1h"},
		{humanDuration(5*time.Hour + 12*time.Minute + 9*time.Second), "5h12m"},
		{humanDuration(76 * time.Hour), "3d4h"},
		{humanDuration(-90 * time.Second), "-1m30s"},
		{clip("abcdef", 4), "abc…"},
		{clip("abc", 4), "abc"},
		{clip("ééééé", 3), "éé…"},
		{clipLeft("AWSLogs/1/CloudTrail/x.json.gz", 10), "…x.json.gz"},
		{clipMiddle("abcdefghij", 10), "abcdefghij"},
		{clipMiddle("list keys: operation error: connection refused", 21), "list key…tion refused"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

func TestVisibleWidth(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{{"", 0}, {"abc", 3}, {"\x1b[1;31mabc\x1b[0m", 3}, {"é…", 2}, {"a\x1b[2mb\x1b[0mc", 3}}
	for _, tt := range tests {
		if got := visibleWidth(tt.in); got != tt.want {
			t.Errorf("visibleWidth(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func redraws(s string) int               { return strings.Count(s, "\r") }
func lastDraw(s string) string {
	i := strings.LastIndex(s, "\r")
	return strings.TrimSuffix(s[i+1:], "\x1b[K")
}
func inputOf(name string, n int) client.Input { return client.Input{Name: name, Data: make([]byte, n)} }

func TestProgressThrottle(t *testing.T) {
	clk := &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	var b bytes.Buffer
	p := newProgress(&b, 100, 100*1000, clk.now)
	for range 50 { // 50 files within 49ms: one draw
		p.sent(inputOf("f", 1000))
		clk.add(time.Millisecond)
	}
	if n := redraws(b.String()); n != 1 {
		t.Fatalf("%d redraws within 50ms, want 1", n)
	}
	clk.add(60 * time.Millisecond) // 109ms after the first draw
	p.setEvents(5000)
	if n := redraws(b.String()); n != 2 {
		t.Fatalf("%d redraws, want 2", n)
	}
	if got, want := lastDraw(b.String()), "[============>           ]  50/100 files  5,000 events  45,454 events/s  ETA 0s"; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	for range 50 { // the last file always draws
		p.sent(inputOf("f", 1000))
	}
	if got := lastDraw(b.String()); !strings.HasPrefix(got, "[========================]  100/100 files  5,000 events") || !strings.HasSuffix(got, "storing…") {
		t.Fatalf("last draw %q", got)
	}
	p.done()
	if !strings.HasSuffix(b.String(), "\r\x1b[K") {
		t.Fatalf("done does not clear the line: %q", b.String())
	}
	// Ten seconds of updates every millisecond draw about ten times a second.
	b.Reset()
	p = newProgress(&b, 1<<20, 1<<40, clk.now)
	for range 10000 {
		p.sent(inputOf("f", 1))
		p.setEvents(1)
		clk.add(time.Millisecond)
	}
	if n := redraws(b.String()); n < 95 || n > 101 {
		t.Fatalf("%d redraws in 10s, want about 100", n)
	}
}

func TestProgressLine(t *testing.T) {
	tests := []struct {
		name string
		st   progressState
		want string
	}{
		{"start", progressState{files: 8, size: 800, events: -1}, "[>                       ]  0/8 files"},
		{"half", progressState{files: 8, sentFiles: 4, size: 800, sentBytes: 400, events: 12000, elapsed: 2 * time.Second},
			"[============>           ]  4/8 files  12,000 events  6,000 events/s  ETA 2s"},
		{"stdin, size unknown", progressState{files: 1, sentFiles: 0, events: 300, elapsed: time.Second}, "0/1 files  300 events  300 events/s"},
		{"all sent", progressState{files: 2, sentFiles: 2, size: 10, sentBytes: 10, events: 10, elapsed: time.Second}, "[========================]  2/2 files  10 events  10 events/s  storing…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.st.line(); got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestProgressStdinCountsOnce(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	var b bytes.Buffer
	p := newProgress(&b, 2, 0, clk.now)
	p.sent(inputOf("a.json", 10))
	p.sent(inputOf(stdinPartPrefix+"1", 10))
	p.sent(inputOf(stdinPartPrefix+"2", 10))
	if p.sentFiles != 2 || p.sentBytes != 30 {
		t.Fatalf("sentFiles %d sentBytes %d, want 2 and 30", p.sentFiles, p.sentBytes)
	}
}

func TestIngestSummary(t *testing.T) {
	res := &pb.IngestResponse{Counts: &pb.IngestCounts{Files: 3, Records: 4, EventsStored: 2, Duplicates: 1, InvalidRecords: 1}, LastCursor: "c1",
		Problems: []*pb.IngestProblem{{Name: "x.jsonl", Position: "line 2", Reason: "not JSON"}}}
	got := ingestSummary(res, 2*time.Second)
	want := "3 inputs, 4 records: 2 events stored, 1 duplicates, 1 invalid records, 0 invalid inputs, 0 skipped (digests) in 2s (2 events/s); last cursor c1"
	if got != want || strings.Contains(got, "\n") {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func testStats(now time.Time) *pb.StatsResponse {
	return &pb.StatsResponse{
		Events: 20000, Cursor: "0000000000004e20", IndexSizeBytes: 43311923, Segments: 7, Compacting: true,
		OldestEventTime: timestamppb.New(time.Date(2026, 10, 1, 0, 0, 3, 0, time.UTC)),
		NewestEventTime: timestamppb.New(time.Date(2026, 10, 31, 23, 59, 58, 0, time.UTC)),
		Ingest:          &pb.IngestCounts{Files: 623, Records: 20415, EventsStored: 20002, Duplicates: 412, InvalidRecords: 1},
		Subscribers:     &pb.SubscriberStats{Active: 3, CaughtUp: 2, Lagging: 1, EndedForLag: 0},
		Sources: []*pb.SourceStats{
			{Name: "codetrail-data/demo", Counts: &pb.IngestCounts{Files: 620, Records: 20412, EventsStored: 20000, Duplicates: 412},
				LastSuccessTime: timestamppb.New(now.Add(-5 * time.Minute)), Lag: durationpb.New(31*24*time.Hour + 3*time.Hour)},
			{Name: "s3://trail/prefix", Counts: &pb.IngestCounts{Files: 3, Records: 3, EventsStored: 2, InvalidRecords: 1},
				LastError: "list s3://trail/prefix: AccessDenied", LastErrorTime: timestamppb.New(now.Add(-42 * time.Second)),
				Integrity: &pb.IntegrityReport{CheckedTime: timestamppb.New(now.Add(-time.Minute)), Problems: 8, Regions: []*pb.IntegrityRegion{
					{Account: "111122223333", Region: "us-east-1", Digests: 24, LogFiles: 1200, Problems: 7,
						Missing:        []*pb.IntegrityFileProblem{{Bucket: "trail", Key: "AWSLogs/a.json.gz", DigestKey: "AWSLogs/d1.json.gz"}},
						HashMismatches: []*pb.IntegrityFileProblem{{Bucket: "trail", Key: "AWSLogs/b.json.gz", WantSha256: "aaaaaaaaaaaaaaaaaaaa", GotSha256: "bbbbbbbbbbbbbbbbbbbbbb"}},
						BrokenChains:   []*pb.IntegrityChainProblem{{Bucket: "trail", Key: "AWSLogs/d2.json.gz", Reason: "previousDigestSignature differs"}},
						Unsigned:       []*pb.IntegrityDigestProblem{{Bucket: "trail", Key: "AWSLogs/d3.json.gz", Reason: "no signature"}, {Bucket: "trail", Key: "AWSLogs/d4.json.gz", Reason: "no signature"}},
						BadSignatures:  []*pb.IntegrityDigestProblem{{Bucket: "trail", Key: "AWSLogs/d5.json.gz", Reason: "verification error"}, {Bucket: "trail", Key: "AWSLogs/d6.json.gz", Reason: "verification error"}}},
					{Account: "111122223333", Region: "eu-west-1", Digests: 24, LogFiles: 300, Problems: 1, KeyError: "ListPublicKeys: AccessDenied",
						Malformed: []*pb.IntegrityDigestProblem{{Bucket: "trail", Key: "AWSLogs/d7.json.gz", Reason: "unexpected EOF"}}},
				}}},
		},
		RecentProblems: []*pb.IngestProblem{{Name: "/tmp/x/events.jsonl", Position: "line 2", Reason: "not JSON: invalid character 'o' in literal null (expecting 'u')", Time: timestamppb.New(now.Add(-time.Minute))}},
	}
}

func TestRenderStats(t *testing.T) {
	now := time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("colour=%v", on), func(t *testing.T) {
			var b bytes.Buffer
			if err := renderStats(&b, testStats(now), statsView{now: now, problems: 10, p: painter{on: on}}); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			if hasANSI(got) != on {
				t.Fatalf("colour %v, ANSI %v", on, hasANSI(got))
			}
			plain := stripANSI(got)
			for _, want := range []string{
				"events       20,000 from 2026-10-01 00:00:03 to 2026-10-31 23:59:58\n",
				"index size   41.3 MiB in 7 segments (compaction running, or due once ingest is idle)\n",
				"ingest       623 inputs, 20,415 records: 20,002 stored, 412 duplicates, 1 invalid records, 0 invalid inputs, 0 digests skipped (since start)\n",
				"subscribers  3 active, 2 caught up, 1 lagging, 0 ended for lag\n",
				"SOURCE               INPUTS  RECORDS  STORED  DUPLICATES  INVALID    LAG  LAST STORED  LAST ERROR\n",
				"codetrail-data/demo     620   20,412  20,000         412        0  31d3h  5m ago\n",
				"s3://trail/prefix         3        3       2           0        1      -  never        42s ago: list s3://trail/prefix: AccessDenied\n",
				"integrity of s3://trail/prefix: 8 problems, checked 1m ago\n",
				"  ACCOUNT       REGION     DIGESTS  LOG FILES  PROBLEMS  NOTE\n",
				"  111122223333  us-east-1       24      1,200         7\n",
				"  111122223333  eu-west-1       24        300         1  signatures unchecked (no public keys)\n",
				"  PROBLEM        ACCOUNT       REGION     OBJECT      DETAIL\n",
				"  missing        111122223333  us-east-1  a.json.gz\n",
				"  hash mismatch  111122223333  us-east-1  b.json.gz   digest has aaaaaaaaaaaa…, ingested bbbbbbbbbbbb…\n",
				"  broken chain   111122223333  us-east-1  d2.json.gz  previousDigestSignature differs\n",
				"  bad signature  111122223333  us-east-1  d6.json.gz  verification error\n",
				"  malformed      111122223333  eu-west-1  d7.json.gz  unexpected EOF\n",
				"recent problems (1 shown of the last 1 kept, newest first)\n",
				"TIME                 INPUT                POSITION  REASON\n",
				"2026-12-01 16:59:00  /tmp/x/events.jsonl  line 2    not JSON: invalid character 'o' in literal null (expecting 'u')\n",
			} {
				if !strings.Contains(plain, want) {
					t.Errorf("stats lacks %q:\n%s", want, plain)
				}
			}
			for _, line := range strings.Split(plain, "\n") {
				if strings.HasSuffix(line, " ") {
					t.Errorf("trailing space: %q", line)
				}
			}
		})
	}
	var b bytes.Buffer
	if err := renderStats(&b, testStats(now), statsView{now: now, problems: 0}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(b.String(), "\n1 recent problems (--problems N lists them)\n") {
		t.Errorf("--problems 0:\n%s", b.String())
	}
	b.Reset()
	if err := renderStats(&b, &pb.StatsResponse{}, statsView{now: now, problems: 10}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"events       0\n", "no sources\n", "no recent problems\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("empty stats lack %q:\n%s", want, b.String())
		}
	}
}

func TestRenderIntegrityCaps(t *testing.T) {
	now := time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)
	r := &pb.IntegrityRegion{Account: "111122223333", Region: "us-east-1", Digests: 300, LogFiles: 4000, Problems: 250, Truncated: true}
	for i := range 100 {
		r.Missing = append(r.Missing, &pb.IntegrityFileProblem{Bucket: "b", Key: fmt.Sprintf("AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/25/f%03d.json.gz", i)})
	}
	ig := &pb.IntegrityReport{CheckedTime: timestamppb.New(now.Add(-2 * time.Minute)), Problems: 250, Regions: []*pb.IntegrityRegion{r},
		Error: "integrity check of eu-west-1: list public keys: " + strings.Repeat("x", 200) + ": connection refused\nb\nc\nd\ne"}
	var b bytes.Buffer
	if err := renderIntegrity(&b, "s3://b", ig, statsView{now: now}); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"integrity of s3://b: 250 problems, checked 2m ago\n",
		"  incomplete: integrity check of eu-west-1: list public k…xxx",
		"xxxxxxxx: connection refused\n  incomplete: b\n  incomplete: c\n  2 more (codetrail stats --json)\n",
		"  111122223333  us-east-1      300      4,000       250  lists cut at 100 a kind\n",
		"  missing  111122223333  us-east-1  f009.json.gz\n  240 more (codetrail stats --json lists up to 100 of each kind per region)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "  missing  "); n != integrityLines {
		t.Errorf("%d problems listed, want %d", n, integrityLines)
	}
	for _, l := range strings.Split(got, "\n") {
		if visibleWidth(l) > 130 {
			t.Errorf("line of %d characters: %q", visibleWidth(l), l)
		}
	}
}

func TestFetchEventsPages(t *testing.T) {
	// 25 matches served 10 a page at most; the first response carries the
	// total.
	var calls []*pb.SearchRequest
	search := func(_ context.Context, r *pb.SearchRequest) (*pb.SearchResponse, error) {
		calls = append(calls, r)
		start := 0
		if r.PageToken != "" {
			fmt.Sscan(r.PageToken, &start)
		}
		n := min(int(r.PageSize), 10, 25-start)
		res := &pb.SearchResponse{TotalHits: 25}
		for i := range n {
			res.Events = append(res.Events, &pb.Event{EventId: fmt.Sprint(start + i)})
		}
		if start+n < 25 {
			res.NextPageToken = fmt.Sprint(start + n)
		}
		return res, nil
	}
	tests := []struct {
		want, got, calls int
	}{{0, 0, 1}, {5, 5, 1}, {12, 12, 2}, {25, 25, 3}, {100, 25, 3}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.want), func(t *testing.T) {
			calls = nil
			var ids []string
			first, err := fetchEvents(context.Background(), search, &pb.SearchRequest{PageSize: int32(min(max(tt.want, 1), maxPage))}, tt.want, func(evs []*pb.Event) error {
				for _, e := range evs {
					ids = append(ids, e.EventId)
				}
				return nil
			})
			if err != nil || first.TotalHits != 25 {
				t.Fatal(first, err)
			}
			if len(ids) != tt.got || len(calls) != tt.calls {
				t.Fatalf("%d events in %d calls, want %d in %d", len(ids), len(calls), tt.got, tt.calls)
			}
			for i, id := range ids {
				if id != fmt.Sprint(i) {
					t.Fatalf("events %v", ids)
				}
			}
		})
	}
	boom := errors.New("boom")
	if _, err := fetchEvents(context.Background(), search, &pb.SearchRequest{PageSize: 5}, 20, func([]*pb.Event) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("page error: %v", err)
	}
}

func TestSearchFlagConflicts(t *testing.T) {
	tests := [][]string{
		{"--json", "--jsonl"},
		{"--count", "--json"},
		{"--count", "--facet", "service"},
		{"--jsonl", "--facet", "service"},
		{"--limit", "-1"},
		{"--since", "soon"},
		{"--order", "random"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			// Nothing listens on port 1: the check must come before dialling.
			var out, errb bytes.Buffer
			code := run(context.Background(), append([]string{"search", "--server", "127.0.0.1:1"}, args...), &out, &errb)
			if code == 0 || strings.Contains(errb.String(), "127.0.0.1:1") {
				t.Fatalf("exit %d\n%s", code, errb.String())
			}
		})
	}
}

// completionCase is a command line being completed: words up to the cursor.
type completionCase struct {
	words   []string // COMP_WORDS, the last is the word under the cursor
	want    []string // all of these offered
	notWant []string
	exact   bool // exactly want
}

func TestCompletionScripts(t *testing.T) {
	ctx := context.Background()
	scripts := map[string]string{}
	for _, shell := range []string{"bash", "zsh"} {
		var out, errb bytes.Buffer
		if code := run(ctx, []string{"completion", shell}, &out, &errb); code != 0 {
			t.Fatalf("completion %s: exit %d: %s", shell, code, errb.String())
		}
		scripts[shell] = out.String()
	}
	for _, c := range commands {
		fs := commandFlags(ctx, c)
		if fs == nil {
			t.Fatalf("%s has no flag set", c.name)
		}
		fs.VisitAll(func(f *flag.Flag) {
			if !regexp.MustCompile(`(?m)^    ` + c.name + `\)\n        flags="[^"]*--` + regexp.QuoteMeta(f.Name) + `[ "]`).MatchString(scripts["bash"]) {
				t.Errorf("bash script lacks %s --%s", c.name, f.Name)
			}
			if !regexp.MustCompile(`(?s)\n    ` + c.name + `\)\n      _arguments[^;]*'\*?--` + regexp.QuoteMeta(f.Name) + `[=\[]`).MatchString(scripts["zsh"]) {
				t.Errorf("zsh script lacks %s --%s", c.name, f.Name)
			}
		})
		if !strings.Contains(scripts["zsh"], "'"+c.name+":") {
			t.Errorf("zsh script lacks command %s", c.name)
		}
	}
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"completion", "fish"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "use bash or zsh") {
		t.Fatalf("fish: exit %d %s", code, errb.String())
	}

	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	file := filepath.Join(t.TempDir(), "codetrail.bash")
	if err := os.WriteFile(file, []byte(scripts["bash"]), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []completionCase{
		{words: []string{"codetrail", ""}, want: []string{"serve", "ingest", "search", "tail", "stats", "gen", "completion", "help"}},
		{words: []string{"codetrail", "s"}, want: []string{"serve", "search", "stats"}, exact: true},
		{words: []string{"codetrail", "search", "--j"}, want: []string{"--json", "--jsonl"}, exact: true},
		{words: []string{"codetrail", "search", "--co"}, want: []string{"--color", "--config", "--count"}, exact: true},
		{words: []string{"codetrail", "search", "--order", ""}, want: []string{"newest", "oldest", "relevance"}, exact: true},
		{words: []string{"codetrail", "search", "-order", "r"}, want: []string{"relevance"}, exact: true},
		{words: []string{"codetrail", "search", "--order", "=", "o"}, want: []string{"oldest"}, exact: true},
		{words: []string{"codetrail", "search", "--order", "="}, want: []string{"newest", "oldest", "relevance"}, exact: true},
		{words: []string{"codetrail", "tail", "--color", ""}, want: []string{"auto", "always", "never"}, exact: true},
		{words: []string{"codetrail", "search", "--limit", ""}, exact: true},
		{words: []string{"codetrail", "stats", "--"}, want: []string{"--json", "--problems", "--server", "--color", "--config"}},
		{words: []string{"codetrail", "serve", "--"}, want: []string{"--listen", "--data", "--source", "--demo"}, notWant: []string{"--limit"}},
		{words: []string{"codetrail", "serve", ""}, want: []string{"--listen"}},
		{words: []string{"codetrail", "completion", ""}, want: []string{"bash", "zsh"}, exact: true},
		{words: []string{"codetrail", "help", "st"}, want: []string{"stats"}, exact: true},
		{words: []string{"codetrail", "ingest", ""}, exact: true}, // file names, by complete -o default
		{words: []string{"codetrail", "ingest", "--q"}, want: []string{"--quiet"}, exact: true},
		{words: []string{"codetrail", "nosuch", "--"}, exact: true},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.words, " "), func(t *testing.T) {
			var q []string
			for _, w := range tc.words {
				q = append(q, fmt.Sprintf("%q", w))
			}
			sh := fmt.Sprintf(`source %q; COMP_WORDS=(%s); COMP_CWORD=%d; _codetrail; printf '%%s\n' "${COMPREPLY[@]}"`, file, strings.Join(q, " "), len(tc.words)-1)
			out, err := exec.Command(bash, "-c", sh).CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			got := strings.Fields(string(out))
			for _, w := range tc.want {
				if !strings.Contains(" "+strings.Join(got, " ")+" ", " "+w+" ") {
					t.Errorf("offers %v, lacks %s", got, w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(" "+strings.Join(got, " ")+" ", " "+w+" ") {
					t.Errorf("offers %v, including %s", got, w)
				}
			}
			if tc.exact && len(got) != len(tc.want) {
				t.Errorf("offers %v, want exactly %v", got, tc.want)
			}
		})
	}
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Log("no zsh: its script is checked only for its flags")
		return
	}
	zdir := t.TempDir()
	zfile := filepath.Join(zdir, "_codetrail")
	if err := os.WriteFile(zfile, []byte(scripts["zsh"]), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(zsh, "-n", zfile).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	// Drive a real interactive zsh through zpty, with compadd wrapped to
	// print what completion offers (the zsh-capture-completion technique).
	capture := filepath.Join(zdir, "capture.zsh")
	if err := os.WriteFile(capture, []byte(zshCapture), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []completionCase{
		{words: []string{"codetrail", "s"}, want: []string{"serve", "search", "stats"}, exact: true},
		{words: []string{"codetrail", "search", "--j"}, want: []string{"--json", "--jsonl"}, exact: true},
		{words: []string{"codetrail", "search", "--order", ""}, want: []string{"newest", "oldest", "relevance"}, exact: true},
		{words: []string{"codetrail", "completion", ""}, want: []string{"bash", "zsh"}, exact: true},
		{words: []string{"codetrail", "stats", "--"}, want: []string{"--json", "--problems", "--server", "--color", "--config"}},
	} {
		t.Run("zsh "+strings.Join(tc.words, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, zsh, "-f", capture, strings.Join(tc.words, " "), zdir).CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			got := strings.Fields(string(out))
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("offers %v, lacks %s", got, w)
				}
			}
			if tc.exact && len(got) != len(tc.want) {
				t.Errorf("offers %v, want exactly %v", got, tc.want)
			}
		})
	}
}

// zshCapture prints the completions zsh offers for the command line in $1,
// with the completion functions of directory $2 (after
// github.com/Valodim/zsh-capture-completion).
const zshCapture = `zmodload zsh/zpty || exit 1
zpty z zsh -f -i
zpty -w z "PROMPT=''; RPROMPT=''"
zpty -w z "fpath=($2 \$fpath); autoload -Uz compinit; compinit -u -d $2/.zcompdump"
zpty -w z "zstyle ':completion:*' list-grouped false; zstyle ':completion:*' insert-tab false"
zpty -w z 'bindkey "^I" complete-word'
zpty -w z 'null-line () { echo -E - $'"'"'\0'"'"' }; compprefuncs=( null-line ); comppostfuncs=( null-line exit )'
zpty -w z "zstyle ':completion:*' list-prompt ''; zstyle ':completion:*' select-prompt ''; LISTMAX=10000"
zpty -w z 'compadd () { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi; typeset -a __hits; builtin compadd -A __hits "$@"; local ret=$?; for h in $__hits; do echo -E - "HIT:$h"; done; return $ret }'
zpty -wn z "$1"$'\t'
integer tog=0
while zpty -r z; do :; done | while IFS= read -r line; do
  if [[ $line == *$'\0\r' ]]; then (( tog++ )) && return 0 || continue; fi
  (( tog )) && [[ $line == HIT:* ]] && print -r -- "${${line#HIT:}%$'\r'}"
done
zpty -d z
`

func TestInterspersedFlags(t *testing.T) {
	tests := []struct {
		args  []string
		limit int
		pos   []string
		bad   bool
	}{
		{args: []string{"q"}, limit: 20, pos: []string{"q"}},
		{args: []string{"--limit", "5", "q"}, limit: 5, pos: []string{"q"}},
		{args: []string{"service:x AND errorCode:*", "--limit", "5"}, limit: 5, pos: []string{"service:x AND errorCode:*"}},
		{args: []string{"a", "--limit=3", "b", "c"}, limit: 3, pos: []string{"a", "b", "c"}},
		{args: []string{"a", "--", "--limit", "-b"}, limit: 20, pos: []string{"a", "--limit", "-b"}},
		{args: []string{"--", "-errorCode:*"}, limit: 20, pos: []string{"-errorCode:*"}},
		{args: []string{"a", "--nope"}, bad: true},
		{args: nil, limit: 20},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.SetOutput(&bytes.Buffer{})
			limit := fs.Int("limit", 20, "")
			err := parseInterspersed(fs, tt.args)
			if (err != nil) != tt.bad {
				t.Fatalf("err %v", err)
			}
			if tt.bad {
				return
			}
			if *limit != tt.limit || fmt.Sprint(fs.Args()) != fmt.Sprint(tt.pos) {
				t.Fatalf("limit %d args %q; want %d %q", *limit, fs.Args(), tt.limit, tt.pos)
			}
		})
	}
}
