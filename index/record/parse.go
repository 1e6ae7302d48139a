package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/valyala/fastjson"
)

// ErrNotObject is returned (wrapped) by Parse when the bytes are not valid
// JSON or are JSON but not an object. Any JSON object gives an Event.
var ErrNotObject = errors.New("record: not a JSON object")

// ErrUnknownKind is returned (wrapped) by Parse for a Kind it does not know.
var ErrUnknownKind = errors.New("record: unknown kind")

// parsers lets the package-level Parse reuse Parser buffers across calls and
// goroutines.
var parsers = sync.Pool{New: func() any { return new(Parser) }}

// Parse decodes one record of the given kind (its JSON bytes) into an Event.
// It returns an error only when the record is not a JSON object at all
// (ErrNotObject) or kind is unknown (ErrUnknownKind); odd or missing fields
// become Problems on a kept Event. raw is copied into Event.Raw (the caller
// may reuse raw). Parse is safe for concurrent use; it borrows a Parser from
// a pool.
func Parse(kind Kind, raw []byte) (Event, error) {
	p := parsers.Get().(*Parser)
	ev, err := p.Parse(kind, raw)
	parsers.Put(p)
	return ev, err
}

// Parser decodes records like Parse, reusing its buffers from one record to
// the next. The zero value is ready to use. A Parser is not safe for
// concurrent use; the Events it returns share nothing with it.
type Parser struct {
	jp       fastjson.Parser
	arena    []byte    // text of all leaves of the current record: paths and values
	path     []byte    // dotted path of the value being walked
	lower    []byte    // lower-cased key scratch
	leaves   []leafRef // leaves of the current record, pointing into arena
	res      []resRef  // resource candidates, pointing into leaf values
	problems []string  // handed to the Event, never reused
	kind     Kind
	slots    [numSlots]int32 // leaf index+1 of each typed field, 0 when unseen
	bad      [numSlots]bool  // typed field present with a non-scalar value
	// badNumber is the first leaf whose number text is not JSON, or -1.
	badNumber int
}

type leafRef struct {
	ps, pe, vs, ve int32
	str            bool
}

// resRef is a resource: leaf value [a, b) of leaf, kept when cond holds.
type resRef struct {
	leaf, a, b int32
	cond       resCond
}

type resCond uint8

const (
	condAlways resCond = iota
	// condDirectName: "name" directly under requestParameters; kept for
	// Create*/Update*/Delete* calls and for every CodePipeline call (there,
	// requestParameters.name is always the pipeline: GetPipeline,
	// StartPipelineExecution, ...). eventName may come after
	// requestParameters, so this is decided at the end.
	condDirectName
	// condCodeBuild: requestParameters.id / ids of CodeBuild calls, which are
	// build ids "project:uuid" (StopBuild, RetryBuild, BatchGetBuilds,
	// BatchDeleteBuilds); elsewhere an "id" is too vague to be a resource.
	condCodeBuild
)

// slot names a typed Event field filled from one leaf.
type slot int8

const (
	sNone slot = iota - 1
	sID
	sTime
	sTimestamp
	sVersion
	sSource
	sName
	sRegion
	sRecipient
	sSourceIP
	sUserAgent
	sErrorCode
	sErrorMessage
	sReadOnly
	sEventType
	sCategory
	sRequestID
	sUserType
	sUserARN
	sPrincipalID
	sAccessKeyID
	sInvokedBy
	sUserAccount
	sUserName
	sIssuerName
	sOperationType
	sRequestData  // CodeCatalyst requestPayload.data
	sResponseData // CodeCatalyst responsePayload.data
	numSlots
)

// ctx says which object the walk is in, for typed fields and resources.
type ctx uint8

const (
	ctxOther ctx = iota
	ctxTop
	ctxUserIdentity
	ctxSessionContext
	ctxSessionIssuer
	ctxReqParams   // direct children of requestParameters
	ctxResources   // elements of the top-level resources array
	ctxProjectInfo // CodeCatalyst projectInformation
	ctxReqPayload  // CodeCatalyst requestPayload
	ctxRespPayload // CodeCatalyst responsePayload
)

// Parse is Parse, reusing p's buffers.
func (p *Parser) Parse(kind Kind, raw []byte) (Event, error) {
	if kind != KindCloudTrail && kind != KindCodeCatalyst {
		return Event{}, fmt.Errorf("parse record: %w %d", ErrUnknownKind, kind)
	}
	// fastjson's parser checks structure but is lenient about number text,
	// escapes and control characters in strings. Checking those ourselves
	// (strings here, numbers at each leaf) costs far less than
	// fastjson.Validate, and keeps Raw valid JSON (FuzzParse compares with
	// encoding/json).
	if i := stringControl(raw); i >= 0 {
		return Event{}, fmt.Errorf("parse record: %w: control character 0x%02X in a string at offset %d", ErrNotObject, raw[i], i)
	}
	if i := badEscape(raw); i >= 0 {
		return Event{}, fmt.Errorf("parse record: %w: bad escape at offset %d", ErrNotObject, i)
	}
	v, err := p.jp.ParseBytes(raw)
	if err != nil {
		return Event{}, fmt.Errorf("parse record: %w: %s", ErrNotObject, err.Error())
	}
	o, err := v.Object()
	if err != nil {
		return Event{}, fmt.Errorf("parse record: %w: got %s", ErrNotObject, v.Type())
	}

	p.kind = kind
	p.arena = p.arena[:0]
	p.path = p.path[:0]
	p.leaves = p.leaves[:0]
	p.res = p.res[:0]
	p.problems = nil
	p.slots = [numSlots]int32{}
	p.bad = [numSlots]bool{}
	p.badNumber = -1
	p.walkObject(o, nil, ctxTop, false)
	if p.badNumber >= 0 {
		r := p.leaves[p.badNumber]
		return Event{}, fmt.Errorf("parse record: %w: bad number %q", ErrNotObject, p.arena[r.vs:r.ve])
	}

	// One allocation holds the text of every leaf; fields, leaves and
	// resources are substrings of it.
	text := string(p.arena)
	ev := Event{Kind: kind, Raw: append([]byte(nil), raw...)}
	if len(p.leaves) > 0 {
		ev.Leaves = Leaves{text: text, refs: slices.Clone(p.leaves)}
	}
	p.fill(&ev)
	ev.Problems = p.problems
	p.problems = nil
	return ev, nil
}

func (p *Parser) walkObject(o *fastjson.Object, key []byte, in ctx, scan bool) {
	base := len(p.path)
	o.Visit(func(k []byte, v *fastjson.Value) {
		p.path = p.path[:base]
		if base > 0 {
			p.path = append(p.path, '.')
		}
		p.path = append(p.path, k...)
		p.walkValue(v, k, key, in, scan, false)
	})
	p.path = p.path[:base]
}

// walkValue walks v, the value of key in an object of context in whose own
// key is parent. Array elements come with inArray and their array's key.
func (p *Parser) walkValue(v *fastjson.Value, key, parent []byte, in ctx, scan, inArray bool) {
	s := sNone
	if !inArray {
		s = p.slotOf(in, key)
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return
	case fastjson.TypeObject:
		if s != sNone {
			p.badType(s, "an object")
		}
		o, _ := v.Object()
		child, childScan := p.descend(in, key, scan, inArray)
		p.walkObject(o, key, child, childScan)
		return
	case fastjson.TypeArray:
		if s != sNone {
			p.badType(s, "an array")
		}
		for _, e := range v.GetArray() {
			p.walkValue(e, key, parent, in, scan, true)
		}
		return
	}

	i := p.leaf(v)
	if s != sNone && p.slots[s] == 0 {
		p.slots[s] = int32(i) + 1
	}
	if in == ctxTop && !inArray && string(key) == "userIdentity" {
		p.problems = append(p.problems, "userIdentity: expected an object, got "+v.Type().String())
	}
	if !p.leaves[i].str {
		return
	}
	switch {
	case scan:
		p.resource(i, key, parent, in == ctxReqParams && !inArray)
	case in == ctxResources:
		if strings.EqualFold(string(key), "arn") {
			p.addRes(i, condAlways)
		}
	case in == ctxProjectInfo:
		if string(key) == "name" || string(key) == "projectId" {
			p.addRes(i, condAlways)
		}
	case p.kind == KindCodeCatalyst:
		if strings.EqualFold(string(key), "spaceName") {
			p.addRes(i, condAlways)
		}
	}
}

func (p *Parser) badType(s slot, got string) {
	if !p.bad[s] {
		p.bad[s] = true
		p.problems = append(p.problems, string(p.path)+": expected a string, got "+got)
	}
}

// descend gives the context and scan flag for the children of the object
// under key (in an object of context in).
func (p *Parser) descend(in ctx, key []byte, scan, inArray bool) (ctx, bool) {
	switch in {
	case ctxTop:
		switch string(key) {
		case "userIdentity":
			if !inArray {
				return ctxUserIdentity, false
			}
		case "projectInformation":
			if p.kind == KindCodeCatalyst && !inArray {
				return ctxProjectInfo, false
			}
		case "requestPayload":
			if p.kind == KindCodeCatalyst && !inArray {
				return ctxReqPayload, false
			}
		case "responsePayload":
			if p.kind == KindCodeCatalyst && !inArray {
				return ctxRespPayload, false
			}
		case "requestParameters":
			if p.kind == KindCloudTrail {
				if inArray {
					return ctxOther, true
				}
				return ctxReqParams, true
			}
		case "responseElements", "additionalEventData", "serviceEventDetails":
			if p.kind == KindCloudTrail {
				return ctxOther, true
			}
		case "resources":
			if p.kind == KindCloudTrail && inArray {
				return ctxResources, false
			}
		}
	case ctxUserIdentity:
		if string(key) == "sessionContext" && !inArray {
			return ctxSessionContext, false
		}
	case ctxSessionContext:
		if string(key) == "sessionIssuer" && !inArray {
			return ctxSessionIssuer, false
		}
	}
	return ctxOther, scan
}

// slotOf names the typed field that key fills in an object of context in.
func (p *Parser) slotOf(in ctx, key []byte) slot {
	if p.kind == KindCodeCatalyst {
		return slotCodeCatalyst(in, key)
	}
	switch in {
	case ctxTop:
		switch string(key) {
		case "eventID":
			return sID
		case "eventTime":
			return sTime
		case "@timestamp":
			return sTimestamp
		case "eventVersion":
			return sVersion
		case "eventSource":
			return sSource
		case "eventName":
			return sName
		case "awsRegion":
			return sRegion
		case "recipientAccountId":
			return sRecipient
		case "sourceIPAddress":
			return sSourceIP
		case "userAgent":
			return sUserAgent
		case "errorCode":
			return sErrorCode
		case "errorMessage":
			return sErrorMessage
		case "readOnly":
			return sReadOnly
		case "eventType":
			return sEventType
		case "eventCategory":
			return sCategory
		case "requestID":
			return sRequestID
		}
	case ctxUserIdentity:
		switch string(key) {
		case "type":
			return sUserType
		case "arn":
			return sUserARN
		case "principalId":
			return sPrincipalID
		case "accessKeyId":
			return sAccessKeyID
		case "invokedBy":
			return sInvokedBy
		case "accountId":
			return sUserAccount
		case "userName":
			return sUserName
		}
	case ctxSessionIssuer:
		if string(key) == "userName" {
			return sIssuerName
		}
	}
	return sNone
}

func slotCodeCatalyst(in ctx, key []byte) slot {
	switch in {
	case ctxTop:
		switch string(key) {
		case "id":
			return sID
		case "eventTime":
			return sTime
		case "eventSource":
			return sSource
		case "eventName":
			return sName
		case "eventType":
			return sEventType
		case "eventCategory":
			return sCategory
		case "operationType":
			return sOperationType
		case "requestId":
			return sRequestID
		case "errorCode":
			return sErrorCode
		case "errorMessage":
			return sErrorMessage
		case "sourceIpAddress":
			return sSourceIP
		case "userAgent":
			return sUserAgent
		}
	case ctxUserIdentity:
		switch string(key) {
		case "userType":
			return sUserType
		case "principalId":
			return sPrincipalID
		case "userName":
			return sUserName
		case "awsAccountId":
			return sUserAccount
		}
	case ctxReqPayload:
		if string(key) == "data" {
			return sRequestData
		}
	case ctxRespPayload:
		if string(key) == "data" {
			return sResponseData
		}
	}
	return sNone
}

// leaf appends scalar v at the current path and returns its index.
func (p *Parser) leaf(v *fastjson.Value) int {
	var r leafRef
	n := len(p.leaves)
	if n > 0 && bytes.Equal(p.arena[p.leaves[n-1].ps:p.leaves[n-1].pe], p.path) {
		// Elements of one array share their path text.
		r.ps, r.pe = p.leaves[n-1].ps, p.leaves[n-1].pe
	} else {
		r.ps = int32(len(p.arena))
		p.arena = append(p.arena, p.path...)
		r.pe = int32(len(p.arena))
	}
	r.vs = int32(len(p.arena))
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		p.arena = append(p.arena, b...)
		r.str = true
	case fastjson.TypeNumber:
		p.arena = v.MarshalTo(p.arena) // the number as written
		if p.badNumber < 0 && !ValidNumber(p.arena[r.vs:]) {
			p.badNumber = n
		}
	case fastjson.TypeTrue:
		p.arena = append(p.arena, "true"...)
	case fastjson.TypeFalse:
		p.arena = append(p.arena, "false"...)
	}
	r.ve = int32(len(p.arena))
	p.leaves = append(p.leaves, r)
	return n
}

func (p *Parser) addRes(leaf int, cond resCond) {
	r := p.leaves[leaf]
	if r.vs == r.ve {
		return
	}
	p.res = append(p.res, resRef{leaf: int32(leaf), a: 0, b: r.ve - r.vs, cond: cond})
}

// parentNames are the keys whose object's (or array elements') "name" is a
// resource name, lower case.
func parentNamed(parent []byte) bool {
	for _, n := range [...]string{"pipeline", "project", "repository", "application", "connection",
		"rule", "notificationrule", "space", "stages", "actions"} {
		if strings.EqualFold(string(parent), n) {
			return true
		}
	}
	return false
}

// resource applies the resource rules to string leaf i found under key (in
// an object whose key is parent) inside requestParameters, responseElements,
// additionalEventData or serviceEventDetails. direct is true for the direct
// children of requestParameters.
func (p *Parser) resource(i int, key, parent []byte, direct bool) {
	p.lower = append(p.lower[:0], key...)
	for j, c := range p.lower {
		if 'A' <= c && c <= 'Z' {
			p.lower[j] = c + 'a' - 'A'
		}
	}
	switch string(p.lower) {
	case "pipelinename", "pipeline", "stagename", "actionname",
		"applicationname", "deploymentgroupname", "deploymentid", "deploymentids", "deploymentconfigname",
		"projectname",
		"repositoryname", "repositorynames", "branchname",
		"connectionname",
		"domain", "domainname", "repository", "packagename", "package",
		"spacename":
		p.addRes(i, condAlways)
	case "buildid":
		p.addBuild(i, condAlways)
	case "id":
		if strings.EqualFold(string(parent), "build") || strings.EqualFold(string(parent), "builds") {
			p.addBuild(i, condAlways)
		} else if direct {
			p.addBuild(i, condCodeBuild)
		}
	case "ids":
		p.addBuild(i, condCodeBuild)
	case "name":
		if parentNamed(parent) {
			p.addRes(i, condAlways)
		} else if direct {
			p.addRes(i, condDirectName)
		}
	default:
		if bytes.HasSuffix(p.lower, []byte("arn")) {
			r := p.leaves[i]
			if bytes.HasPrefix(p.arena[r.vs:r.ve], []byte("arn:")) {
				p.addRes(i, condAlways)
			}
		}
	}
}

// addBuild adds a CodeBuild build id ("project:uuid" or its ARN
// "arn:aws:codebuild:region:account:build/project:uuid") and its project.
func (p *Parser) addBuild(i int, cond resCond) {
	p.addRes(i, cond)
	r := p.leaves[i]
	v := p.arena[r.vs:r.ve]
	start := 0
	if bytes.HasPrefix(v, []byte("arn:")) {
		j := bytes.Index(v, []byte(":build/"))
		if j < 0 {
			return
		}
		start = j + len(":build/")
	}
	if k := bytes.IndexByte(v[start:], ':'); k > 0 {
		p.res = append(p.res, resRef{leaf: int32(i), a: int32(start), b: int32(start + k), cond: cond})
	}
}

// fill sets the typed fields, service, resources and id of ev from the
// walked leaves.
func (p *Parser) fill(ev *Event) {
	get := func(s slot) string {
		if i := p.slots[s]; i > 0 {
			return ev.Leaves.At(int(i) - 1).Value
		}
		return ""
	}
	ev.ID = get(sID)
	ev.Version = get(sVersion)
	ev.Source = get(sSource)
	ev.Name = get(sName)
	ev.Region = get(sRegion)
	ev.UserType = get(sUserType)
	ev.UserARN = get(sUserARN)
	ev.PrincipalID = get(sPrincipalID)
	ev.AccessKeyID = get(sAccessKeyID)
	ev.InvokedBy = get(sInvokedBy)
	ev.UserAccount = get(sUserAccount)
	ev.SourceIP = get(sSourceIP)
	ev.UserAgent = get(sUserAgent)
	ev.ErrorCode = get(sErrorCode)
	ev.ErrorMessage = get(sErrorMessage)
	ev.EventType = get(sEventType)
	ev.Category = get(sCategory)
	ev.RequestID = get(sRequestID)

	p.fillTime(ev)

	if p.kind == KindCodeCatalyst {
		if ev.Source == "" {
			ev.Source = "codecatalyst.amazonaws.com"
		}
		ev.Service = ServiceCodeCatalyst
		ev.Account = ev.UserAccount
		ev.UserName = get(sUserName)
		switch op := get(sOperationType); {
		case op == "":
		case strings.EqualFold(op, "READONLY"):
			ev.ReadOnly = "true"
		case strings.EqualFold(op, "MUTATION"):
			ev.ReadOnly = "false"
		default:
			p.problems = append(p.problems, fmt.Sprintf("operationType: unexpected value %q", op))
		}
	} else {
		ev.Account = get(sRecipient)
		if ev.Account == "" {
			ev.Account = ev.UserAccount
		}
		ev.UserName = userName(ev.UserType, ev.UserARN, get(sUserName), get(sIssuerName), ev.InvokedBy)
		ev.Service = ServiceOf(ev.Source, ev.InvokedBy, ev.SourceIP, ev.UserAgent)
		if i := p.slots[sReadOnly]; i > 0 {
			switch l := ev.Leaves.At(int(i) - 1); {
			case l.Value == "true" || l.Value == "false":
				ev.ReadOnly = l.Value
			case l.String && strings.EqualFold(l.Value, "true"):
				ev.ReadOnly = "true"
			case l.String && strings.EqualFold(l.Value, "false"):
				ev.ReadOnly = "false"
			default:
				p.problems = append(p.problems, fmt.Sprintf("readOnly: unexpected value %q", l.Value))
			}
		}
	}

	p.fillResources(ev)
	if p.kind == KindCodeCatalyst {
		p.payloadSpace(ev, get(sRequestData), get(sResponseData))
	}

	if ev.ID == "" {
		ev.ID = p.contentID(ev.Leaves)
	}
}

func (p *Parser) fillTime(ev *Event) {
	name, s := "eventTime", sTime
	if p.slots[s] == 0 && !p.bad[s] && p.slots[sTimestamp] > 0 {
		// Logstash-shipped records carry only @timestamp.
		name, s = "@timestamp", sTimestamp
	}
	i := p.slots[s]
	if i == 0 {
		if !p.bad[s] {
			p.problems = append(p.problems, name+": missing")
		}
		return
	}
	l := ev.Leaves.At(int(i) - 1)
	t, ok := parseTime(l.Value, l.String)
	if !ok {
		p.problems = append(p.problems, fmt.Sprintf("%s: cannot parse %q", name, l.Value))
		return
	}
	ev.Time = t
}

func (p *Parser) fillResources(ev *Event) {
	if len(p.res) == 0 {
		return
	}
	direct := strings.HasPrefix(ev.Name, "Create") || strings.HasPrefix(ev.Name, "Update") ||
		strings.HasPrefix(ev.Name, "Delete") || ev.Source == "codepipeline.amazonaws.com"
	codebuild := ev.Source == "codebuild.amazonaws.com"
	var seen map[string]struct{} // only for long lists
	for _, r := range p.res {
		switch r.cond {
		case condDirectName:
			if !direct {
				continue
			}
		case condCodeBuild:
			if !codebuild {
				continue
			}
		}
		v := ev.Leaves.At(int(r.leaf)).Value[r.a:r.b]
		if seen != nil {
			if _, dup := seen[v]; dup {
				continue
			}
			seen[v] = struct{}{}
		} else {
			dup := false
			for _, have := range ev.Resources {
				if have == v {
					dup = true
					break
				}
			}
			if dup {
				continue
			}
			if len(ev.Resources) == 32 {
				seen = make(map[string]struct{}, 2*len(p.res))
				for _, have := range ev.Resources {
					seen[have] = struct{}{}
				}
				seen[v] = struct{}{}
			}
		}
		if ev.Resources == nil {
			ev.Resources = make([]string, 0, len(p.res))
		}
		ev.Resources = append(ev.Resources, v)
	}
}

// userName picks the friendliest name for the caller.
func userName(typ, arn, name, issuer, invokedBy string) string {
	if name != "" {
		return name
	}
	switch typ {
	case "AssumedRole":
		if _, rest, ok := strings.Cut(arn, ":assumed-role/"); ok && rest != "" {
			return rest // RoleName/SessionName
		}
	case "Root":
		return "root"
	case "AWSService":
		if invokedBy != "" {
			return invokedBy
		}
	case "IAMUser":
		if _, rest, ok := strings.Cut(arn, ":user/"); ok {
			return rest[strings.LastIndexByte(rest, '/')+1:]
		}
	case "FederatedUser":
		if _, rest, ok := strings.Cut(arn, ":federated-user/"); ok {
			return rest[strings.LastIndexByte(rest, '/')+1:]
		}
	}
	return issuer
}

// contentID derives an id from the record's content: its leaves (path, value,
// type) in sorted order, so pretty-printed, compact and key-reordered copies
// of one record get the same id. Only records without an id pay for this.
func (p *Parser) contentID(leaves Leaves) string {
	keys := make([]string, leaves.Len())
	for i := range keys {
		l := leaves.At(i)
		t := "n"
		if l.String {
			t = "s"
		}
		keys[i] = l.Path + "\x00" + t + "\x00" + l.Value
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0xff}) // cannot occur in UTF-8 text: separates entries
	}
	sum := h.Sum(nil)
	var buf [2 + 32]byte
	buf[0], buf[1] = 'h', '-'
	hex.Encode(buf[2:], sum[:16])
	return string(buf[:])
}

// payloadSpace adds the CodeCatalyst space name, which ListEventLogs entries
// carry only inside the JSON text of requestPayload.data or
// responsePayload.data (the first that names one), unless already listed.
// It reuses p's JSON parser: the walk is over and Event values no longer
// point into it.
func (p *Parser) payloadSpace(ev *Event, data ...string) {
	for _, d := range data {
		if !strings.Contains(d, `"spaceName"`) {
			continue
		}
		v, err := p.jp.Parse(d)
		if err != nil {
			continue
		}
		sb := v.GetStringBytes("spaceName")
		if len(sb) == 0 {
			continue
		}
		for _, r := range ev.Resources {
			if r == string(sb) {
				return
			}
		}
		ev.Resources = append(ev.Resources, string(sb))
		return
	}
}

// stringControl returns the offset of the first control character inside a
// JSON string of valid-structured src, or -1.
func stringControl(src []byte) int {
	// Whitespace around the value (a trailing newline) is outside strings.
	trimmed := bytes.TrimRight(src, " \t\r\n")
	trimmed = bytes.TrimLeft(trimmed, " \t\r\n")
	if !hasControl(trimmed) {
		return -1 // compact records have no byte below 0x20 at all
	}
	inStr, esc := false, false
	for i, c := range src {
		switch {
		case !inStr:
			inStr = c == '"'
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '"':
			inStr = false
		case c < 0x20:
			return i
		}
	}
	return -1
}

// hasControl reports whether b has a byte below 0x20, eight bytes at a time.
func hasControl(b []byte) bool {
	const lo, hi = 0x2020202020202020, 0x8080808080808080
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		// A byte below 0x20 borrows in w-lo and has its top bit clear in w.
		if (w-lo)&^w&hi != 0 {
			return true
		}
		b = b[8:]
	}
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// badEscape returns the offset of the first backslash in src that does not
// start a JSON escape, or -1. Outside strings a backslash is a syntax error
// the parser reports, so every backslash met while skipping whole escapes
// from the start starts an escape.
func badEscape(src []byte) int {
	i := 0
	for {
		j := bytes.IndexByte(src[i:], '\\')
		if j < 0 {
			return -1
		}
		i += j + 1
		if i >= len(src) {
			return i - 1
		}
		switch src[i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i++
		case 'u':
			if i+5 > len(src) {
				return i - 1
			}
			for _, c := range src[i+1 : i+5] {
				if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
					return i - 1
				}
			}
			i += 5
		default:
			return i - 1
		}
	}
}

// ValidNumber reports whether b is a JSON number (fastjson takes more: NaN,
// inf):
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func ValidNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(b)
}
