package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/codetrail/codetrail/index"
)

// RPC classes an identity may be granted.
const (
	RPCSearch    = "search"    // Search, GetEvent, Stats limited to the scope
	RPCSubscribe = "subscribe" // Subscribe
	RPCIngest    = "ingest"    // Ingest
	RPCAdmin     = "admin"     // everything, Stats in full
)

var rpcClasses = []string{RPCSearch, RPCSubscribe, RPCIngest, RPCAdmin}

// File is the identities file.
//
//	{"identities": [
//	  {"name": "ci-reader", "token_sha256": "<64 hex>", "rpcs": ["search", "subscribe"],
//	   "accounts": ["111122223333"], "regions": ["us-east-1"], "services": ["codebuild"]},
//	  {"name": "ops", "cert_cn": "ops.example.com", "rpcs": ["admin"]}
//	]}
type File struct {
	Identities []IdentityConfig `json:"identities"`
}

// IdentityConfig is one identity of the file.
type IdentityConfig struct {
	Name string `json:"name"`
	// TokenSHA256 is the hex SHA-256 of the bearer token (see NewToken).
	TokenSHA256 string `json:"token_sha256,omitempty"`
	// CertCN is the subject common name of a client certificate, verified
	// against the server's client CA, that stands for this identity.
	CertCN   string   `json:"cert_cn,omitempty"`
	RPCs     []string `json:"rpcs"`
	Accounts []string `json:"accounts,omitempty"`
	Regions  []string `json:"regions,omitempty"`
	Services []string `json:"services,omitempty"`
}

// Identity is an authenticated caller.
type Identity struct {
	Name  string
	rpcs  map[string]bool
	Scope index.Scope
}

// Allowed reports whether the identity may call RPCs of class.
func (id *Identity) Allowed(class string) bool { return id.rpcs[RPCAdmin] || id.rpcs[class] }

// Admin reports whether the identity has the admin class.
func (id *Identity) Admin() bool { return id.rpcs[RPCAdmin] }

// identities is a loaded file, by token hash and by certificate name.
type identities struct {
	byToken map[[sha256.Size]byte]*Identity
	byCN    map[string]*Identity
}

var (
	hexRE     = regexp.MustCompile(`^[0-9a-f]{64}$`)
	accountRE = regexp.MustCompile(`^\d{12}$`)
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9._@:-]{1,64}$`)
)

// load reads and checks an identities file.
func load(path string) (*identities, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read identities: %w", err)
	}
	return parse(data)
}

func parse(data []byte) (*identities, error) {
	var f File
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("identities file: %w", err)
	}
	// Two files pasted together must not load as the first one.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("identities file: text after the JSON object at byte %d", dec.InputOffset())
	}
	return build(f)
}

// Check reports the first problem of f as serve would.
func Check(f File) error {
	_, err := build(f)
	return err
}

func build(f File) (*identities, error) {
	ids := &identities{byToken: map[[sha256.Size]byte]*Identity{}, byCN: map[string]*Identity{}}
	names := map[string]bool{}
	for i, c := range f.Identities {
		where := fmt.Sprintf("identities[%d] (%s)", i, c.Name)
		switch {
		case !nameRE.MatchString(c.Name):
			return nil, fmt.Errorf("%s: name must be 1 to 64 letters, digits or ._@:-", where)
		case names[c.Name]:
			return nil, fmt.Errorf("%s: name used twice", where)
		case c.TokenSHA256 == "" && c.CertCN == "":
			return nil, fmt.Errorf("%s: give token_sha256, cert_cn or both", where)
		case c.TokenSHA256 != "" && !hexRE.MatchString(c.TokenSHA256):
			return nil, fmt.Errorf("%s: token_sha256 must be 64 lower-case hex digits (the SHA-256 of the token, not the token)", where)
		case len(c.RPCs) == 0:
			return nil, fmt.Errorf("%s: rpcs is empty; give some of %s", where, strings.Join(rpcClasses, ", "))
		}
		names[c.Name] = true
		id := &Identity{Name: c.Name, rpcs: map[string]bool{}, Scope: index.Scope{Accounts: c.Accounts, Regions: c.Regions, Services: c.Services}}
		for _, r := range c.RPCs {
			if !slices.Contains(rpcClasses, r) {
				return nil, fmt.Errorf("%s: unknown rpc class %q; use %s", where, r, strings.Join(rpcClasses, ", "))
			}
			id.rpcs[r] = true
		}
		for _, a := range c.Accounts {
			if !accountRE.MatchString(a) {
				return nil, fmt.Errorf("%s: account %q is not a 12-digit account id", where, a)
			}
		}
		if !id.Scope.IsZero() && (id.rpcs[RPCIngest] || id.rpcs[RPCAdmin]) {
			// A scope limits reading; writes and admin views cannot be
			// limited to it, so granting them would leak around it.
			return nil, fmt.Errorf("%s: a scoped identity cannot have ingest or admin", where)
		}
		if c.TokenSHA256 != "" {
			var h [sha256.Size]byte
			_, _ = hex.Decode(h[:], []byte(c.TokenSHA256))
			if _, dup := ids.byToken[h]; dup {
				return nil, fmt.Errorf("%s: token used by another identity", where)
			}
			ids.byToken[h] = id
		}
		if c.CertCN != "" {
			if _, dup := ids.byCN[c.CertCN]; dup {
				return nil, fmt.Errorf("%s: cert_cn %q used by another identity", where, c.CertCN)
			}
			ids.byCN[c.CertCN] = id
		}
	}
	if len(ids.byToken)+len(ids.byCN) == 0 {
		return nil, errors.New("identities file lists no identity")
	}
	return ids, nil
}

// NewToken returns a new random bearer token and the hex SHA-256 to put in
// the identities file.
func NewToken() (token, sha string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("make token: %w", err)
	}
	token = "ct_" + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken returns the hex SHA-256 of token, as the identities file holds it.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
