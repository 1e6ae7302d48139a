package decode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/codetrail/codetrail/index/record"
)

// maxNest bounds how deep containers are searched for records: a record in
// an array in an object with Records in an array is depth 3. Deeper values
// are reported, not searched.
const maxNest = 8

// decoder holds the state of one Decode or DecodeReader call.
type decoder struct {
	name    string
	opt     Options
	fn      func(Record) error
	problem func(Problem)

	b        []byte // the buffer being decoded: the whole input, or one line
	lineMode bool   // b is one line of JSON lines
	lineNo   int    // in lineMode, the number of the line held in b
	lines    []int  // offsets of '\n' in b, built on first need (document mode)

	stack  []byte // scanner stack, reused
	parser fastjson.Parser

	sum     Summary
	format  string // the format of the first top-level value
	values  int    // top-level values seen
	stop    error  // the error fn returned
	eofSeen bool   // an "unexpected end of input" was reported for b
}

func newDecoder(name string, opt Options, fn func(Record) error, problem func(Problem)) *decoder {
	if fn == nil {
		fn = func(Record) error { return nil }
	}
	if problem == nil {
		problem = func(Problem) {}
	}
	return &decoder{name: name, opt: opt.normalized(), fn: fn, problem: problem, stack: make([]byte, 0, 32)}
}

func (d *decoder) summary() Summary {
	s := d.sum
	switch {
	case d.lineMode || d.values > 1:
		s.Format = FormatJSONLines
	case d.values == 0:
		s.Format = FormatEmpty
	default:
		s.Format = d.format
	}
	return s
}

// checkStart returns ErrNotJSON unless b (trimmed) starts like a JSON value.
func checkStart(b []byte) error {
	switch c := b[0]; {
	case c == '{' || c == '[' || c == '"' || c == '-' || c >= '0' && c <= '9':
		return nil
	case c == 't' || c == 'f' || c == 'n':
		if validLiteral(b[:skipLiteral(b, 0)]) {
			return nil
		}
	}
	return fmt.Errorf("%w: starts with %q", ErrNotJSON, b[:min(len(b), 16)])
}

// decodeAll decodes a whole input held in memory. It is JSON lines when its
// first line holds whole values and something follows; otherwise it is a
// document of one or more (pretty-printed, concatenated) values.
func (d *decoder) decodeAll(data []byte) error {
	data = bytes.TrimPrefix(data, bom)
	p := skipWS(data, 0)
	if p == len(data) {
		return nil
	}
	if err := checkStart(data[p:]); err != nil {
		return err
	}
	ls := bytes.LastIndexByte(data[:p], '\n') + 1 // start of the first line
	if nl := bytes.IndexByte(data[p:], '\n'); nl >= 0 && !isBlank(data[p+nl:]) && d.completeValues(trimEOL(data[p:p+nl+1])) {
		d.lineMode = true
		lineNo := bytes.Count(data[:ls], []byte("\n"))
		for start := ls; start < len(data) && d.stop == nil; {
			lineNo++
			var line []byte
			if e := bytes.IndexByte(data[start:], '\n'); e < 0 {
				line, start = data[start:], len(data)
			} else {
				line, start = data[start:start+e], start+e+1
			}
			if !isBlank(line) {
				d.lineValues(trimEOL(line), lineNo)
			}
		}
		return d.stop
	}
	d.b = data
	for d.stop == nil {
		if p = skipWS(data, p); p >= len(data) {
			break
		}
		d.values++
		l, _ := d.lineCol(p)
		pos := "line " + strconv.Itoa(l)
		prefix := pos + " "
		if d.values == 1 {
			prefix = "" // the usual single document: "Records[12]"
		}
		p = d.value(p, pos, prefix, 0)
	}
	return d.stop
}

// completeValues reports whether line holds one or more whole values.
func (d *decoder) completeValues(line []byte) bool {
	d.b = line
	n := 0
	for p := skipWS(line, 0); p < len(line); p = skipWS(line, p) {
		end, e, resync := d.scanValue(p)
		if !e.ok() || resync {
			return false
		}
		n++
		p = end
	}
	return n > 0
}

// lineValues decodes the values on one line of JSON lines.
func (d *decoder) lineValues(line []byte, lineNo int) {
	d.b, d.lineNo, d.eofSeen = line, lineNo, false
	pos := "line " + strconv.Itoa(lineNo)
	if p := skipWS(line, 0); p < len(line) && isLetter(line[p]) && !d.completeValues(line) {
		// A line of text is one problem, not one per word the scanner's
		// recovery would find in it.
		d.values++
		d.report(pos, fmt.Sprintf("invalid JSON line: %q", shorten(string(bytes.TrimSpace(line)))))
		return
	}
	d.b = line
	for p := skipWS(line, 0); p < len(line) && d.stop == nil; p = skipWS(line, p) {
		d.values++
		p = d.value(p, pos, pos+" ", 0)
	}
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// lineCol returns the 1-based line and column of offset p of b.
func (d *decoder) lineCol(p int) (int, int) {
	if d.lineMode {
		return d.lineNo, p + 1
	}
	if d.lines == nil {
		d.lines = make([]int, 0, 64)
		for i := 0; ; {
			j := bytes.IndexByte(d.b[i:], '\n')
			if j < 0 {
				break
			}
			d.lines = append(d.lines, i+j)
			i += j + 1
		}
	}
	i := sort.SearchInts(d.lines, p) // newlines before p
	start := 0
	if i > 0 {
		start = d.lines[i-1] + 1
	}
	return i + 1, p - start + 1
}

func (d *decoder) where(p int) string {
	l, c := d.lineCol(p)
	if d.lineMode {
		return "column " + strconv.Itoa(c)
	}
	return fmt.Sprintf("line %d, column %d", l, c)
}

func (d *decoder) report(pos, reason string) {
	d.sum.Invalid++
	d.problem(Problem{Pos: pos, Reason: reason})
}

// syntax reports a syntax error, once per buffer for the end of input (the
// record and each container around it would all report it).
func (d *decoder) syntax(pos string, e synErr) {
	if strings.HasPrefix(e.msg, "unexpected end of input") {
		if d.eofSeen {
			return
		}
		d.eofSeen = true
	}
	d.report(pos, "invalid JSON: "+e.msg+" at "+d.where(e.pos))
}

func (d *decoder) emit(kind record.Kind, raw []byte, pos string) {
	if len(raw) > d.opt.MaxRecordBytes {
		d.report(pos, fmt.Sprintf("record is %d bytes, more than MaxRecordBytes (%d)", len(raw), d.opt.MaxRecordBytes))
		return
	}
	if err := d.fn(Record{Kind: kind, Raw: raw, Pos: pos}); err != nil {
		d.stop = err
		return
	}
	d.sum.Records++
}

func (d *decoder) setFormat(depth int, f string) {
	if depth == 0 && d.values == 1 {
		d.format = f
	}
}

// junk reports and skips a run of stray punctuation between values.
func (d *decoder) junk(p int, pos string) int {
	q := p
	for q < len(d.b) && strings.IndexByte("}],: \t\r\n", d.b[q]) >= 0 {
		q++
	}
	d.report(pos, fmt.Sprintf("invalid JSON: unexpected %q at %s", bytes.TrimSpace(d.b[p:min(q, p+20)]), d.where(p)))
	return q
}

// value classifies the value at p and yields the records it holds. pos is
// the value's own position, prefix the one of what it contains. It returns
// where the value ends (where the next one starts after a resync).
func (d *decoder) value(p int, pos, prefix string, depth int) int {
	d.setFormat(depth, FormatUnknown) // until known better
	if depth > maxNest {
		end, e, _ := d.scanValue(p)
		if !e.ok() {
			d.syntax(pos, e)
		} else {
			d.report(pos, fmt.Sprintf("not searched for records: nested deeper than %d", maxNest))
		}
		return end
	}
	switch d.b[p] {
	case '{':
		return d.object(p, pos, prefix, depth)
	case '[':
		d.setFormat(depth, FormatArray)
		if strings.HasSuffix(prefix, "] ") {
			prefix = prefix[:len(prefix)-1] // [1][2], not [1] [2]
		}
		return d.array(p, pos, prefix, depth, false, false)
	case '}', ']', ',', ':':
		return d.junk(p, pos)
	}
	end, e, _ := d.scanValue(p)
	if !e.ok() {
		d.syntax(pos, e)
	} else {
		d.report(pos, fmt.Sprintf("not an audit record: %.40s is not an object", d.b[p:end]))
	}
	return end
}

// array yields the records of the array at p, each element on its own: a
// damaged element is reported and the next one is found by the scanner's
// recovery. records says every element is a CloudTrail record (the Records
// of a trail file); otherwise each is classified by value. inObject says a
// '}' closes the parent (so this array lacks its ']').
func (d *decoder) array(p int, pos, prefix string, depth int, records, inObject bool) int {
	b := d.b
	p++
	i := 0
	comma := false // the last thing seen was ','
	for d.stop == nil {
		if p = skipWS(b, p); p >= len(b) {
			d.syntax(pos, synErr{len(b), "unexpected end of input: missing ']'"})
			return len(b)
		}
		switch b[p] {
		case ']':
			if comma {
				d.report(pos, "invalid JSON: trailing ',' at "+d.where(p))
			}
			return p + 1
		case '}':
			if inObject && d.closesParent(p, depth) {
				d.report(pos, "invalid JSON: missing ']' at "+d.where(p))
				return p
			}
			p = d.junk(p, pos)
			continue
		case ',':
			if comma || i == 0 {
				p = d.junk(p, pos)
				continue
			}
			comma = true
			p++
			continue
		case ':':
			p = d.junk(p, pos)
			continue
		}
		// A missing ',' between elements is tolerated: it is what a resync
		// after a damaged element leaves.
		elemPos := prefix + "[" + strconv.Itoa(i) + "]"
		if records {
			p = d.recordElem(p, elemPos)
		} else {
			p = d.value(p, elemPos, elemPos+" ", depth+1)
		}
		i++
		comma = false
	}
	return len(b)
}

// closesParent tells whether the '}' at p, met where an array needs an
// element, is more likely to close the object holding the array (whose ']'
// is missing) than to be a stray extra '}' between elements: it is when
// what follows it can only follow the object.
func (d *decoder) closesParent(p, depth int) bool {
	q := skipWS(d.b, p+1)
	if q == len(d.b) {
		return true
	}
	if d.b[q] == '}' || d.b[q] == ']' {
		return depth > 0 // a top-level object has nothing more to close
	}
	if d.b[q] == ',' {
		r := skipWS(d.b, q+1)
		return r < len(d.b) && d.b[r] == '"' // the object's next key
	}
	return false
}

// recordElem yields the element at p of a trail file's Records.
func (d *decoder) recordElem(p int, pos string) int {
	end, e, _ := d.scanValue(p)
	if !e.ok() {
		d.syntax(pos, e)
		return end
	}
	raw := d.b[p:end]
	if raw[0] != '{' {
		d.report(pos, fmt.Sprintf("not an audit record: %.40s is not an object", raw))
		return end
	}
	if !d.opt.CallerValidates {
		if err := fastjson.ValidateBytes(raw); err != nil {
			d.report(pos, "invalid JSON: "+shorten(err.Error()))
			return end
		}
	}
	d.emit(record.KindCloudTrail, raw, pos)
	return end
}

// Keys that classify an object.
const (
	kOther uint32 = 1 << iota
	kEventVersion
	kEventID
	kEventTime
	kEventName
	kEventSource
	kTimestamp
	kID
	kOrganizationID
	kProjectInformation
	kOperationType
	kCloudTrailEvent
	kDetailType
	kDetail
	kSource
	kDigestStartTime
	kLogFiles
	kDigestFingerprint
	kType
	kTopicArn
	kRecords
	kEvents
	kItems
	kMessage
)

const (
	kCloudTrailAny  = kEventVersion | kEventID | kEventTime | kEventName | kEventSource | kTimestamp
	kCodeCatalystOf = kOrganizationID | kProjectInformation | kOperationType
	kDigest         = kDigestStartTime | kLogFiles | kDigestFingerprint
	kEventBridge    = kDetailType | kDetail | kSource
	kSNS            = kType | kTopicArn | kMessage
)

// keyID maps an object key (raw, between the quotes) to its bit.
func keyID(raw []byte) uint32 {
	if bytes.IndexByte(raw, '\\') >= 0 {
		var s string
		if json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s) != nil {
			return kOther
		}
		raw = []byte(s)
	}
	switch string(raw) {
	case "eventVersion":
		return kEventVersion
	case "eventID":
		return kEventID
	case "eventTime":
		return kEventTime
	case "eventName":
		return kEventName
	case "eventSource":
		return kEventSource
	case "@timestamp":
		return kTimestamp
	case "id":
		return kID
	case "organizationId":
		return kOrganizationID
	case "projectInformation":
		return kProjectInformation
	case "operationType":
		return kOperationType
	case "CloudTrailEvent":
		return kCloudTrailEvent
	case "detail-type":
		return kDetailType
	case "detail":
		return kDetail
	case "source":
		return kSource
	case "digestStartTime":
		return kDigestStartTime
	case "logFiles":
		return kLogFiles
	case "digestPublicKeyFingerprint":
		return kDigestFingerprint
	case "Type":
		return kType
	case "TopicArn":
		return kTopicArn
	case "Records":
		return kRecords
	case "Events":
		return kEvents
	case "items":
		return kItems
	case "Message":
		return kMessage
	}
	return kOther
}

type span struct{ start, end int }

// object walks the members of the object at p: the arrays Records, Events
// and items are searched for records as they are met; any other object is
// classified from its keys once it is closed.
func (d *decoder) object(p int, pos, prefix string, depth int) int {
	b := d.b
	start := p
	p++
	var keys uint32
	var detailType, detail span
	var e synErr
	state := stKeyOrClose
	var key uint32
	container := false
loop:
	for d.stop == nil {
		if p = skipWS(b, p); p >= len(b) {
			if e.ok() {
				e = synErr{len(b), "unexpected end of input: missing '}'"}
			}
			break
		}
		c := b[p]
		switch {
		case state == stKeyOrClose && c == '}', state == stCommaOrClose && c == '}':
			p++
			break loop
		case (state == stKeyOrClose || state == stKey) && c == '"':
			q, bad := skipString(b, p)
			if bad >= 0 {
				e = stringErr(b, bad)
				p, _, _ = d.lenient(q, append(d.stack[:0], '{'), e)
				break loop
			}
			key = keyID(b[p+1 : q-1])
			p = q
			state = stColon
		case state == stColon && c == ':':
			p++
			state = stValue
		case state == stCommaOrClose && c == ',':
			p++
			state = stKey
		case state == stValue:
			if c == '[' && key&(kRecords|kEvents|kItems) != 0 {
				container = true
				name, records, f := "items", false, FormatCodeCatalyst
				switch key {
				case kRecords:
					name, records, f = "Records", true, FormatCloudTrail
				case kEvents:
					name, f = "Events", FormatLookupEvents
				}
				d.setFormat(depth, f)
				p = d.array(p, prefix+name, prefix+name, depth, records, true)
			} else {
				end, ve, resync := d.scanValue(p)
				if !ve.ok() {
					if e.ok() {
						e = ve
					}
					if resync {
						p = end
						break loop
					}
				}
				switch key {
				case kDetailType:
					detailType = span{p, end}
				case kDetail:
					detail = span{p, end}
				}
				p = end
			}
			keys |= key
			state = stCommaOrClose
		default:
			if e.ok() {
				e = synErr{p, fmt.Sprintf("unexpected %q", c)}
			}
			if c == '{' || c == '[' {
				break loop // resync: a new value starts here
			}
			p, _, _ = d.lenient(p, append(d.stack[:0], '{'), e)
			break loop
		}
	}
	if d.stop != nil {
		return len(b)
	}
	if container {
		if !e.ok() {
			d.syntax(pos, e)
		}
		return p
	}
	if !e.ok() {
		d.syntax(pos, e)
		return p
	}
	d.classify(b[start:p], pos, depth, keys, detailType, detail, p)
	return p
}

// classify yields the record a well-formed object is, or reports why not.
func (d *decoder) classify(raw []byte, pos string, depth int, keys uint32, detailType, detail span, end int) {
	if err := fastjson.ValidateBytes(raw); err != nil {
		d.report(pos, "invalid JSON: "+shorten(err.Error()))
		return
	}
	// only: the whole input is this one object.
	only := depth == 0 && !d.lineMode && d.values == 1 && isBlank(d.b[end:])
	switch {
	case keys&kDigest == kDigest:
		d.setFormat(depth, FormatDigest)
		if only {
			d.sum.Skipped = "CloudTrail digest file"
			return
		}
		d.report(pos, "CloudTrail digest file: holds no records")
	case keys&kEventBridge == kEventBridge:
		d.setFormat(depth, FormatEventBridge)
		dt := d.b[detailType.start:detailType.end]
		if dt[0] != '"' {
			d.report(pos, "EventBridge event pattern or malformed envelope: detail-type is not a string")
			return
		}
		s := string(dt[1 : len(dt)-1])
		if bytes.IndexByte(dt, '\\') >= 0 {
			_ = json.Unmarshal(dt, &s)
		}
		if !strings.HasSuffix(s, "via CloudTrail") {
			d.report(pos, fmt.Sprintf("EventBridge event of detail-type %q is not a CloudTrail record", s))
			return
		}
		det := d.b[detail.start:detail.end]
		if det[0] != '{' {
			d.report(pos, "EventBridge detail is not an object")
			return
		}
		d.emit(record.KindCloudTrail, det, pos)
	case keys&kCloudTrailEvent != 0:
		d.setFormat(depth, FormatLookupEvents)
		v, err := d.parser.ParseBytes(raw)
		if err != nil { // cannot happen: raw was validated
			d.report(pos, "invalid JSON: "+shorten(err.Error()))
			return
		}
		ev := v.Get("CloudTrailEvent")
		if ev.Type() != fastjson.TypeString {
			d.report(pos, "CloudTrailEvent is not a string")
			return
		}
		text := bytes.TrimSpace(ev.GetStringBytes())
		if len(text) == 0 || text[0] != '{' {
			d.report(pos, "CloudTrailEvent does not hold a JSON object")
			return
		}
		if err := fastjson.ValidateBytes(text); err != nil {
			d.report(pos, "CloudTrailEvent: invalid JSON: "+shorten(err.Error()))
			return
		}
		d.emit(record.KindCloudTrail, text, pos)
	case keys&kID != 0 && keys&kCodeCatalystOf != 0 && keys&kEventVersion == 0:
		d.setFormat(depth, FormatCodeCatalyst)
		d.emit(record.KindCodeCatalyst, raw, pos)
	case keys&kCloudTrailAny != 0:
		d.setFormat(depth, FormatEvent)
		d.emit(record.KindCloudTrail, raw, pos)
	case keys&kSNS == kSNS:
		d.setFormat(depth, FormatSNS)
		if only {
			d.sum.Skipped = "SNS notification of a CloudTrail delivery: names log files, holds no records"
			return
		}
		d.report(pos, "SNS notification: holds no records")
	default:
		d.setFormat(depth, FormatUnknown)
		d.report(pos, "not an audit record: no eventName/eventTime/eventID")
	}
}
