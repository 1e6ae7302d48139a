package gateway

import (
	"context"
	"crypto/tls"
	"net"

	"google.golang.org/grpc/credentials"

	"github.com/codetrail/codetrail/server/auth"
)

// memNetwork is the network name of the in-memory listener's addresses.
const memNetwork = "bufconn"

// Creds returns the server transport credentials to use with a Gateway:
// TLS with cfg (plaintext when nil) for network connections, and for the
// gateway's in-memory connection no handshake and auth.GatewayInfo, which
// tells the authenticator that the caller is the gateway.
func Creds(cfg *tls.Config) credentials.TransportCredentials {
	c := &dualCreds{}
	if cfg != nil {
		c.tls = credentials.NewTLS(cfg)
	}
	return c
}

type dualCreds struct {
	tls credentials.TransportCredentials // nil: plaintext
}

func (c *dualCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if conn.LocalAddr().Network() == memNetwork {
		return conn, auth.GatewayInfo{CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}, nil
	}
	if c.tls == nil {
		return conn, nil, nil
	}
	return c.tls.ServerHandshake(conn)
}

func (c *dualCreds) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errServerOnly
}

func (c *dualCreds) Info() credentials.ProtocolInfo {
	if c.tls != nil {
		return c.tls.Info()
	}
	return credentials.ProtocolInfo{SecurityProtocol: "insecure"}
}

func (c *dualCreds) Clone() credentials.TransportCredentials {
	out := &dualCreds{}
	if c.tls != nil {
		out.tls = c.tls.Clone()
	}
	return out
}

func (c *dualCreds) OverrideServerName(string) error { return nil }

type credsError string

func (e credsError) Error() string { return string(e) }

const errServerOnly = credsError("gateway: server credentials cannot dial")
