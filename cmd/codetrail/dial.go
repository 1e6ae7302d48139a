package main

import (
	"flag"

	"github.com/codetrail/codetrail/client"
)

// clientFlags are the connection flags every client command shares.
type clientFlags struct {
	server string
}

// addClientFlags registers the connection flags on fs.
func addClientFlags(fs *flag.FlagSet) *clientFlags {
	cf := &clientFlags{}
	fs.StringVar(&cf.server, "server", "127.0.0.1:7000", "server address (host:port)")
	return cf
}

// dial connects to the server the flags name.
func (cf *clientFlags) dial() (*client.Client, error) {
	return client.Dial(cf.server)
}
