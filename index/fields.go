package index

import (
	"fmt"
	"sort"
	"strings"

	"github.com/codetrail/codetrail/index/record"
)

// Names of the Bleve fields. Typed keyword fields use the CloudTrail name so
// that facets and errors read naturally.
const (
	fieldText   = "text"      // analysed: every string leaf
	fieldKV     = "kv"        // keyword: "path=value" for every leaf not typed
	fieldExists = "_exists"   // keyword: every present path, its ancestors and typed field names
	fieldTime   = "eventTime" // its full-precision numeric term, with doc values (buildDocument)
	fieldSeq    = "_seq"      // keyword: seqKey, for store order
	fieldOrder  = "_order"    // keyword: timeKey + seqKey, the sort key of time orders
	fieldBlob   = "_blob"     // stored only: header + original record
	fieldSum    = "_sum"      // stored only: the typed fields (summary.go)
	fieldHour   = "_hour"     // keyword: hourKey of eventTime, whose dictionary counts answer histograms over all events
	kvSep       = "="
)

// fieldKind says how a query on a field is compiled.
type fieldKind uint8

const (
	kindKeyword fieldKind = iota + 1 // exact terms, case as in the record
	kindTime                         // eventTime: date ranges
	kindID                           // eventID: document id
	kindKV                           // any other path: terms in fieldKV
	kindText                         // all text
)

// keywordField is one typed keyword field of the document.
type keywordField struct {
	name    string // Bleve field name and canonical query name
	aliases []string
	// leaf is the record path this field is taken from for CloudTrail
	// records; leaves with that path are left out of fieldKV to save space.
	leaf      string
	facetable bool // doc values for facets and sorting
	value     func(*record.Event) string
}

// keywordFields lists every typed keyword field. Order is the order in docs.
var keywordFields = []keywordField{
	{name: "eventSource", aliases: []string{"source"}, leaf: "eventSource", facetable: true, value: func(e *record.Event) string { return e.Source }},
	{name: "eventName", aliases: []string{"name"}, leaf: "eventName", facetable: true, value: func(e *record.Event) string { return e.Name }},
	{name: "service", facetable: true, value: func(e *record.Event) string { return e.Service }},
	{name: "awsRegion", aliases: []string{"region"}, leaf: "awsRegion", facetable: true, value: func(e *record.Event) string { return e.Region }},
	{name: "account", aliases: []string{"accountId"}, facetable: true, value: func(e *record.Event) string { return e.Account }},
	{name: "user", facetable: true, value: func(e *record.Event) string { return e.UserName }},
	{name: "userIdentity.type", leaf: "userIdentity.type", facetable: true, value: func(e *record.Event) string { return e.UserType }},
	{name: "userIdentity.arn", leaf: "userIdentity.arn", facetable: true, value: func(e *record.Event) string { return e.UserARN }},
	{name: "userIdentity.principalId", leaf: "userIdentity.principalId", value: func(e *record.Event) string { return e.PrincipalID }},
	{name: "userIdentity.accessKeyId", leaf: "userIdentity.accessKeyId", value: func(e *record.Event) string { return e.AccessKeyID }},
	{name: "userIdentity.invokedBy", leaf: "userIdentity.invokedBy", facetable: true, value: func(e *record.Event) string { return e.InvokedBy }},
	{name: "userIdentity.accountId", leaf: "userIdentity.accountId", facetable: true, value: func(e *record.Event) string { return e.UserAccount }},
	{name: "sourceIPAddress", aliases: []string{"ip"}, leaf: "sourceIPAddress", facetable: true, value: func(e *record.Event) string { return e.SourceIP }},
	{name: "userAgent", leaf: "userAgent", facetable: true, value: func(e *record.Event) string { return e.UserAgent }},
	{name: "errorCode", aliases: []string{"error"}, leaf: "errorCode", facetable: true, value: func(e *record.Event) string { return e.ErrorCode }},
	{name: "readOnly", leaf: "readOnly", facetable: true, value: func(e *record.Event) string { return e.ReadOnly }},
	{name: "eventType", leaf: "eventType", facetable: true, value: func(e *record.Event) string { return e.EventType }},
	{name: "eventCategory", leaf: "eventCategory", facetable: true, value: func(e *record.Event) string { return e.Category }},
	{name: "eventVersion", leaf: "eventVersion", facetable: true, value: func(e *record.Event) string { return e.Version }},
	{name: "requestID", leaf: "requestID", value: func(e *record.Event) string { return e.RequestID }},
}

// fieldSpec is what a query field name resolves to.
type fieldSpec struct {
	kind    fieldKind
	name    string        // canonical name (Bleve field for keywords, record path for KV)
	keyword *keywordField // set for kindKeyword
}

var (
	fieldByName = map[string]*keywordField{}
	// typedLeaves are the record paths covered by a typed field.
	typedLeaves = map[string]bool{"eventID": true, "eventTime": true}
)

func init() {
	for i := range keywordFields {
		f := &keywordFields[i]
		fieldByName[f.name] = f
		for _, a := range f.aliases {
			fieldByName[a] = f
		}
		if f.leaf != "" {
			typedLeaves[f.leaf] = true
		}
	}
}

// multiField names the multi-valued keyword field of resources.
const multiResource = "resource"

// resolveField maps a query field name (CloudTrail name or alias) to how it
// is indexed.
func resolveField(name string) fieldSpec {
	switch name {
	case "":
		return fieldSpec{kind: kindText, name: fieldText}
	case "eventID", "id":
		return fieldSpec{kind: kindID, name: "eventID"}
	case "eventTime", "time", "@timestamp":
		return fieldSpec{kind: kindTime, name: fieldTime}
	case multiResource, "resources":
		return fieldSpec{kind: kindKeyword, name: multiResource}
	}
	if f, ok := fieldByName[name]; ok {
		return fieldSpec{kind: kindKeyword, name: f.name, keyword: f}
	}
	return fieldSpec{kind: kindKV, name: name}
}

// facetField resolves a facet field name; only typed keyword fields with doc
// values can be faceted.
func facetField(name string) (string, error) {
	spec := resolveField(name)
	if spec.kind == kindKeyword && (spec.name == multiResource || spec.keyword.facetable) {
		return spec.name, nil
	}
	return "", fmt.Errorf("%w: cannot facet on %q; facet fields are %s", ErrInvalid, name, strings.Join(FacetFields(), ", "))
}

// FacetFields lists the field names (canonical, not aliases) that facets accept.
func FacetFields() []string {
	var out []string
	for _, f := range keywordFields {
		if f.facetable {
			out = append(out, f.name)
		}
	}
	out = append(out, multiResource)
	sort.Strings(out)
	return out
}
