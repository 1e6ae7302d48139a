package index

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/numeric"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/codetrail/codetrail/index/record"
)

// maxTokenLen drops longer tokens from the text field: they are base64
// blobs and hashes nobody types, and they bloat the term dictionary.
const maxTokenLen = 100

// maxKVValueLen leaves longer values (policy documents, certificates) out of
// the kv field; they stay searchable as text.
const maxKVValueLen = 1024

const (
	optKeyword = bindex.IndexField
	optFacet   = bindex.IndexField | bindex.DocValues
	// optSortKey is for the fields read for every match of a sort or a
	// histogram. Compressed doc values come in chunks of 1,024 documents,
	// and Bleve decompresses a whole chunk for each match in another one:
	// a fifth of a newest-first search's CPU on 1M events. Uncompressed,
	// one document a chunk, a match reads its own value (about 40 bytes
	// more of disk per event). Segments written before keep their chunks;
	// a merge with one of them writes chunks again. (Without
	// SkipDVChunking, zapx v17.2.3 reads uncompressed values wrongly:
	// sorts and histograms came out wrong in our tests.)
	optSortKey   = optFacet | bindex.SkipDVCompression | bindex.SkipDVChunking
	optText      = bindex.IndexField | bindex.IncludeTermVectors
	optStoreOnly = bindex.StoreField
)

// sortKeyOpts are the options of the sort and histogram keys; a variable
// only so that a test can write segments as earlier versions did.
var sortKeyOpts = optSortKey

// analyzeText returns the lowercased tokens of s as the text field indexes them.
func analyzeText(s string) []string {
	toks := wordTokens([]byte(s), nil)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = string(t.term)
	}
	return out
}

// docField is one keyword or analysed field value of a document.
type docField struct {
	name  string
	value []byte
	opts  bindex.FieldIndexingOptions
	tok   tokenizer
}

// documentFields lists the text fields of the document of ev: everything
// but eventTime, _seq and the stored blob. The Bleve document and the
// in-memory matcher of subscriptions both take their terms from its parts
// (keywordDocFields, leafDocFields, existsPaths), so a query means the same
// on both.
func documentFields(ev *record.Event) []docField {
	fields := keywordDocFields(ev, make([]docField, 0, len(keywordFields)+len(ev.Resources)+3))
	fields = leafDocFields(ev, fields)
	exists := existsPaths(ev)
	return append(fields, docField{fieldExists, []byte(joinLines(exists)), optKeyword, eachLine})
}

// joinLines joins a set of values, one per line, as the eachLine tokenizer reads them.
func joinLines(set map[string]struct{}) string {
	var sb strings.Builder
	for v := range set {
		sb.WriteString(v)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// keywordDocFields appends the typed keyword fields of ev and its
// resources to fields. Each value is one exact term.
func keywordDocFields(ev *record.Event, fields []docField) []docField {
	for i := range keywordFields {
		f := &keywordFields[i]
		v := f.value(ev)
		if v == "" {
			continue
		}
		opt := optKeyword
		if f.facetable {
			opt = optFacet
		}
		fields = append(fields, docField{f.name, []byte(v), opt, wholeValue})
	}
	for _, r := range ev.Resources {
		fields = append(fields, docField{multiResource, []byte(r), optFacet, wholeValue})
	}
	return fields
}

// leafDocFields appends the text field (every distinct leaf value, and the
// service) and the path=value list of ev to fields: the costly part of a
// document, which a live matcher builds only when a query asks for it.
func leafDocFields(ev *record.Event, fields []docField) []docField {
	var text, kv strings.Builder
	seen := make(map[string]struct{}, ev.Leaves.Len())
	for l := range ev.Leaves.All() {
		if _, dup := seen[l.Value]; !dup {
			seen[l.Value] = struct{}{}
			text.WriteString(l.Value)
			text.WriteByte('\n')
		}
		if ev.Kind == record.KindCloudTrail && typedLeaves[l.Path] {
			continue
		}
		if len(l.Value) > maxKVValueLen || strings.IndexByte(l.Value, '\n') >= 0 {
			continue
		}
		kv.WriteString(l.Path)
		kv.WriteString(kvSep)
		kv.WriteString(l.Value)
		kv.WriteByte('\n')
	}
	if ev.Service != "" {
		text.WriteString(ev.Service)
	}
	fields = append(fields, docField{fieldText, []byte(text.String()), optText, words})
	if kv.Len() > 0 {
		fields = append(fields, docField{fieldKV, []byte(kv.String()), optKeyword, eachLine})
	}
	return fields
}

// existsPaths returns what the _exists field of ev lists: the names of its
// typed fields that have a value, and every leaf path with its ancestors.
func existsPaths(ev *record.Event) map[string]struct{} {
	exists := make(map[string]struct{}, ev.Leaves.Len()+8)
	addExists := func(p string) {
		for p != "" {
			if _, ok := exists[p]; ok {
				return
			}
			exists[p] = struct{}{}
			i := strings.LastIndexByte(p, '.')
			if i < 0 {
				return
			}
			p = p[:i]
		}
	}
	for i := range keywordFields {
		if f := &keywordFields[i]; f.value(ev) != "" {
			addExists(f.name)
		}
	}
	if len(ev.Resources) > 0 {
		addExists(multiResource)
	}
	if _, ok := indexedTime(ev); ok {
		addExists(fieldTime)
	}
	for l := range ev.Leaves.All() {
		addExists(l.Path)
	}
	return exists
}

// indexedTime returns the eventTime as the index holds it; ok is false when
// the event has none (or one Bleve cannot represent), so it is not indexed.
func indexedTime(ev *record.Event) (time.Time, bool) {
	if ev.Time.IsZero() {
		return time.Time{}, false
	}
	// Bleve's own test (canRepresent), without building a field: this runs
	// several times per event, and for every live event a subscriber tests.
	if ev.Time.Before(document.MinTimeRepresentable) || ev.Time.After(document.MaxTimeRepresentable) {
		return time.Time{}, false
	}
	return ev.Time, true
}

// hourKey is the hour t falls in (UTC, hours since 1970) as 16 hex digits
// in time order, the sign bit flipped so that hours before 1970 sort first.
func hourKey(t time.Time) string {
	return fmt.Sprintf("%016x", uint64(hourOf(t))^(1<<63))
}

// hourOf is the number of whole hours from 1970 to t, rounded down.
func hourOf(t time.Time) int64 {
	sec := t.Unix()
	h := sec / 3600
	if sec%3600 < 0 {
		h--
	}
	return h
}

// parseHourKey reverses hourKey.
func parseHourKey(k string) (time.Time, bool) {
	u, err := strconv.ParseUint(k, 16, 64)
	if len(k) != 16 || err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(u^(1<<63))*3600, 0).UTC(), true
}

// seqKey is a sequence number as 16 hex digits: byte order is number order.
func seqKey(seq uint64) string { return fmt.Sprintf("%016x", seq) }

// timeKey is the indexed eventTime as 16 hex digits in time order; events
// without one sort as the oldest.
func timeKey(ev *record.Event) string {
	t, ok := indexedTime(ev)
	if !ok {
		return "0000000000000000"
	}
	return nanosKey(t.UnixNano())
}

// parseTimeKey reverses timeKey; ok is false for the no-time key.
func parseTimeKey(k string) (time.Time, bool) {
	if len(k) < 16 || k[:16] == "0000000000000000" {
		return time.Time{}, false
	}
	// strconv, not fmt.Sscanf: a page after a token parses one, and
	// Sscanf was 0.6 µs of the 5 by which page 100 lagged page 1.
	u, err := strconv.ParseUint(k[:16], 16, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, int64(u^(1<<63))).UTC(), true
}

// buildDocument maps an event with its assigned sequence number to a Bleve
// document. It builds fields directly instead of going through the mapping's
// reflection walk, which costs more than analysis.
// writeSummaries is turned off by tests to write documents as they were
// before summaries (summary.go).
var writeSummaries = true

// numericTime writes eventTime as Bleve's numeric date field, 16
// prefix-coded terms and their doc values, which Bleve's date range search
// reads. Only shards made before fieldHour need it (timeRangeQuery); the
// others get only the full-precision term (shift 0) with its doc values,
// which is what Bleve's date range facets read for histograms finer than
// an hour, at a sixteenth of the terms.
func buildDocument(ev *record.Event, numericTime bool) *document.Document {
	doc := document.NewDocument(ev.ID)
	for _, f := range documentFields(ev) {
		doc.AddField(newIndexedField(f.name, f.value, f.opts, f.tok))
	}
	if t, ok := indexedTime(ev); ok {
		if numericTime {
			f, _ := document.NewDateTimeFieldWithIndexingOptions(fieldTime, nil, t, "", optFacet)
			doc.AddField(f)
		} else {
			doc.AddField(newIndexedField(fieldTime, numeric.MustNewPrefixCodedInt64(t.UnixNano(), 0), optFacet, wholeValue))
		}
		// Doc values too: a histogram of any query counts one term per
		// match instead of testing its time against every bucket.
		doc.AddField(newIndexedField(fieldHour, []byte(hourKey(t)), sortKeyOpts, wholeValue))
	}
	// Sorting reads doc values of every match; one fixed-width term per
	// document costs a fraction of a numeric or date field's doc values,
	// which hold every prefix-coded precision step.
	sk := seqKey(ev.Seq)
	doc.AddField(newIndexedField(fieldSeq, []byte(sk), sortKeyOpts, wholeValue))
	doc.AddField(newIndexedField(fieldOrder, []byte(timeKey(ev)+sk), sortKeyOpts, wholeValue))
	doc.AddField(document.NewTextFieldWithIndexingOptions(fieldBlob, nil, encodeBlob(ev.Kind, ev.Seq, ev.Raw), optStoreOnly))
	if writeSummaries {
		if sum := encodeSummary(ev); sum != nil {
			doc.AddField(document.NewTextFieldWithIndexingOptions(fieldSum, nil, sum, optStoreOnly))
		}
	}
	return doc
}
