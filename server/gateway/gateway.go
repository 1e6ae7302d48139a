package gateway

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
	"github.com/codetrail/codetrail/server/auth"
)

//go:embed codetrail.swagger.json
var openAPI []byte

// maxMessageBytes matches the gRPC server's message limit.
const maxMessageBytes = 64 << 20

// Gateway is the HTTP/JSON front of a grpc.Server. Serve the server on
// Listener, then serve Handler over HTTP.
type Gateway struct {
	lis    *bufconn.Listener
	conn   *grpc.ClientConn
	events pb.EventServiceClient
	log    *slog.Logger
	mux    *http.ServeMux
}

// New returns a Gateway; its in-memory connection is made lazily.
func New(ctx context.Context, log *slog.Logger) (*Gateway, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{lis: bufconn.Listen(1 << 20), log: log}
	conn, err := grpc.NewClient("passthrough:///codetrail-gateway",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return g.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageBytes), grpc.MaxCallSendMsgSize(maxMessageBytes)))
	if err != nil {
		return nil, fmt.Errorf("gateway connection: %w", err)
	}
	g.conn = conn
	g.events = pb.NewEventServiceClient(conn)

	gw := runtime.NewServeMux(
		runtime.WithIncomingHeaderMatcher(headerMatcher),
		runtime.WithMetadata(clientCertMetadata),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: false},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
	)
	if err := pb.RegisterEventServiceHandler(ctx, gw, conn); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if err := pb.RegisterIngestServiceHandler(ctx, gw, conn); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g.mux = http.NewServeMux()
	g.mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPI)
	})
	g.mux.HandleFunc("GET /v1/subscribe/sse", g.sse)
	g.mux.Handle("/", gw)
	return g, nil
}

// Listener is the in-memory listener the gRPC server must also serve.
func (g *Gateway) Listener() net.Listener { return g.lis }

// Handler serves the HTTP/JSON API.
func (g *Gateway) Handler() http.Handler { return g.mux }

// Close closes the in-memory connection and listener.
func (g *Gateway) Close() error {
	err := g.conn.Close()
	_ = g.lis.Close()
	return err
}

// headerMatcher forwards the authorization header and grpc-gateway's
// usual headers, but never the metadata the gateway itself sets for client
// certificates, so an HTTP caller cannot claim a certificate it lacks.
func headerMatcher(key string) (string, bool) {
	k := strings.ToLower(key)
	if strings.HasPrefix(k, strings.ToLower(runtime.MetadataHeaderPrefix)+"x-codetrail-") || k == auth.GatewayCNKey {
		return "", false
	}
	if k == "x-request-id" {
		return k, true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// clientCertMetadata passes the common name of the HTTP caller's verified
// client certificate to the authenticator.
func clientCertMetadata(_ context.Context, r *http.Request) metadata.MD {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil
	}
	return metadata.Pairs(auth.GatewayCNKey, r.TLS.VerifiedChains[0][0].Subject.CommonName)
}
