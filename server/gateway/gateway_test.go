package gateway_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"

	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/ingest"
	"github.com/codetrail/codetrail/server"
	"github.com/codetrail/codetrail/server/auth"
	"github.com/codetrail/codetrail/server/gateway"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker"))
}

type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *ca {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gateway test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return &ca{cert: c, key: key, pool: pool}
}

func (c *ca) issue(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestClientCertificateThroughGateway: a verified HTTP client certificate
// stands for its identity (with its scope); the metadata that carries it
// cannot be forged by a caller without one.
func TestClientCertificateThroughGateway(t *testing.T) {
	ctx := context.Background()
	authority := newCA(t)
	ids := filepath.Join(t.TempDir(), "ids.json")
	if err := os.WriteFile(ids, []byte(`{"identities":[{"name":"ops","cert_cn":"ops","rpcs":["search"],"accounts":["111111111111"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(auth.Config{File: ids, MutualTLS: true}, nil)
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
	srv, err := server.New(server.DefaultConfig(), st, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := `{"Records":[{"eventID":"a1","eventTime":"2024-01-01T00:00:00Z","eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","recipientAccountId":"111111111111"},` +
		`{"eventID":"b1","eventTime":"2024-01-01T00:00:01Z","eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","recipientAccountId":"222222222222"}]}`
	if _, err := in.Input(ctx, "t", "t.json", []byte(recs), nil); err != nil {
		t.Fatal(err)
	}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{authority.issue(t, "127.0.0.1")}, ClientCAs: authority.pool,
		ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS12}
	g := grpc.NewServer(grpc.Creds(gateway.Creds(tlsCfg)),
		grpc.ChainUnaryInterceptor(authn.UnaryInterceptor), grpc.ChainStreamInterceptor(authn.StreamInterceptor))
	srv.Register(g)
	gw, err := gateway.New(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = g.Serve(gw.Listener()); close(done) }()
	hs := httptest.NewUnstartedServer(gw.Handler())
	hs.TLS = tlsCfg
	hs.StartTLS()
	t.Cleanup(func() {
		hs.Close()
		_ = gw.Close()
		g.Stop()
		<-done
		in.Close()
		_ = st.Close()
	})

	post := func(cert *tls.Certificate, hdr map[string]string) (int, string) {
		cfg := &tls.Config{RootCAs: authority.pool, MinVersion: tls.VersionTLS12}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		tr := &http.Transport{TLSClientConfig: cfg}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequest("POST", hs.URL+"/v1/search", strings.NewReader(`{"query":"*"}`))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ops := authority.issue(t, "ops")
	if code, body := post(&ops, nil); code != 200 || !strings.Contains(body, `"eventId":"a1"`) || strings.Contains(body, `"b1"`) || !strings.Contains(body, `"totalHits":"1"`) {
		t.Fatalf("ops certificate: %d %s", code, body)
	}
	stranger := authority.issue(t, "stranger")
	if code, body := post(&stranger, nil); code != 401 {
		t.Fatalf("unmapped certificate: %d %s", code, body)
	}
	for _, h := range []string{"Grpc-Metadata-" + auth.GatewayCNKey, auth.GatewayCNKey} {
		if code, body := post(nil, map[string]string{h: "ops"}); code != 401 {
			t.Fatalf("forged %s header: %d %s", h, code, body)
		}
	}
}
