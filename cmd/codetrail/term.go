package main

import (
	"flag"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// Terminal output: whether a stream is a terminal, and ANSI colours for the
// commands that print to people (search, tail, stats). Output to a pipe or a
// file stays plain, so scripts and grep see no escape codes.

// isTerminal reports whether w is a terminal (a character device). go.mod
// has no golang.org/x/term, and a character device is what a terminal is
// for our purposes; /dev/null is one too, where colours do no harm.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Colour modes of --color.
const (
	colorAuto   = "auto"
	colorAlways = "always"
	colorNever  = "never"
)

// addColorFlag registers --color on fs.
func addColorFlag(fs *flag.FlagSet) *choice {
	c := newChoice(colorAuto, colorAuto, colorAlways, colorNever)
	fs.Var(c, "color", "colour the output: auto (when writing to a terminal and NO_COLOR is unset), always or never")
	return c
}

// useColor decides whether output to w is coloured. In auto mode that is a
// terminal without NO_COLOR (https://no-color.org) or TERM=dumb; always and
// never are explicit and win over the environment.
func useColor(mode string, w io.Writer) bool {
	switch mode {
	case colorAlways:
		return true
	case colorNever:
		return false
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(w)
}

// style is an ANSI SGR parameter list, e.g. "1;31" for bold red; empty is
// no style.
type style string

const (
	styleNone   style = ""
	styleBold   style = "1"
	styleDim    style = "2"
	styleRed    style = "31"
	styleGreen  style = "32"
	styleYellow style = "33"
	styleError  style = "1;31"
	styleHeader style = "1"
)

// serviceStyles gives each developer tool its own colour, so a tail of mixed
// events can be read by colour; "other" stays plain.
var serviceStyles = map[string]style{
	"codepipeline":           "36", // cyan
	"codedeploy":             "32", // green
	"codebuild":              "33", // yellow
	"codecommit":             "35", // magenta
	"codeartifact":           "34", // blue
	"codestar":               "96", // bright cyan
	"codestar-notifications": "95", // bright magenta
	"codeconnections":        "94", // bright blue
	"codecatalyst":           "92", // bright green
}

// serviceStyle is the colour of a service name.
func serviceStyle(service string) style { return serviceStyles[service] }

// painter colours text when on; off it returns text unchanged.
type painter struct{ on bool }

// paint wraps s in st, and resets after it.
func (p painter) paint(s string, st style) string {
	if !p.on || st == styleNone || s == "" {
		return s
	}
	return "\x1b[" + string(st) + "m" + s + "\x1b[0m"
}

// visibleWidth is the number of characters s takes on a terminal: runes,
// not counting ANSI escape sequences. (Wide East Asian characters count as
// one; event fields are ASCII in practice.)
func visibleWidth(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j + 1
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return n
}

// hasANSI reports whether s holds an escape sequence.
func hasANSI(s string) bool { return strings.Contains(s, "\x1b[") }
