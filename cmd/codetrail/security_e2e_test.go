package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pemPair writes a certificate (signed by parent, or self-signed) and its
// key under dir as name.pem and name-key.pem.
func pemPair(t *testing.T, dir, name, cn string, isCA bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+"-key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

// TestSecurityEndToEnd drives TLS, mutual TLS, tokens with scopes and a
// SIGHUP reload through the binary, its CLI and the real grpcurl.
func TestSecurityEndToEnd(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := pemPair(t, dir, "ca", "codetrail e2e CA", true, nil, nil)
	pemPair(t, dir, "server", "127.0.0.1", false, ca, caKey)
	pemPair(t, dir, "ops", "ops", false, ca, caKey)
	p := func(name string) string { return filepath.Join(dir, name) }

	// Tokens made by the CLI, as an operator would.
	newToken := func(args ...string) (token, entry string) {
		lines := strings.Split(strings.TrimSpace(run1(t, append([]string{"token"}, args...)...)), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "ct_") {
			t.Fatalf("token output %q", lines)
		}
		return lines[0], lines[1]
	}
	readerTok, readerEntry := newToken("--name", "reader", "--accounts", "111122223333")
	adminTok, adminEntry := newToken("--name", "admin", "--rpcs", "admin")
	writeIDs := func(entries ...string) {
		if err := os.WriteFile(p("ids.json"), []byte(`{"identities":[`+strings.Join(entries, ",")+`]}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeIDs(readerEntry, adminEntry, `{"name":"ops","cert_cn":"ops","rpcs":["search"]}`)
	if err := os.WriteFile(p("reader.token"), []byte(readerTok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	data := t.TempDir()
	genDir := filepath.Join(data, "trail")
	run1(t, "gen", "--events", "2000", "--out", genDir)
	srv := startServer(t, "--data", data, "--source", genDir,
		"--tls-cert", p("server.pem"), "--tls-key", p("server-key.pem"), "--client-ca", p("ca.pem"), "--tokens", p("ids.json"))

	grpcurlTLS := func(args ...string) (string, error) {
		cmd := exec.Command(grpcurlPath(t), append([]string{"-cacert", p("ca.pem")}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// Wait for the dataset, as admin.
	deadline := time.Now().Add(90 * time.Second)
	var total, mine int
	for {
		out, err := grpcurlTLS("-H", "authorization: Bearer "+adminTok, srv.addr, "codetrail.v1.EventService/Stats")
		var st statsJSON
		if err == nil && json.Unmarshal([]byte(out), &st) == nil && st.Events == "2000" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dataset not stored: %s %v", out, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	count := func(out string) int {
		var r struct {
			TotalHits string `json:"totalHits"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		n := 0
		for _, c := range r.TotalHits {
			n = n*10 + int(c-'0')
		}
		return n
	}
	out, err := grpcurlTLS("-H", "authorization: Bearer "+adminTok, "-d", `{"query":"*","page_size":1}`, srv.addr, "codetrail.v1.EventService/Search")
	if err != nil {
		t.Fatalf("admin search: %v\n%s", err, out)
	}
	total = count(out)
	out, err = grpcurlTLS("-H", "authorization: Bearer "+readerTok, "-d", `{"query":"*","page_size":1}`, srv.addr, "codetrail.v1.EventService/Search")
	if err != nil {
		t.Fatalf("reader search: %v\n%s", err, out)
	}
	mine = count(out)
	if total != 2000 || mine == 0 || mine >= total {
		t.Fatalf("admin sees %d, reader of one account %d", total, mine)
	}

	// grpcurl: no credentials, plaintext, and a client certificate.
	if out, err := grpcurlTLS(srv.addr, "codetrail.v1.EventService/Stats"); err == nil || !strings.Contains(out, "Unauthenticated") {
		t.Fatalf("no credentials: %v %s", err, out)
	}
	if out, _, err := grpcurl(t, srv.addr, "", "codetrail.v1.EventService/Stats"); err == nil {
		t.Fatalf("plaintext against TLS answered: %s", out)
	}
	if out, err := grpcurlTLS("-cert", p("ops.pem"), "-key", p("ops-key.pem"), "-d", `{"query":"*","page_size":1}`, srv.addr, "codetrail.v1.EventService/Search"); err != nil || count(out) != 2000 {
		t.Fatalf("client certificate ops: %v %s", err, out)
	}

	// The CLI with a token file and the CA.
	cli := func(args ...string) (string, error) {
		out, err := exec.Command(binary(t), args...).CombinedOutput()
		return string(out), err
	}
	common := []string{"--server", srv.addr, "--tls-ca", p("ca.pem"), "--token-file", p("reader.token")}
	if out, err := cli(append([]string{"search", "--count"}, append(common, "*")...)...); err != nil || strings.TrimSpace(lastLine(out)) != itoa(mine) {
		t.Fatalf("cli search --count: %v %q, want %d", err, out, mine)
	}

	// SIGHUP with the reader removed revokes its token.
	writeIDs(adminEntry)
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		out, err := grpcurlTLS("-H", "authorization: Bearer "+readerTok, srv.addr, "codetrail.v1.EventService/Stats")
		if err != nil && strings.Contains(out, "Unauthenticated") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reader still accepted after SIGHUP: %s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	srv.stop(t)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestPlaintextRefusedOffLoopback: plaintext only when asked for.
func TestPlaintextRefusedOffLoopback(t *testing.T) {
	out, err := exec.Command(binary(t), "serve", "--listen", "0.0.0.0:0", "--data", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "refusing plaintext") {
		t.Fatalf("serve on 0.0.0.0 without TLS: %v\n%s", err, out)
	}
}
