package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/codetrail/codetrail/client"
)

// clientFlags are the connection flags every client command shares.
type clientFlags struct {
	server     string
	token      string
	tokenFile  string
	useTLS     bool
	caFile     string
	certFile   string
	keyFile    string
	serverName string
}

// addClientFlags registers the connection flags on fs.
func addClientFlags(fs *flag.FlagSet) *clientFlags {
	cf := &clientFlags{}
	fs.StringVar(&cf.server, "server", "127.0.0.1:7000", "server address (host:port)")
	fs.StringVar(&cf.token, "token", "", "bearer token (better: CODETRAIL_TOKEN in the environment or --token-file, which stay out of ps)")
	fs.StringVar(&cf.tokenFile, "token-file", "", "file holding the bearer token")
	fs.BoolVar(&cf.useTLS, "tls", false, "connect over TLS (implied by --tls-ca and --tls-client-cert)")
	fs.StringVar(&cf.caFile, "tls-ca", "", "CA bundle (PEM) to verify the server with, instead of the system roots")
	// Not --tls-cert: in a config file shared with serve, that is the
	// server's certificate.
	fs.StringVar(&cf.certFile, "tls-client-cert", "", "client certificate (PEM) for mutual TLS")
	fs.StringVar(&cf.keyFile, "tls-client-key", "", "private key (PEM) of --tls-client-cert")
	fs.StringVar(&cf.serverName, "tls-server-name", "", "name to verify the server certificate against (default: the host of --server)")
	return cf
}

// dial connects to the server the flags name.
func (cf *clientFlags) dial() (*client.Client, error) {
	var opts []client.Option
	tok := cf.token
	if cf.tokenFile != "" {
		b, err := os.ReadFile(cf.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("read --token-file: %w", err)
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok != "" {
		opts = append(opts, client.WithToken(tok))
	}
	if cf.useTLS || cf.caFile != "" || cf.certFile != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cf.serverName}
		if cf.caFile != "" {
			pem, err := os.ReadFile(cf.caFile)
			if err != nil {
				return nil, fmt.Errorf("read --tls-ca: %w", err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", cf.caFile)
			}
		}
		if (cf.certFile == "") != (cf.keyFile == "") {
			return nil, errors.New("give both --tls-client-cert and --tls-client-key")
		}
		if cf.certFile != "" {
			cert, err := tls.LoadX509KeyPair(cf.certFile, cf.keyFile)
			if err != nil {
				return nil, fmt.Errorf("load client certificate: %w", err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		opts = append(opts, client.WithTLS(cfg))
	}
	return client.Dial(cf.server, opts...)
}
