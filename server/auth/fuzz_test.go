package auth

import (
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"
)

// FuzzParse checks the identities file parser: it returns identities or an
// error, never both; it accepts only whole JSON documents (a file is checked,
// not its first value); what it accepts is what Check accepts, with every
// identity reachable by its token and certificate name and holding exactly
// the classes and scope listed; and the file re-encoded parses the same.
func FuzzParse(f *testing.F) {
	tok := HashToken("ct_example")
	for _, s := range []string{
		`{"identities": [
		  {"name": "ci-reader", "token_sha256": "` + tok + `", "rpcs": ["search", "subscribe"],
		   "accounts": ["111122223333"], "regions": ["us-east-1"], "services": ["codebuild"]},
		  {"name": "ops", "cert_cn": "ops.example.com", "rpcs": ["admin"]}
		]}`,
		`{"identities":[{"name":"a","token_sha256":"` + tok + `","cert_cn":"a.example","rpcs":["ingest","search"]}]}`,
		`{"identities":[{"name":"a","cert_cn":"x","rpcs":["search"]},{"name":"a","cert_cn":"y","rpcs":["search"]}]}`,
		`{"identities":[{"name":"a","token_sha256":"` + tok + `","rpcs":["search"]},{"name":"b","token_sha256":"` + tok + `","rpcs":["search"]}]}`,
		`{"identities":[{"name":"s","cert_cn":"s","rpcs":["admin"],"accounts":["111122223333"]}]}`,
		`{"identities":[{"name":"u","token_sha256":"ABCDEF","rpcs":["search"]}]}`,
		`{"identities":[{"name":"u","cert_cn":"c","rpcs":["read"]}]}`,
		`{"identities":[{"name":"u","cert_cn":"c","rpcs":["search"],"accounts":["1234"]}]}`,
		`{"identities":[{"name":"u","cert_cn":"c","rpcs":["search"],"extra":1}]}`,
		`{"identities":[]}`, `{}`, `null`, `[]`, ``, `{"identities":[{"name":""}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ids, err := parse(data)
		if (ids == nil) == (err == nil) {
			t.Fatalf("parse(%q) = %v, %v: want exactly one of identities and error", data, ids, err)
		}
		if err != nil {
			return
		}
		// json.Unmarshal rejects anything after the first value, as a
		// file parser should; it is lenient about unknown fields, which
		// parse has already refused.
		var file File
		if err := json.Unmarshal(data, &file); err != nil {
			t.Fatalf("parse(%q) accepted a file json.Unmarshal rejects: %v", data, err)
		}
		if err := Check(file); err != nil {
			t.Fatalf("parse(%q) accepted a file Check rejects: %v", data, err)
		}
		checkIdentities(t, data, file, ids)

		again, err := json.Marshal(file)
		if err != nil {
			t.Fatal(err)
		}
		ids2, err := parse(again)
		if err != nil {
			t.Fatalf("re-encoded file %s does not parse: %v", again, err)
		}
		checkIdentities(t, again, file, ids2)
	})
}

// checkIdentities checks that ids holds exactly the identities of file.
func checkIdentities(t *testing.T, data []byte, file File, ids *identities) {
	t.Helper()
	distinct := map[*Identity]bool{}
	for _, c := range file.Identities {
		var id *Identity
		if c.TokenSHA256 != "" {
			h, _ := hex.DecodeString(c.TokenSHA256)
			id = ids.byToken[[32]byte(h)]
			if id == nil || id.Name != c.Name {
				t.Fatalf("%q: token of %q finds %+v", data, c.Name, id)
			}
		}
		if c.CertCN != "" {
			byCN := ids.byCN[c.CertCN]
			if byCN == nil || byCN.Name != c.Name || id != nil && byCN != id {
				t.Fatalf("%q: cert_cn of %q finds %+v", data, c.Name, byCN)
			}
			id = byCN
		}
		distinct[id] = true
		for _, class := range rpcClasses {
			want := slices.Contains(c.RPCs, class) || slices.Contains(c.RPCs, RPCAdmin)
			if id.Allowed(class) != want {
				t.Fatalf("%q: %q Allowed(%s) = %v, rpcs %q", data, c.Name, class, !want, c.RPCs)
			}
		}
		if !slices.Equal(id.Scope.Accounts, c.Accounts) || !slices.Equal(id.Scope.Regions, c.Regions) ||
			!slices.Equal(id.Scope.Services, c.Services) {
			t.Fatalf("%q: %q scope %+v, config %+v", data, c.Name, id.Scope, c)
		}
		// A scope limits reads only, so no scoped identity may write or
		// see everything.
		if !id.Scope.IsZero() && (id.Admin() || id.Allowed(RPCIngest)) {
			t.Fatalf("%q: scoped identity %q has ingest or admin", data, c.Name)
		}
	}
	if len(distinct) != len(file.Identities) {
		t.Fatalf("%q: %d identities listed, %d distinct loaded", data, len(file.Identities), len(distinct))
	}
	for _, id := range ids.byToken {
		if !distinct[id] {
			t.Fatalf("%q: identity %q by token is not in the file", data, id.Name)
		}
	}
	for _, id := range ids.byCN {
		if !distinct[id] {
			t.Fatalf("%q: identity %q by cert_cn is not in the file", data, id.Name)
		}
	}
}
