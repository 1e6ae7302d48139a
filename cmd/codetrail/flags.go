package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Flags: every command registers its flags on a flag.FlagSet and hands it to
// parseFlags, which gives each flag its value from, in order of precedence,
// the command line, the environment (CODETRAIL_<FLAG>), the --config file,
// and the default. The same flag sets feed the help text (printFlags) and
// the shell completion scripts, so neither can go stale.

// configFlag is the flag every command gets for the config file.
const configFlag = "config"

// envName is the environment variable of a flag: --some-flag is
// CODETRAIL_SOME_FLAG.
func envName(flagName string) string {
	return "CODETRAIL_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args, then fills every flag not given on the command
// line from CODETRAIL_<FLAG> in the environment, then every flag still unset
// from the config file named by --config (or CODETRAIL_CONFIG). It adds
// --config to fs. With a flag capture in ctx (see captureFlags) it records fs
// and returns errFlagsCaptured without parsing anything.
func parseFlags(ctx context.Context, fs *flag.FlagSet, args []string, stderr io.Writer) error {
	if fs.Lookup(configFlag) == nil {
		fs.String(configFlag, "", "read flag values from `FILE`: lines of flag-name = value, # starts a comment line; the command line and the environment take precedence")
	}
	if c, ok := ctx.Value(flagCaptureKey{}).(*flagCapture); ok {
		c.fs = fs
		return errFlagsCaptured
	}
	fs.SetOutput(stderr)
	if err := parseInterspersed(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		env := envName(f.Name)
		if v, ok := os.LookupEnv(env); ok {
			set[f.Name] = true
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", env, v, err))
			}
		}
	})
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	path := fs.Lookup(configFlag).Value.String()
	if path == "" {
		return nil
	}
	entries, err := readConfig(path)
	if err != nil {
		return err
	}
	var known map[string]bool // flags of all commands, looked up on the first unknown name
	for _, e := range entries {
		where := fmt.Sprintf("%s:%d", path, e.line)
		if e.name == configFlag {
			errs = append(errs, fmt.Errorf("%s: a config file cannot name another config file", where))
			continue
		}
		if fs.Lookup(e.name) == nil {
			// One file serves every command: a flag of another command is
			// skipped here; a name no command has is a typo.
			if known == nil {
				known = allFlagNames(ctx)
			}
			if !known[e.name] {
				errs = append(errs, fmt.Errorf("%s: no command has a flag --%s", where, e.name))
			}
			continue
		}
		if set[e.name] {
			continue
		}
		if err := fs.Set(e.name, e.value); err != nil {
			errs = append(errs, fmt.Errorf("%s: --%s %q: %w", where, e.name, e.value, err))
		}
	}
	return errors.Join(errs...)
}

// parseInterspersed is fs.Parse, except that flags may also follow the
// arguments, as people type them: `search 'errorCode:*' --facet service`
// (the flag package stops at the first argument and would take --facet as
// query text). After "--" everything is an argument, for a query that
// starts with "-". fs.Args() holds the arguments afterwards.
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	// Parse again only to leave the arguments in fs.Args(); flag values
	// set so far stay.
	return fs.Parse(append([]string{"--"}, pos...))
}

// configEntry is one "flag-name = value" line of a config file.
type configEntry struct {
	line        int
	name, value string
}

// readConfig reads a config file.
func readConfig(path string) ([]configEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return parseConfig(f, path)
}

// parseConfig reads "flag-name = value" lines. Blank lines and lines whose
// first non-blank character is # are skipped (a # later in a line is part
// of the value: URLs may hold one). Names may carry the dashes of the
// command line (--data). A value in double quotes is unquoted as a Go
// string, to keep spaces at its ends. A repeatable flag (--source) may be
// given on several lines.
func parseConfig(r io.Reader, path string) ([]configEntry, error) {
	var out []configEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name = strings.TrimLeft(strings.TrimSpace(name), "-")
		if !ok || name == "" {
			return nil, fmt.Errorf("%s:%d: want flag-name = value, got %q", path, n, line)
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			v, err := strconv.Unquote(value)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: quoted value %s: %w", path, n, value, err)
			}
			value = v
		}
		out = append(out, configEntry{line: n, name: name, value: value})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// errFlagsCaptured ends a command run for its flag set only.
var errFlagsCaptured = errors.New("flags captured")

type flagCaptureKey struct{}

type flagCapture struct{ fs *flag.FlagSet }

// commandFlags returns the flag set a command registers, by running it with
// a capture in its context: parseFlags hands the set back before the
// command does anything. Nil when the command parses no flags.
func commandFlags(ctx context.Context, c command) *flag.FlagSet {
	capture := &flagCapture{}
	err := c.run(context.WithValue(ctx, flagCaptureKey{}, capture), nil, io.Discard, io.Discard)
	if !errors.Is(err, errFlagsCaptured) {
		return nil
	}
	return capture.fs
}

// allFlagNames is the set of flag names of every command.
func allFlagNames(ctx context.Context) map[string]bool {
	out := map[string]bool{}
	for _, c := range commands {
		if fs := commandFlags(ctx, c); fs != nil {
			fs.VisitAll(func(f *flag.Flag) { out[f.Name] = true })
		}
	}
	return out
}

// choice is a flag value that must be one of a fixed set; completion offers
// the set.
type choice struct {
	value   string
	choices []string
}

func newChoice(def string, choices ...string) *choice {
	return &choice{value: def, choices: choices}
}

func (c *choice) String() string {
	if c == nil {
		return ""
	}
	return c.value
}

func (c *choice) Set(v string) error {
	if !slices.Contains(c.choices, v) {
		return fmt.Errorf("use %s", orList(c.choices))
	}
	c.value = v
	return nil
}

// Choices lists the allowed values.
func (c *choice) Choices() []string { return c.choices }

// orList renders "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// repeatable reports whether a flag may be given several times.
func repeatable(f *flag.Flag) bool {
	_, ok := f.Value.(*stringList)
	return ok
}

// isBoolFlag reports whether a flag takes no value (--demo).
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// choicesOf returns a flag's allowed values, if it has a fixed set.
func choicesOf(f *flag.Flag) []string {
	if c, ok := f.Value.(interface{ Choices() []string }); ok {
		return c.Choices()
	}
	return nil
}

// flagPlaceholder is what a flag's value is called in help: a `NAME` quoted
// in its usage, the allowed values, or its type.
func flagPlaceholder(f *flag.Flag) string {
	if isBoolFlag(f) {
		return ""
	}
	if cs := choicesOf(f); cs != nil {
		return strings.Join(cs, "|")
	}
	name, _ := flag.UnquoteUsage(f)
	if name == "value" {
		name = "string"
	}
	return name
}

// helpWidth is where printFlags wraps usage text: fits an 80-column
// terminal with the indent.
const helpWidth = 72

// printFlags writes the flags of fs for --help: each with its value, what it
// does, its default and its environment variable. Unlike flag.PrintDefaults
// it always states the default (off, none), so every flag reads the same.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		head := "  --" + f.Name
		if ph := flagPlaceholder(f); ph != "" {
			head += " " + ph
		}
		if repeatable(f) {
			head += " (repeatable)"
		}
		fmt.Fprintln(w, head)
		_, usage := flag.UnquoteUsage(f)
		for _, l := range wrap(usage, helpWidth) {
			fmt.Fprintln(w, "        "+l)
		}
		if f.DefValue == "" && strings.Contains(usage, "default") {
			// The usage says what an unset flag means ("default: the host
			// of --server"); "default: none" would contradict it.
			fmt.Fprintf(w, "        env %s\n", envName(f.Name))
			return
		}
		fmt.Fprintf(w, "        default: %s; env %s\n", flagDefault(f), envName(f.Name))
	})
	fmt.Fprintln(w, "\nThe command line wins over the environment, which wins over the --config file.")
}

// flagDefault renders a flag's default for help.
func flagDefault(f *flag.Flag) string {
	switch {
	case isBoolFlag(f):
		if f.DefValue == "true" {
			return "on"
		}
		return "off"
	case f.DefValue == "":
		return "none"
	case strings.ContainsAny(f.DefValue, " \t"):
		return strconv.Quote(f.DefValue)
	}
	return f.DefValue
}

// wrap breaks s into lines of at most width characters at spaces.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) > width:
			lines = append(lines, line)
			line = word
		default:
			line += " " + word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// byteSize is a flag of a number of bytes with an optional binary or
// decimal unit: 900MiB, 1GiB, 512MB, 65536; 0 means none.
type byteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

func (b *byteSize) String() string {
	v := int64(*b)
	for _, u := range byteUnits[:4] {
		if v != 0 && v%u.mult == 0 && (v/u.mult < 1024 || u.suffix == "TiB") {
			return strconv.FormatInt(v/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(v, 10)
}

func (b *byteSize) Set(s string) error {
	v, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(v)
	return nil
}

func parseByteSize(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size: want a whole number of bytes, optionally with a unit (KiB, MiB, GiB, TiB, KB, MB, GB, TB), e.g. 900MiB", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}
