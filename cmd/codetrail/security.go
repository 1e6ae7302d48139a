package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/codetrail/codetrail/server/auth"
)

// securityConfig holds serve's TLS and identity flags.
type securityConfig struct {
	tlsCert, tlsKey string
	clientCA        string
	tokens          string
	plaintext       bool
}

func (c *securityConfig) registerFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.tlsCert, "tls-cert", "", "TLS certificate (PEM) of the server; with --tls-key, serve TLS only")
	fs.StringVar(&c.tlsKey, "tls-key", "", "TLS private key (PEM) of --tls-cert")
	fs.StringVar(&c.clientCA, "client-ca", "", "CA bundle (PEM) that client certificates must chain to (mutual TLS); needs --tls-cert")
	fs.StringVar(&c.tokens, "tokens", "", "identities file (JSON: token hashes, certificate names, RPC classes, scopes); reloaded on SIGHUP; see docs/security.md")
	fs.BoolVar(&c.plaintext, "plaintext", false, "allow plaintext on a non-loopback --listen address (plaintext on loopback needs no flag)")
}

// transport returns the TLS configuration of the flags (nil for
// plaintext, which it allows only on loopback addresses unless --plaintext
// is given) and the authenticator (nil when callers are not checked).
func (c *securityConfig) transport(listens []string, log *slog.Logger) (*tls.Config, *auth.Authenticator, error) {
	var cfg *tls.Config
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, nil, errors.New("give both --tls-cert and --tls-key")
	}
	if c.clientCA != "" && c.tlsCert == "" {
		return nil, nil, errors.New("--client-ca needs --tls-cert and --tls-key")
	}
	if c.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			return nil, nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		cfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if c.clientCA != "" {
			pem, err := os.ReadFile(c.clientCA)
			if err != nil {
				return nil, nil, fmt.Errorf("read --client-ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("--client-ca %s holds no PEM certificate", c.clientCA)
			}
			cfg.ClientCAs = pool
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
			if c.tokens != "" {
				// Token holders need no certificate; a certificate given
				// is still verified.
				cfg.ClientAuth = tls.VerifyClientCertIfGiven
			}
		}
	} else if !c.plaintext {
		for _, l := range listens {
			if l != "" && !loopback(l) {
				return nil, nil, fmt.Errorf("refusing plaintext on %s, which is not a loopback address: give --tls-cert and --tls-key, or --plaintext behind a trusted proxy", l)
			}
		}
	}
	if c.tokens == "" && c.clientCA == "" {
		return cfg, nil, nil
	}
	a, err := auth.New(auth.Config{File: c.tokens, MutualTLS: c.clientCA != ""}, log)
	if err != nil {
		return nil, nil, err
	}
	return cfg, a, nil
}

// loopback reports whether a listen address only accepts local callers.
func loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// reloadOnHangup reloads the identities file on each SIGHUP until ctx ends.
func reloadOnHangup(ctx context.Context, a *auth.Authenticator, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if a == nil {
				log.Info("SIGHUP: no identities file to reload")
				continue
			}
			if err := a.Reload(); err != nil {
				log.Error("identities not reloaded; the previous ones stay in use", "err", err)
			}
		}
	}
}
