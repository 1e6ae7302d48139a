package decode

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"

	"github.com/codetrail/codetrail/index/record"
)

// Formats reported in Summary.Format.
const (
	FormatCloudTrail   = "cloudtrail"    // {"Records":[...]}: a trail log file (Insights files too)
	FormatDigest       = "digest"        // a CloudTrail digest file (skipped)
	FormatJSONLines    = "jsonlines"     // several JSON values, one per line or concatenated, shapes may mix
	FormatArray        = "array"         // one bare JSON array of values
	FormatEvent        = "event"         // one CloudTrail event object
	FormatEventBridge  = "eventbridge"   // one EventBridge envelope
	FormatLookupEvents = "lookup-events" // aws cloudtrail lookup-events output, or one of its entries
	FormatCodeCatalyst = "codecatalyst"  // aws codecatalyst list-event-logs output, or one of its entries
	FormatSNS          = "sns"           // an SNS notification of a log delivery (skipped)
	FormatUnknown      = "unknown"       // one JSON value that is not an audit record
	FormatEmpty        = "empty"         // empty or whitespace only
)

// Default limits, see Options.
const (
	// DefaultMaxDecompressedBytes is 1 GiB. Trail files are delivered every
	// few minutes and rarely exceed 100 MB uncompressed, so this leaves ample
	// headroom while stopping a gzip bomb (ratios of 1000:1 are easy) before
	// it exhausts memory.
	DefaultMaxDecompressedBytes int64 = 1 << 30
	// DefaultMaxRecordBytes is 1 MiB. CloudTrail caps an event at 256 KB
	// (larger request or response elements are omitted) and CodeCatalyst
	// entries are smaller, so a bigger "record" is almost surely not one; the
	// cap bounds the work each record costs downstream.
	DefaultMaxRecordBytes = 1 << 20
)

// Sentinel errors. Decode wraps them with the input's name.
var (
	// ErrNotJSON means the input does not start with a JSON value.
	ErrNotJSON = errors.New("decode: input is not JSON")
	// ErrTooLarge means the input, after gunzip, exceeds MaxDecompressedBytes.
	ErrTooLarge = errors.New("decode: input exceeds MaxDecompressedBytes")
	// ErrGzip means the input starts with the gzip magic bytes but is not a
	// readable gzip stream (corrupt, truncated or failing its checksum).
	ErrGzip = errors.New("decode: bad gzip stream")
)

// Record is one audit record found in the input.
type Record struct {
	// Kind says which schema Raw follows.
	Kind record.Kind
	// Raw is the record's own JSON object, validated (for a trail file's
	// records, its structure only with Options.CallerValidates). It aliases the input
	// (or an internal buffer: the gunzipped input, a line read from a stream,
	// the unescaped CloudTrailEvent string of a LookupEvents entry) and is
	// valid only until fn returns: copy it to keep it. For an EventBridge
	// envelope it is the exact bytes of "detail".
	Raw []byte
	// Pos is where the record is in the input, for people: "Records[12]",
	// "line 5", "line 5 Records[2]", "Events[3]", "items[0]", "[4]" (an
	// element of a bare array). Indexes are 0-based, lines 1-based. Values
	// after the first one of a concatenated input, and every value of JSON
	// lines, are prefixed by the line they start on.
	Pos string
}

// Problem is one bad record (or damage between records) that was skipped.
type Problem struct {
	Pos    string // as Record.Pos
	Reason string // what is wrong, with the line and column of a syntax error
}

// Summary describes a decoded input.
type Summary struct {
	// Format is one of the Format constants: the shape of the single value
	// of the input, FormatJSONLines when it holds several values, or
	// FormatEmpty.
	Format string
	// Records counts the records passed to fn.
	Records int
	// Invalid counts the problems reported (bad records, and damage between
	// records such as stray brackets).
	Invalid int
	// Skipped is non-empty when the whole input was recognised and
	// deliberately holds no records, and says why ("CloudTrail digest file").
	Skipped string
}

// Options bounds the work one input may cost.
type Options struct {
	// MaxDecompressedBytes bounds the size of an input after gunzip (the
	// whole input for a stream, JSON lines included). Zero means
	// DefaultMaxDecompressedBytes, negative means no limit.
	MaxDecompressedBytes int64
	// MaxRecordBytes bounds the size of one record; a larger one is reported
	// as a problem and skipped. Zero means DefaultMaxRecordBytes, negative
	// means no limit.
	MaxRecordBytes int
	// CallerValidates passes the records of trail files ({"Records":[...]},
	// the bulk of any trail) to fn once their structure is scanned, without
	// validating them as JSON (string contents, escapes, numbers): for a
	// caller that validates each record as it parses it, as
	// index/record.Parse does, which spares a second pass over every byte
	// (2% of block ingest's CPU). Other formats are validated as always.
	CallerValidates bool
}

// DefaultOptions returns the default limits.
func DefaultOptions() Options {
	return Options{MaxDecompressedBytes: DefaultMaxDecompressedBytes, MaxRecordBytes: DefaultMaxRecordBytes}
}

func (o Options) normalized() Options {
	if o.MaxDecompressedBytes == 0 {
		o.MaxDecompressedBytes = DefaultMaxDecompressedBytes
	}
	if o.MaxDecompressedBytes < 0 {
		o.MaxDecompressedBytes = 1<<63 - 1
	}
	if o.MaxRecordBytes == 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if o.MaxRecordBytes < 0 {
		o.MaxRecordBytes = int(^uint(0) >> 1)
	}
	return o
}

// Decode decodes one whole input held in data (gzip is detected by its magic
// bytes). fn receives each record in input order; its Record.Raw is valid only
// until fn returns. A non-nil error from fn stops decoding and is returned
// wrapped. Bad records go to problem (which may be nil) and are skipped.
//
// The returned error means the input as a whole is unreadable: not gzip
// though it says so (ErrGzip), not JSON (ErrNotJSON), too large (ErrTooLarge).
// Decode does not modify data and does not retain it after returning.
func Decode(name string, data []byte, opt Options, fn func(Record) error, problem func(Problem)) (Summary, error) {
	d := newDecoder(name, opt, fn, problem)
	if isGzip(data) {
		var err error
		data, err = gunzipAll(data, d.opt.MaxDecompressedBytes)
		if err != nil {
			return Summary{}, fmt.Errorf("decode %s: %w", name, err)
		}
	} else if int64(len(data)) > d.opt.MaxDecompressedBytes {
		return Summary{}, fmt.Errorf("decode %s: %d bytes: %w", name, len(data), ErrTooLarge)
	}
	if err := d.decodeAll(data); err != nil {
		return d.summary(), fmt.Errorf("decode %s: %w", name, err)
	}
	return d.summary(), nil
}

// DecodeReader decodes one input read from r, like Decode. Gzip is detected
// by its magic bytes. JSON lines are streamed: only one line is held in memory
// at a time. Other formats are read whole, up to MaxDecompressedBytes. An
// error reading r (ErrGzip when the gzip stream breaks) ends decoding; the
// records before it have been passed to fn.
func DecodeReader(name string, r io.Reader, opt Options, fn func(Record) error, problem func(Problem)) (Summary, error) {
	d := newDecoder(name, opt, fn, problem)
	if err := d.decodeReader(r); err != nil {
		return d.summary(), fmt.Errorf("decode %s: %w", name, err)
	}
	return d.summary(), nil
}

// readBufSize is the read buffer of DecodeReader: large enough that a typical
// JSON line (1-2 KB) is one copy, small enough to not matter per input.
const readBufSize = 64 << 10

func (d *decoder) decodeReader(r io.Reader) error {
	br := bufio.NewReaderSize(r, readBufSize)
	var src io.Reader = br
	if head, _ := br.Peek(2); isGzip(head) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrGzip, err)
		}
		defer zr.Close()
		src = &gzipErrReader{zr}
	}
	in := bufio.NewReaderSize(&limitReader{r: src, n: d.opt.MaxDecompressedBytes}, readBufSize)

	// Read up to the first line holding something, and decide from it, as
	// decodeAll does, whether the input is JSON lines (streamed) or a
	// document (read whole).
	var buf []byte
	lineNo := 0
	var first []byte
	for first == nil {
		start := len(buf)
		var err error
		buf, err = readLine(in, buf)
		if err == io.EOF {
			return d.decodeAll(buf)
		}
		if err != nil {
			return err
		}
		lineNo++
		text := buf[start:]
		if lineNo == 1 {
			text = bytes.TrimPrefix(text, bom)
		}
		if !isBlank(text) {
			first = text
		}
	}
	if !d.completeValues(trimEOL(first)) {
		all, err := readAll(in, buf)
		if err != nil {
			return err
		}
		return d.decodeAll(all)
	}
	// Whole values on the first line: JSON lines if anything follows.
	firstNo := lineNo
	var next []byte
	var err error
	for {
		next, err = readLine(in, next[:0])
		if err != nil && err != io.EOF {
			return err
		}
		lineNo++
		if !isBlank(next) {
			break
		}
		if err == io.EOF {
			return d.decodeAll(buf) // one value on one line
		}
	}
	d.lineMode = true
	d.lineValues(trimEOL(first), firstNo)
	for d.stop == nil {
		if !isBlank(next) {
			d.lineValues(trimEOL(next), lineNo)
		}
		if err == io.EOF {
			break
		}
		next, err = readLine(in, next[:0])
		if err != nil && err != io.EOF {
			return err
		}
		lineNo++
	}
	return d.stop
}

func isBlank(b []byte) bool { return len(bytes.TrimSpace(b)) == 0 }

var bom = []byte("\xef\xbb\xbf")

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// readLine appends the next line, '\n' included, to buf. It returns io.EOF
// with the last line when the input ends without '\n'.
func readLine(r *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		return buf, err
	}
}

func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// limitReader fails with ErrTooLarge once more than n bytes were read.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return 0, ErrTooLarge
	}
	return n, err
}

// gzipErrReader marks errors of the gzip stream with ErrGzip.
type gzipErrReader struct{ r io.Reader }

func (g *gzipErrReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %w", ErrGzip, err)
	}
	return n, err
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// gunzipAll decompresses data whole, up to max bytes.
func gunzipAll(data []byte, max int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrGzip, err)
	}
	defer zr.Close()
	// The trailer holds the size mod 2^32 of the last member: a good hint
	// for the usual single-member file, which saves regrowing the buffer.
	var buf []byte
	if len(data) >= 18 {
		if hint := int64(binary.LittleEndian.Uint32(data[len(data)-4:])); hint > 0 && hint < max {
			buf = make([]byte, 0, hint+1)
		}
	}
	out, err := readAll(&limitReader{r: &gzipErrReader{zr}, n: max}, buf)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// errMsgMax bounds the length of a reason taken from a JSON error.
const errMsgMax = 200

func shorten(s string) string {
	if len(s) > errMsgMax {
		return s[:errMsgMax] + "..."
	}
	return s
}
