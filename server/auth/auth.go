package auth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// Config says how callers are known.
type Config struct {
	// File is the identities file; empty means bearer tokens are off.
	File string
	// MutualTLS says the transport verifies client certificates against a
	// client CA. Without File, every verified certificate has full access;
	// with File, only those whose CN the file maps.
	MutualTLS bool
}

// Authenticator checks callers in gRPC interceptors. With neither tokens nor
// mutual TLS configured it lets every call through (a loopback development
// server).
type Authenticator struct {
	cfg Config
	log *slog.Logger
	ids atomic.Pointer[identities]
}

// New returns an Authenticator, reading cfg.File if set.
func New(cfg Config, log *slog.Logger) (*Authenticator, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{cfg: cfg, log: log}
	if cfg.File != "" {
		if err := a.Reload(); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Enabled reports whether calls are checked at all.
func (a *Authenticator) Enabled() bool { return a.cfg.File != "" || a.cfg.MutualTLS }

// Reload reads the identities file again. On error the identities in use
// stay as they were.
func (a *Authenticator) Reload() error {
	if a.cfg.File == "" {
		return nil
	}
	ids, err := load(a.cfg.File)
	if err != nil {
		metricReloads.WithLabelValues("error").Inc()
		return fmt.Errorf("%s: %w", a.cfg.File, err)
	}
	a.ids.Store(ids)
	metricReloads.WithLabelValues("ok").Inc()
	metricIdentities.Set(float64(len(ids.byToken) + len(ids.byCN)))
	a.log.Info("identities loaded", "file", a.cfg.File, "tokens", len(ids.byToken), "certificates", len(ids.byCN))
	return nil
}

// fullAccess stands for a verified client certificate when no identities
// file maps certificates.
var fullAccess = map[string]bool{RPCAdmin: true}

// authenticate finds the caller of ctx; the error is a gRPC status.
func (a *Authenticator) authenticate(ctx context.Context) (*Identity, error) {
	ids := a.ids.Load()
	md, _ := metadata.FromIncomingContext(ctx)
	if vals := md.Get("authorization"); len(vals) > 0 {
		scheme, tok, ok := strings.Cut(vals[0], " ")
		if !ok || !strings.EqualFold(scheme, "bearer") || tok == "" {
			return nil, fail("malformed", codes.Unauthenticated, `the authorization metadata must be "Bearer TOKEN"`)
		}
		if ids == nil {
			return nil, fail("no_tokens", codes.Unauthenticated, "this server accepts no bearer tokens")
		}
		if id, ok := ids.byToken[sha256.Sum256([]byte(strings.TrimSpace(tok)))]; ok {
			return id, nil
		}
		return nil, fail("unknown_token", codes.Unauthenticated, "unknown token")
	}
	if cn, ok := clientCN(ctx); ok {
		if ids == nil {
			return &Identity{Name: "cert:" + cn, rpcs: fullAccess}, nil
		}
		if id, ok := ids.byCN[cn]; ok {
			return id, nil
		}
		return nil, fail("unknown_certificate", codes.Unauthenticated, fmt.Sprintf("client certificate %q is not mapped to an identity", cn))
	}
	return nil, fail("missing", codes.Unauthenticated, `no credentials: send "authorization: Bearer TOKEN" metadata or a client certificate`)
}

// GatewayInfo is the AuthInfo of the in-process HTTP gateway's connection
// (see package gateway). Only on that connection is the client certificate
// name the gateway verified taken from metadata.
type GatewayInfo struct{ credentials.CommonAuthInfo }

// AuthType implements credentials.AuthInfo.
func (GatewayInfo) AuthType() string { return "codetrail-gateway" }

// GatewayCNKey is the metadata key in which the gateway passes the common
// name of an HTTP caller's verified client certificate.
const GatewayCNKey = "x-codetrail-client-cn"

// clientCN returns the common name of the caller's verified certificate.
func clientCN(ctx context.Context) (string, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "", false
	}
	if _, gw := p.AuthInfo.(GatewayInfo); gw {
		md, _ := metadata.FromIncomingContext(ctx)
		if v := md.Get(GatewayCNKey); len(v) == 1 && v[0] != "" {
			return v[0], true
		}
		return "", false
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return "", false
	}
	return ti.State.VerifiedChains[0][0].Subject.CommonName, true
}

func fail(reason string, code codes.Code, msg string) error {
	metricFailures.WithLabelValues(reason).Inc()
	return status.Error(code, msg)
}

// methodClasses maps each method to the class that may call it.
var methodClasses = map[string]string{
	pb.EventService_Search_FullMethodName:    RPCSearch,
	pb.EventService_GetEvent_FullMethodName:  RPCSearch,
	pb.EventService_Stats_FullMethodName:     RPCSearch,
	pb.EventService_Subscribe_FullMethodName: RPCSubscribe,
	pb.IngestService_Ingest_FullMethodName:   RPCIngest,
}

// check authenticates and authorises a call to method, returning the
// context that carries the identity.
func (a *Authenticator) check(ctx context.Context, method string) (context.Context, error) {
	if !a.Enabled() || strings.HasPrefix(method, "/grpc.health.v1.Health/") {
		return ctx, nil
	}
	id, err := a.authenticate(ctx)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(method, "/grpc.reflection.") {
		return withIdentity(ctx, id), nil
	}
	class, ok := methodClasses[method]
	if !ok {
		return nil, fail("unknown_method", codes.PermissionDenied, "method "+method+" is not open to callers")
	}
	if !id.Allowed(class) {
		return nil, fail("denied", codes.PermissionDenied, fmt.Sprintf("identity %s may not call %s (it needs %q)", id.Name, method, class))
	}
	return withIdentity(ctx, id), nil
}

// UnaryInterceptor checks unary calls.
func (a *Authenticator) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := a.check(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// StreamInterceptor checks streaming calls.
func (a *Authenticator) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := a.check(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &stream{ServerStream: ss, ctx: ctx})
}

type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }

type ctxKey struct{}

func withIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the caller's identity; ok is false when calls are not
// checked (everything is allowed, nothing scoped).
func FromContext(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(*Identity)
	return id, ok
}
