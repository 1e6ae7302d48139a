// Command codetrail serves, ingests, searches and generates AWS developer
// tools audit events. Run "codetrail help" for the subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// What shell completion offers for arguments after the flags: these
	// words, or file names when argFiles.
	argWords []string
	argFiles bool
}

// commands is filled in init: the completion and config-file code reads it
// from inside commands, which a package-level initialiser cannot allow (an
// initialisation cycle).
var commands []command

func init() {
	commands = []command{
		{name: "serve", summary: "run the gRPC service (--demo for a ready demo dataset)", run: runServe},
		{name: "ingest", summary: "send files or standard input to a running server", run: runIngest, argFiles: true},
		{name: "search", summary: "search a running server", run: runSearch},
		{name: "tail", summary: "print matching events live, resuming by itself after a disconnect", run: runTail},
		{name: "stats", summary: "show a running server's sources, index, subscribers and problems", run: runStats},
		{name: "gen", summary: "write a realistic generated dataset as trail files", run: runGen},
		{name: "token", summary: "make a bearer token and its entry for the --tokens file of serve", run: runToken},
		{name: "completion", summary: "print a bash or zsh completion script", run: runCompletion, argWords: []string{"bash", "zsh"}},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "codetrail: search and stream the CloudTrail audit trail of the AWS developer tools")
	fmt.Fprintln(w, "\nUsage: codetrail COMMAND [flags] [args]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'codetrail help COMMAND' for a command's flags. Every flag can also be set")
	fmt.Fprintln(w, "in the environment (--some-flag as CODETRAIL_SOME_FLAG) or in a config file")
	fmt.Fprintln(w, "named by --config or CODETRAIL_CONFIG, one 'some-flag = value' a line. The")
	fmt.Fprintln(w, "command line wins over the environment, which wins over the file.")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 2 && args[0] == "help" {
		args = []string{args[1], "--help"} // help COMMAND
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			}
			fmt.Fprintln(stderr, "codetrail "+c.name+": "+err.Error())
			return 1
		}
	}
	fmt.Fprintf(stderr, "codetrail: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// errUsage marks an error already explained to the user.
var errUsage = errors.New("usage")

// newLogger builds the process logger; only main picks handler and level.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
