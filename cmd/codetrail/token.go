package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/codetrail/codetrail/server/auth"
)

// runToken makes a new bearer token and prints it with the identity entry
// that grants it, for the --tokens file of serve.
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	name := fs.String("name", "", "identity name (required), e.g. ci-reader")
	rpcs := fs.String("rpcs", "search,subscribe", "RPC classes: search, subscribe, ingest, admin")
	accounts := fs.String("accounts", "", "limit to these account ids (comma separated)")
	regions := fs.String("regions", "", "limit to these regions")
	services := fs.String("services", "", "limit to these services (codebuild, codepipeline, ...)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: codetrail token --name NAME [flags]\n\nPrints a new bearer token and, on the next line, the identity entry to add to\nthe --tokens file of serve (it holds only the token's SHA-256). Give the token\nto the client (CODETRAIL_TOKEN or --token-file); it is not stored anywhere.\n\nFlags:")
		printFlags(stderr, fs)
	}
	if err := parseFlags(ctx, fs, args, stderr); err != nil {
		return err
	}
	if *name == "" {
		fs.Usage()
		return errUsage
	}
	tok, sha, err := auth.NewToken()
	if err != nil {
		return err
	}
	id := auth.IdentityConfig{Name: *name, TokenSHA256: sha, RPCs: list(*rpcs),
		Accounts: list(*accounts), Regions: list(*regions), Services: list(*services)}
	// Checked the way serve will read it.
	entry, err := json.Marshal(id)
	if err != nil {
		return err
	}
	if err := auth.Check(auth.File{Identities: []auth.IdentityConfig{id}}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	fmt.Fprintln(stdout, string(entry))
	return nil
}

func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
