package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"iter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"

	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// MaxMessageBytes is the largest message the client sends or accepts by
// default: one whole trail file travels in one Ingest message.
const MaxMessageBytes = 64 << 20

// TransportBufferBytes is the size of the buffers in which a connection's
// frames are read here and written by the server, instead of grpc's 32
// KiB: a page of 50 events in the summary view is some 33 KB, which took
// two writes and two reads (20 to 40 µs more through loopback than one).
const TransportBufferBytes = 128 << 10

type options struct {
	dial    []grpc.DialOption
	timeout time.Duration
	tls     *tls.Config
	token   string
}

// Option configures Dial.
type Option func(*options)

// WithDialOptions adds gRPC dial options (credentials, interceptors).
func WithDialOptions(o ...grpc.DialOption) Option {
	return func(op *options) { op.dial = append(op.dial, o...) }
}

// WithTLS connects over TLS with cfg (nil: the system roots). Give a
// client certificate in cfg for mutual TLS.
func WithTLS(cfg *tls.Config) Option {
	return func(op *options) {
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		op.tls = cfg
	}
}

// WithToken sends token as "authorization: Bearer TOKEN" on every call. The
// token travels in the clear without WithTLS; do that only to a server on
// loopback.
func WithToken(token string) Option { return func(op *options) { op.token = token } }

// WithTimeout bounds each unary call that has no deadline of its own.
func WithTimeout(d time.Duration) Option { return func(op *options) { op.timeout = d } }

// Client talks to one codetrail server. It is safe for concurrent use.
type Client struct {
	conn    *grpc.ClientConn
	events  pb.EventServiceClient
	ingest  pb.IngestServiceClient
	timeout time.Duration
}

// Dial connects to addr (host:port). Without credentials options it uses
// plaintext, as for a server on loopback.
func Dial(addr string, opts ...Option) (*Client, error) {
	o := options{timeout: 30 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	creds := insecure.NewCredentials()
	if o.tls != nil {
		creds = credentials.NewTLS(o.tls)
	}
	dial := []grpc.DialOption{
		// gRPC's default reconnect backoff grows to 2 minutes: a client of a
		// restarted server (a resuming Subscribe) would wait that long.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 250 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 10 * time.Second},
			MinConnectTimeout: 20 * time.Second,
		}),
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes), grpc.ForceCodecV2(newCodec())),
	}
	dial = append(dial, experimental.WithBufferPool(BufferPool), grpc.WithReadBufferSize(TransportBufferBytes))
	if o.token != "" {
		dial = append(dial, grpc.WithPerRPCCredentials(bearer{token: o.token, secure: o.tls != nil}))
	}
	dial = append(dial, o.dial...)
	conn, err := grpc.NewClient(addr, dial...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return &Client{conn: conn, events: pb.NewEventServiceClient(conn), ingest: pb.NewIngestServiceClient(conn), timeout: o.timeout}, nil
}

// BufferPool holds the buffers of the messages the client receives, and
// the server's too (it sends and receives through it). gRPC's default pool
// goes from 32 KiB straight to 1 MiB and clears the whole buffer on each
// Get: every Search page of 50 summaries (about 35 KB) cleared 1 MiB, 6% of
// the server's CPU on such searches. A tier at every power of two bounds
// the clearing to twice the message.
var BufferPool = func() mem.BufferPool {
	p, err := mem.NewBinaryTieredBufferPool(8, 12, 14, 15, 16, 17, 18, 19, 20)
	if err != nil {
		panic(err) // constant exponents, all valid
	}
	return p
}()

// bearer sends a token with each call.
type bearer struct {
	token  string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

// RequireTransportSecurity is false only for plaintext connections the
// caller chose (loopback), so that gRPC does not refuse to send the token.
func (b bearer) RequireTransportSecurity() bool { return b.secure }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Conn returns the underlying connection, e.g. for the health service.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

func (c *Client) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || c.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

// Search returns one page.
func (c *Client) Search(ctx context.Context, req *pb.SearchRequest) (*pb.SearchResponse, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	return c.events.Search(ctx, req)
}

// SearchAll yields every matching event, page after page, until the last
// page or an error (yielded once, then the sequence ends). req is not modified.
func (c *Client) SearchAll(ctx context.Context, req *pb.SearchRequest) iter.Seq2[*pb.Event, error] {
	return func(yield func(*pb.Event, error) bool) {
		r := &pb.SearchRequest{}
		*r = pb.SearchRequest{Query: req.GetQuery(), StartTime: req.GetStartTime(), EndTime: req.GetEndTime(),
			PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), Order: req.GetOrder(), View: req.GetView()}
		for {
			res, err := c.Search(ctx, r)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, e := range res.GetEvents() {
				if !yield(e, nil) {
					return
				}
			}
			if res.GetNextPageToken() == "" {
				return
			}
			r.PageToken = res.GetNextPageToken()
		}
	}
}

// GetEvent returns one event by eventID.
func (c *Client) GetEvent(ctx context.Context, id string, view pb.EventView) (*pb.Event, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	res, err := c.events.GetEvent(ctx, &pb.GetEventRequest{EventId: id, View: view})
	if err != nil {
		return nil, err
	}
	return res.GetEvent(), nil
}

// Stats returns the server's figures.
func (c *Client) Stats(ctx context.Context) (*pb.StatsResponse, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	return c.events.Stats(ctx, &pb.StatsRequest{})
}

// Input is one input for Ingest.
type Input struct {
	Name string
	Data []byte
}

// Ingest sends every input from next (until it returns ok=false) in one
// Ingest stream and returns the server's summary, which comes once all
// events are durably stored. sent is called after each input is sent.
func (c *Client) Ingest(ctx context.Context, next func() (Input, bool, error), sent func(Input)) (*pb.IngestResponse, error) {
	stream, err := c.ingest.Ingest(ctx)
	if err != nil {
		return nil, err
	}
	for {
		in, ok, err := next()
		if err != nil {
			_ = stream.CloseSend()
			return nil, err
		}
		if !ok {
			break
		}
		if len(in.Data) > MaxMessageBytes-1024 {
			_ = stream.CloseSend()
			return nil, fmt.Errorf("input %s is %d bytes; one input can be at most %d: gzip it or split it into JSON lines", in.Name, len(in.Data), MaxMessageBytes-1024)
		}
		if err := stream.Send(&pb.IngestRequest{Name: in.Name, Data: in.Data}); err != nil {
			// The server ended the stream; its status says why.
			_, rerr := stream.CloseAndRecv()
			if rerr != nil {
				return nil, rerr
			}
			return nil, errors.Join(err, errors.New("server closed the ingest stream"))
		}
		if sent != nil {
			sent(in)
		}
	}
	return stream.CloseAndRecv()
}
