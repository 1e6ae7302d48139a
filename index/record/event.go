package record

import "time"

// Kind says which schema a stored record follows, so the record can be decoded
// again from its original bytes when it is read back.
type Kind uint8

const (
	// KindCloudTrail is a CloudTrail event record (trail files, EventBridge
	// detail, LookupEvents CloudTrailEvent, JSON lines).
	KindCloudTrail Kind = 1
	// KindCodeCatalyst is an entry of CodeCatalyst ListEventLogs.
	KindCodeCatalyst Kind = 2
)

// Leaf is one scalar value of a record, addressed by its dotted path.
// Array elements share the path of their array (no indices), as in Kibana.
type Leaf struct {
	// Path is the dotted field path with the record's own key case,
	// e.g. "requestParameters.pipeline.name".
	Path string
	// Value is the scalar as text: strings unescaped, numbers as written in
	// the record, booleans as "true"/"false". Null leaves are not listed.
	Value string
	// String is true when the JSON value was a string.
	String bool
}

// Event is one audit record reduced to the fields codetrail indexes, plus the
// original bytes. Values are owned by the Event; the index does not retain
// the Event after Put returns.
type Event struct {
	Kind Kind
	// ID is eventID (CodeCatalyst: id), or a deterministic id derived from
	// the record's content when the record has none ("h-" + hex).
	ID string
	// Time is eventTime in UTC; zero when missing or unparseable (see Problems).
	Time time.Time
	// Version is eventVersion as written ("1.08").
	Version string

	Source  string // eventSource
	Name    string // eventName
	Service string // developer tool: codepipeline, codedeploy, ..., or "other"
	Region  string // awsRegion
	Account string // recipientAccountId, else userIdentity.accountId

	UserType    string // userIdentity.type
	UserARN     string // userIdentity.arn
	UserName    string // friendliest name for the caller (userName, role/session, service, root)
	PrincipalID string // userIdentity.principalId
	AccessKeyID string // userIdentity.accessKeyId
	InvokedBy   string // userIdentity.invokedBy
	UserAccount string // userIdentity.accountId

	SourceIP     string // sourceIPAddress (often not an IP)
	UserAgent    string
	ErrorCode    string
	ErrorMessage string
	ReadOnly     string // "true", "false" or "" when absent
	EventType    string
	Category     string // eventCategory
	RequestID    string // requestID

	// Resources are the names and ARNs of what the event touched, deduplicated,
	// in first-seen order.
	Resources []string
	// Leaves lists every non-null scalar of the record in document order.
	Leaves Leaves
	// Problems lists what was odd but not fatal ("eventTime: cannot parse ...").
	Problems []string

	// Raw is the original record as JSON.
	Raw []byte

	// Seq is the store sequence number, assigned by the index when the event
	// is first stored; zero before.
	Seq uint64
}
