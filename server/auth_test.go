package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/codetrail/codetrail/client"
	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/ingest"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
	"github.com/codetrail/codetrail/server/auth"
)

const (
	acctA = "111111111111"
	acctB = "222222222222"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and client
// certificates by common name.
type testPKI struct {
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	pool   *x509.CertPool
	server tls.Certificate
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "codetrail test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &testPKI{ca: ca, caKey: key, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.server = p.issue(t, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	return p
}

func (p *testPKI) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// authServer is a real TLS server with identities and events of two
// accounts.
type authServer struct {
	addr  string
	pki   *testPKI
	file  string
	authn *auth.Authenticator
	// tokens by identity name
	tokens map[string]string
	// events per account
	count map[string]int
}

func writeIdentities(t *testing.T, path string, ids []auth.IdentityConfig) {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"identities":[`)
	for i, id := range ids {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"name":%q,"token_sha256":%q,"cert_cn":%q,"rpcs":["%s"],"accounts":[%s]}`,
			id.Name, id.TokenSHA256, id.CertCN, strings.Join(id.RPCs, `","`), quoteAll(id.Accounts))
	}
	b.WriteString("]}")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func quoteAll(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ",")
}

func startAuth(t *testing.T) *authServer {
	t.Helper()
	as := &authServer{pki: newPKI(t), file: filepath.Join(t.TempDir(), "identities.json"), tokens: map[string]string{}, count: map[string]int{}}
	var ids []auth.IdentityConfig
	for _, id := range []auth.IdentityConfig{
		{Name: "reader-a", RPCs: []string{"search", "subscribe"}, Accounts: []string{acctA}},
		{Name: "ingester", RPCs: []string{"ingest"}},
		{Name: "admin", RPCs: []string{"admin"}},
		{Name: "ops", RPCs: []string{"search"}, CertCN: "ops"},
	} {
		if id.CertCN == "" {
			tok, sha, err := auth.NewToken()
			if err != nil {
				t.Fatal(err)
			}
			as.tokens[id.Name], id.TokenSHA256 = tok, sha
		}
		ids = append(ids, id)
	}
	writeIdentities(t, as.file, ids)
	var err error
	as.authn, err = auth.New(auth.Config{File: as.file, MutualTLS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}

	st, err := index.Open(index.DefaultConfig(t.TempDir()), nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := ingest.New(ingest.DefaultConfig(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(DefaultConfig(), st, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{as.pki.server}, ClientCAs: as.pki.pool,
		ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS12}
	g := grpc.NewServer(grpc.Creds(credentials.NewTLS(tlsCfg)),
		grpc.ChainUnaryInterceptor(as.authn.UnaryInterceptor), grpc.ChainStreamInterceptor(as.authn.StreamInterceptor))
	srv.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	as.addr = lis.Addr().String()
	done := make(chan struct{})
	go func() { _ = g.Serve(lis); close(done) }()
	t.Cleanup(func() {
		srv.Shutdown()
		g.Stop()
		<-done
		in.Close()
		_ = st.Close()
	})
	srv.SetServing(true)

	// Events of two accounts in two regions.
	var recs []string
	for i := range 60 {
		acct, region := acctA, "us-east-1"
		if i%3 == 0 {
			acct = acctB
		}
		if i%2 == 0 {
			region = "eu-west-1"
		}
		as.count[acct]++
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.08","eventID":"ev-%02d","eventTime":"2024-04-0%dT12:00:%02dZ","eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","awsRegion":%q,"recipientAccountId":%q}`,
			i, 1+i%5, i, region, acct))
	}
	c := as.dial(t, client.WithToken(as.tokens["ingester"]))
	ingestAll(t, c, client.Input{Name: "two-accounts.json", Data: []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)})
	return as
}

// dial connects over TLS (trusting the test CA) with opts added.
func (as *authServer) dial(t *testing.T, opts ...client.Option) *client.Client {
	t.Helper()
	return as.dialTLS(t, &tls.Config{RootCAs: as.pki.pool, MinVersion: tls.VersionTLS12}, opts...)
}

func (as *authServer) dialTLS(t *testing.T, cfg *tls.Config, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.Dial(as.addr, append([]client.Option{client.WithTLS(cfg)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func wantCode(t *testing.T, err error, code codes.Code, what string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("%s: %v, want %s", what, err, code)
	}
}

func TestAuthentication(t *testing.T) {
	as := startAuth(t)
	ctx := context.Background()
	search := &pb.SearchRequest{Query: "*"}

	for _, tc := range []struct {
		name string
		opts []client.Option
		code codes.Code
	}{
		{"no credentials", nil, codes.Unauthenticated},
		{"unknown token", []client.Option{client.WithToken("ct_not-a-real-token")}, codes.Unauthenticated},
		{"token not allowed to search", []client.Option{client.WithToken(as.tokens["ingester"])}, codes.PermissionDenied},
		{"reader", []client.Option{client.WithToken(as.tokens["reader-a"])}, codes.OK},
		{"admin", []client.Option{client.WithToken(as.tokens["admin"])}, codes.OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := as.dial(t, tc.opts...).Search(ctx, search)
			wantCode(t, err, tc.code, "search")
		})
	}
	t.Run("malformed header", func(t *testing.T) {
		c := as.dial(t, client.WithDialOptions(grpc.WithPerRPCCredentials(rawAuth("Basic abc"))))
		_, err := c.Search(ctx, search)
		wantCode(t, err, codes.Unauthenticated, "basic auth")
	})
	t.Run("client certificates", func(t *testing.T) {
		for cn, code := range map[string]codes.Code{"ops": codes.OK, "stranger": codes.Unauthenticated} {
			cert := as.pki.issue(t, cn, x509.ExtKeyUsageClientAuth)
			c := as.dialTLS(t, &tls.Config{RootCAs: as.pki.pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
			_, err := c.Search(ctx, search)
			wantCode(t, err, code, "certificate "+cn)
			// The identity of the certificate has search only.
			if cn == "ops" {
				_, err := c.Ingest(ctx, func() (client.Input, bool, error) { return client.Input{}, false, nil }, nil)
				wantCode(t, err, codes.PermissionDenied, "ingest as ops")
			}
		}
	})
	t.Run("health is open, reflection is not", func(t *testing.T) {
		c := as.dial(t)
		h, err := healthpb.NewHealthClient(c.Conn()).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health: %v %v", h, err)
		}
		for tok, code := range map[string]codes.Code{"": codes.Unauthenticated, as.tokens["reader-a"]: codes.OK} {
			var opts []client.Option
			if tok != "" {
				opts = append(opts, client.WithToken(tok))
			}
			rc, err := reflectionpb.NewServerReflectionClient(as.dial(t, opts...).Conn()).ServerReflectionInfo(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_ = rc.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
			_, err = rc.Recv()
			wantCode(t, err, code, "reflection")
			_ = rc.CloseSend()
		}
	})
	t.Run("reload", func(t *testing.T) {
		// A bad file keeps the identities in use.
		if err := os.WriteFile(as.file, []byte(`{"identities":[{"name":"x","token_sha256":"nothex","rpcs":["search"]}]}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := as.authn.Reload(); err == nil || !strings.Contains(err.Error(), "token_sha256") {
			t.Fatalf("reload of a bad file: %v", err)
		}
		reader := as.dial(t, client.WithToken(as.tokens["reader-a"]))
		if _, err := reader.Search(ctx, search); err != nil {
			t.Fatalf("after a failed reload: %v", err)
		}
		// A good file without reader-a revokes it at once.
		writeIdentities(t, as.file, []auth.IdentityConfig{{Name: "admin", TokenSHA256: auth.HashToken(as.tokens["admin"]), RPCs: []string{"admin"}}})
		if err := as.authn.Reload(); err != nil {
			t.Fatal(err)
		}
		_, err := reader.Search(ctx, search)
		wantCode(t, err, codes.Unauthenticated, "revoked token")
	})
}

type rawAuth string

func (r rawAuth) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": string(r)}, nil
}
func (rawAuth) RequireTransportSecurity() bool { return true }

// TestScopes: a token for account A learns nothing about account B through
// hits, totals, facets, histograms, GetEvent, Subscribe, Stats, page tokens
// or cursors.
func TestScopes(t *testing.T) {
	as := startAuth(t)
	ctx := context.Background()
	reader := as.dial(t, client.WithToken(as.tokens["reader-a"]))
	admin := as.dial(t, client.WithToken(as.tokens["admin"]))
	wantA := as.count[acctA]

	t.Run("hits totals facets histogram", func(t *testing.T) {
		res, err := reader.Search(ctx, &pb.SearchRequest{Query: "*", PageSize: 100,
			Facets:    []*pb.FacetRequest{{Field: "account"}, {Field: "awsRegion"}},
			Histogram: &pb.HistogramRequest{Interval: "1d"}})
		if err != nil {
			t.Fatal(err)
		}
		if res.GetTotalHits() != int64(wantA) || len(res.GetEvents()) != wantA {
			t.Fatalf("total %d, %d hits; want %d", res.GetTotalHits(), len(res.GetEvents()), wantA)
		}
		for _, e := range res.GetEvents() {
			if e.GetAccountId() != acctA {
				t.Fatalf("hit of account %s", e.GetAccountId())
			}
		}
		accounts := res.GetFacets()[0].GetCounts()
		if len(accounts) != 1 || accounts[0].GetValue() != acctA || accounts[0].GetCount() != int64(wantA) {
			t.Fatalf("account facet %v", accounts)
		}
		var regions, buckets int64
		for _, v := range res.GetFacets()[1].GetCounts() {
			regions += v.GetCount()
		}
		for _, b := range res.GetHistogram() {
			buckets += b.GetCount()
		}
		if regions != int64(wantA) || buckets != int64(wantA) {
			t.Fatalf("region facet sums to %d, histogram to %d; want %d", regions, buckets, wantA)
		}
		// Asking for B explicitly finds nothing, and counts nothing.
		res, err = reader.Search(ctx, &pb.SearchRequest{Query: "account:" + acctB, Facets: []*pb.FacetRequest{{Field: "account"}}})
		if err != nil || res.GetTotalHits() != 0 || len(res.GetFacets()[0].GetCounts()) != 0 {
			t.Fatalf("search for B: %v %v", res, err)
		}
		// The admin sees both.
		res, err = admin.Search(ctx, &pb.SearchRequest{Query: "*"})
		if err != nil || res.GetTotalHits() != int64(wantA+as.count[acctB]) {
			t.Fatalf("admin total %d %v", res.GetTotalHits(), err)
		}
	})
	t.Run("GetEvent", func(t *testing.T) {
		_, errB := reader.GetEvent(ctx, "ev-00", pb.EventView_EVENT_VIEW_SUMMARY) // account B
		_, errMissing := reader.GetEvent(ctx, "ev-99", pb.EventView_EVENT_VIEW_SUMMARY)
		wantCode(t, errB, codes.NotFound, "event of B")
		wantCode(t, errMissing, codes.NotFound, "missing event")
		if strings.ReplaceAll(status.Convert(errB).Message(), "ev-00", "ID") != strings.ReplaceAll(status.Convert(errMissing).Message(), "ev-99", "ID") {
			t.Fatalf("messages differ: %q vs %q", status.Convert(errB).Message(), status.Convert(errMissing).Message())
		}
		if _, err := reader.GetEvent(ctx, "ev-01", pb.EventView_EVENT_VIEW_SUMMARY); err != nil {
			t.Fatalf("event of A: %v", err)
		}
	})
	t.Run("Subscribe", func(t *testing.T) {
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		stream, err := pb.NewEventServiceClient(reader.Conn()).Subscribe(sctx, &pb.SubscribeRequest{Start: &pb.SubscribeRequest_FromStart{FromStart: true}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			m, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if e := m.GetEvent(); e != nil {
				if e.GetAccountId() != acctA {
					t.Fatalf("streamed an event of %s", e.GetAccountId())
				}
				n++
			}
			if m.GetCaughtUp() != nil {
				break
			}
		}
		if n != wantA {
			t.Fatalf("replayed %d events, want %d", n, wantA)
		}
		// Live: of a B event and an A event stored together, only A's comes.
		live := `{"Records":[{"eventVersion":"1.08","eventID":"live-b","eventTime":"2024-04-09T12:00:00Z","eventSource":"codebuild.amazonaws.com","eventName":"StopBuild","awsRegion":"us-east-1","recipientAccountId":"` + acctB + `"},` +
			`{"eventVersion":"1.08","eventID":"live-a","eventTime":"2024-04-09T12:00:01Z","eventSource":"codebuild.amazonaws.com","eventName":"StopBuild","awsRegion":"us-east-1","recipientAccountId":"` + acctA + `"}]}`
		ingestAll(t, as.dial(t, client.WithToken(as.tokens["ingester"])), client.Input{Name: "live.json", Data: []byte(live)})
		as.count[acctA]++
		as.count[acctB]++
		wantA++
		for {
			m, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if e := m.GetEvent(); e != nil {
				if e.GetEventId() != "live-a" {
					t.Fatalf("live event %s streamed to reader-a", e.GetEventId())
				}
				break
			}
		}
	})
	t.Run("Stats", func(t *testing.T) {
		st, err := reader.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.GetEvents() != int64(wantA) || len(st.GetSources()) != 0 || st.GetCursor() != "" || st.GetIndexSizeBytes() != 0 ||
			st.GetIngest() != nil || st.GetSubscribers() != nil || len(st.GetRecentProblems()) != 0 {
			t.Fatalf("scoped stats tell too much: %v", st)
		}
		full, err := admin.Stats(ctx)
		if err != nil || full.GetEvents() != int64(wantA+as.count[acctB]) || len(full.GetSources()) == 0 {
			t.Fatalf("admin stats %v %v", full, err)
		}
	})
	t.Run("page tokens and cursors", func(t *testing.T) {
		res, err := reader.Search(ctx, &pb.SearchRequest{Query: "*", PageSize: 5})
		if err != nil || res.GetNextPageToken() == "" {
			t.Fatalf("%v %v", res, err)
		}
		// The same request under another scope refuses the token: it cannot
		// widen what the reader asked for.
		_, err = admin.Search(ctx, &pb.SearchRequest{Query: "*", PageSize: 5, PageToken: res.GetNextPageToken()})
		wantCode(t, err, codes.InvalidArgument, "page token under another scope")
		tok := []byte(res.GetNextPageToken())
		tok[len(tok)/2] ^= 1
		_, err = reader.Search(ctx, &pb.SearchRequest{Query: "*", PageSize: 5, PageToken: string(tok)})
		wantCode(t, err, codes.InvalidArgument, "tampered page token")
		// Cursors of consecutive events share no readable counter.
		a, b := res.GetEvents()[0].GetCursor(), res.GetEvents()[1].GetCursor()
		if len(a) != len(b) || commonPrefix(a, b) > 2 {
			t.Fatalf("cursors look related: %s %s", a, b)
		}
	})
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
