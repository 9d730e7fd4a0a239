package awsgw

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/httplimit"
)

// Config configures the gateway.
type Config struct {
	// AcceptAnyKey skips SigV4 verification and permission checks: any
	// access key (or none) is accepted with full access. For local
	// development only.
	AcceptAnyKey bool
	// MaxBodyBytes bounds a request body (0 = 8 MiB: a 1 MiB batch
	// percent-encoded in a Query form may triple in size).
	MaxBodyBytes int64
	// Region is used when a request carries no credential scope
	// (AcceptAnyKey without a signature). "" = us-east-1.
	Region string
	// Now is the clock for signature skew checks (nil = time.Now).
	Now func() time.Time
	// KinesisNoLimits turns off Kinesis's per-shard throughput limits
	// (1,000 records and 1 MiB/s in, 5 GetRecords calls and 2 MiB/s out),
	// which are enforced by default as AWS does. For local development.
	KinesisNoLimits bool
	// HTTP bounds request headers and the time to send a request or idle
	// between requests (zero fields: httplimit's defaults).
	HTTP httplimit.Limits
	// MaxConnections bounds the connections open at once (0: no limit);
	// one past it is answered 503 ServiceUnavailable and closed.
	MaxConnections int
	// TLS, when set, makes the listener accept TLS as well as plain HTTP
	// on the same port, told apart by each connection's first byte (as
	// LocalStack does on 4566), so that https:// endpoints work too.
	TLS *tls.Config
}

const (
	defaultMaxBody = 8 << 20
	defaultRegion  = "us-east-1"
	// clockSkew is the window AWS allows between a signature's date and
	// the server's clock.
	clockSkew = 15 * time.Minute
)

// Server is the AWS gateway: one HTTP endpoint for SQS (AWS JSON 1.0 and
// Query), SNS and Kinesis, told apart by X-Amz-Target and the Query
// Version.
type Server struct {
	b   *core.Broker
	cfg Config
	log *slog.Logger
	sqs *sqsService
	kin *kinesisService
	sns *snsService

	kinSubs subRegistry // Kinesis SubscribeToShard subscriptions

	hs       *http.Server
	baseCtx  context.Context
	cancel   context.CancelFunc
	mu       sync.Mutex // guards serving, shutdown and fresh
	serving  bool
	shutdown bool
	fresh    map[net.Conn]struct{} // connections that have not sent a request yet
	open     atomic.Int64          // connections open now (ConnState)
}

// New creates a gateway over b. It loads the SQS queue metadata from the
// broker's store.
func New(b *core.Broker, cfg Config, log *slog.Logger) (*Server, error) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = defaultMaxBody
	}
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Server{b: b, cfg: cfg, log: log.With("face", "aws")}
	var err error
	if s.sqs, err = newSQSService(b, cfg.Now); err != nil {
		return nil, fmt.Errorf("awsgw: %w", err)
	}
	if s.kin, err = newKinesisService(b, cfg); err != nil {
		return nil, fmt.Errorf("awsgw: kinesis: %w", err)
	}
	if s.sns, err = newSNSService(b, cfg.Now, s.log); err != nil {
		return nil, fmt.Errorf("awsgw: sns: %w", err)
	}
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	s.hs = &http.Server{
		Handler:     s,
		BaseContext: func(net.Listener) context.Context { return s.baseCtx },
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnState:   s.trackFresh,
	}
	cfg.HTTP.Apply(s.hs)
	s.fresh = map[net.Conn]struct{}{}
	// net/http's Shutdown waits up to 5 s for a connection that never sent
	// a request (an SDK's spare dial): close those at once instead.
	s.hs.RegisterOnShutdown(s.closeFresh)
	// HTTP/2 over TLS (ALPN) and cleartext h2c with prior knowledge, which
	// Kinesis SubscribeToShard clients use; HTTP/1.1 as before.
	s.hs.Protocols = new(http.Protocols)
	s.hs.Protocols.SetHTTP1(true)
	s.hs.Protocols.SetHTTP2(true)
	s.hs.Protocols.SetUnencryptedHTTP2(true)
	return s, nil
}

// trackFresh records which connections have not sent a request yet, and
// counts the open ones.
func (s *Server) trackFresh(c net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		s.open.Add(1)
	case http.StateClosed, http.StateHijacked:
		s.open.Add(-1)
	}
	s.mu.Lock()
	if st == http.StateNew {
		s.fresh[c] = struct{}{}
	} else {
		delete(s.fresh, c)
	}
	s.mu.Unlock()
}

// Connections returns how many HTTP connections are open (the metrics'
// per-face connection gauge).
func (s *Server) Connections() int { return int(s.open.Load()) }

// closeFresh closes the connections that never sent a request; it runs
// once Shutdown has closed the listeners.
func (s *Server) closeFresh() {
	s.mu.Lock()
	for c := range s.fresh {
		_ = c.Close()
	}
	clear(s.fresh)
	s.mu.Unlock()
}

// Serve accepts HTTP connections on ln until Shutdown. It returns
// http.ErrServerClosed after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.serving = true
	s.mu.Unlock()
	ln = httplimit.LimitListener(ln, s.cfg.MaxConnections, refuseBusy)
	if s.cfg.TLS != nil {
		ln = newSniffListener(ln, s.cfg.TLS)
	}
	return s.hs.Serve(ln)
}

// Shutdown stops accepting requests, ends long polls and waits for
// in-flight requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	s.mu.Unlock()
	s.cancel() // wakes long polls: they answer with what they have
	err := s.hs.Shutdown(ctx)
	s.sns.close() // SNS push workers
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// bodyErr is the answer to a body that could not be read: too large
// (413), or not sent within the read timeout (408, as AWS's load
// balancers answer a slow sender).
func (s *Server) bodyErr(err error) *apiError {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errTooLarge(s.cfg.MaxBodyBytes)
	}
	return newErr(http.StatusRequestTimeout, "RequestTimeout", "RequestTimeout",
		"Your socket connection to the server was not read from or written to within the timeout period.")
}

// busyResponse answers a connection past Config.MaxConnections: 503, which
// the AWS SDKs retry with backoff, with AWS's error type header.
const busyResponse = "HTTP/1.1 503 Service Unavailable\r\n" +
	"Content-Type: text/plain\r\nX-Amzn-ErrorType: ServiceUnavailable\r\n" +
	"Content-Length: 40\r\nConnection: close\r\n\r\n" +
	"Too many connections; try again later.\r\n"

// refuseBusy answers a connection over the limit.
func refuseBusy(c net.Conn) { _, _ = io.WriteString(c, busyResponse) }

// protocol is a request's wire protocol.
type protocol uint8

const (
	protoJSON  protocol = iota // AWS JSON 1.0 (SQS) / 1.1 (Kinesis)
	protoQuery                 // Query with XML responses
	protoCBOR                  // Kinesis over application/x-amz-cbor-1.1
)

// request is one decoded API call.
type request struct {
	ctx       context.Context
	id        string
	proto     protocol
	queryMode bool // X-Amzn-Query-Mode: send x-amzn-query-error
	wantJSON  bool // Query with Accept: application/json
	service   string
	action    string
	host      string
	tls       bool // the request came over TLS: URLs are https://
	path      string
	body      []byte
	pooled    bool       // body is an arena buffer, reused once the answer is written
	form      url.Values // nil for a pairsActions action until decodeInput needs it
	formKeys  []string   // the form's keys in the order sent, when it came whole from the body's fast parse
	formVals  []string   // their values
	id4       identity
	header    http.Header // the response's headers, for handlers that add one
	idHeader  [1]string   // the x-amzn-RequestId header's value slice
}

// ServeHTTP handles one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := &request{ctx: r.Context(), id: newUUID(), host: r.Host, tls: r.TLS != nil, path: r.URL.Path, header: w.Header()}
	req.idHeader[0] = req.id
	w.Header()["X-Amzn-Requestid"] = req.idHeader[:] // Set("x-amzn-RequestId"), without canonicalizing or allocating
	if r.Method == http.MethodGet && r.URL.RawQuery == "" && (r.URL.Path == "/" || r.URL.Path == "/health") {
		w.WriteHeader(http.StatusOK) // health check
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == SNSSigningCertPath {
		s.sns.serveCert(w)
		return
	}
	pooled := pooledBody(r)
	body, err := readBody(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), r.ContentLength, s.cfg.MaxBodyBytes, pooled)
	if pooled {
		defer putArena(body) // the answer is written by then
	}
	req.pooled = pooled
	if err != nil {
		s.classify(req, r)
		s.writeError(w, req, s.bodyErr(err))
		return
	}
	req.body = body
	// The body is in: a long poll or an event stream may now outlive the
	// read timeout, which only bounds a slow sender.
	httplimit.ClearReadDeadline(w)
	if aerr := s.classify(req, r); aerr != nil {
		s.writeError(w, req, aerr)
		return
	}
	if aerr := s.authenticate(req, r); aerr != nil && !snsUnsigned(req, r) {
		s.writeError(w, req, aerr)
		return
	}
	if req.service == "kinesis" && req.action == "SubscribeToShard" {
		s.subscribeToShard(w, req) // an event stream, not one result
		return
	}
	out, aerr := s.dispatch(req)
	if aerr != nil {
		s.writeError(w, req, aerr)
		return
	}
	s.writeResult(w, req, out)
}

// classify tells the service, protocol and action of a request.
func (s *Server) classify(req *request, r *http.Request) *apiError {
	req.queryMode = strings.EqualFold(r.Header.Get("X-Amzn-Query-Mode"), "true")
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		req.proto = protoJSON
		svc, action, _ := strings.Cut(target, ".")
		req.action = action
		switch svc {
		case "AmazonSQS":
			req.service = "sqs"
		case "Kinesis_20131202":
			req.service = "kinesis"
			if strings.HasPrefix(r.Header.Get("Content-Type"), ctKinesisCBOR) {
				req.proto = protoCBOR
			}
		default:
			req.service = "unknown"
			return errUnknownOperation()
		}
		return nil
	}
	req.proto = protoQuery
	req.wantJSON = strings.Contains(r.Header.Get("Accept"), "application/json")
	var form url.Values
	if r.URL.RawQuery != "" { // the usual Query post has none: no map for it
		var err error
		if form, err = parseForm(r.URL.RawQuery); err != nil {
			return errSerialization("malformed query string")
		}
	}
	if ct := r.Header.Get("Content-Type"); r.Method == http.MethodPost && (ct == "" ||
		strings.HasPrefix(ct, "application/x-www-form-urlencoded")) && len(req.body) > 0 {
		body := bodyString(req)
		keys, vals, ok := parseFormPairs(body)
		var bodyForm url.Values
		if !ok {
			var err error
			if bodyForm, err = url.ParseQuery(body); err != nil {
				return errSerialization("malformed form body")
			}
		}
		switch {
		case len(form) == 0 && ok:
			// The usual case, everything in the body: the pairs, and a
			// map only if the action needs one (below).
			form = nil
			req.formKeys, req.formVals = keys, vals
		case len(form) == 0:
			form = bodyForm
		default:
			if ok {
				bodyForm = pairsForm(keys, vals)
			}
			for k, v := range bodyForm {
				form[k] = append(form[k], v...)
			}
		}
	}
	if form == nil && req.formKeys == nil {
		form = url.Values{}
	}
	var version string
	if form != nil {
		req.action, version = form.Get("Action"), form.Get("Version")
	} else {
		req.action = formFirst(req.formKeys, req.formVals, "Action")
		version = formFirst(req.formKeys, req.formVals, "Version")
	}
	switch version {
	case "2010-03-31":
		req.service = "sns"
	case "2012-11-05":
		req.service = "sqs"
	default:
		req.service = scopeService(r)
	}
	if form == nil && !(req.service == "sqs" && pairsActions[req.action]) {
		form = pairsForm(req.formKeys, req.formVals)
	}
	req.form = form
	if req.action == "" {
		return newErr(400, "MissingAction", "MissingAction", "Could not find operation to perform.")
	}
	return nil
}

// pairsActions are the SQS actions decodeInput can decode from a form's
// pairs without its map (decodeQueryView); it makes the map only when
// that declines. Every other action gets the map in classify.
var pairsActions = map[string]bool{"SendMessage": true, "SendMessageBatch": true, "ReceiveMessage": true,
	"DeleteMessage": true, "DeleteMessageBatch": true, "ChangeMessageVisibility": true,
	"ChangeMessageVisibilityBatch": true}

// bodyString returns the body as a string for parsing its form: a view
// of req.body when that buffer is the request's own (a fresh slice that
// nothing writes to once read), so the form's keys and values share it
// instead of a copy of the whole body per request; a copy when the body
// is a pooled arena that is reused after the answer.
func bodyString(req *request) string {
	if req.pooled {
		return string(req.body)
	}
	return unsafe.String(unsafe.SliceData(req.body), len(req.body))
}

// scopeService returns the service named in a SigV4 credential scope
// ("sqs" when there is none).
func scopeService(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if h := r.Header.Get("Authorization"); h != "" {
		if a, err := parseAuthorization(h); err == nil {
			return a.cred.service
		}
	}
	if c, err := parseCredential(cred); err == nil {
		return c.service
	}
	return "sqs"
}

func (s *Server) dispatch(req *request) (any, *apiError) {
	switch req.service {
	case "sqs":
		return s.sqs.handle(req)
	case "sns":
		return s.sns.handle(req)
	case "kinesis":
		return s.kin.handle(req)
	}
	return nil, errInvalidAction(req.action)
}

// randBuf is a block of crypto/rand bytes handed out in small pieces:
// request ids, message ids and receipt nonces take 4-16 bytes each, and
// each crypto/rand.Read is a getrandom(2) call (1 % of the broker's CPU
// at SQS 10 x 10). off is where the unused bytes start.
type randBuf struct {
	b   [1024]byte
	off int
}

var randBufs = sync.Pool{New: func() any { return &randBuf{off: 1024} }}

// randomBytes fills p from crypto/rand, through a pooled block; no byte
// is handed out twice.
func randomBytes(p []byte) {
	r := randBufs.Get().(*randBuf)
	if len(p) > len(r.b) {
		_, _ = rand.Read(p)
	} else {
		if len(r.b)-r.off < len(p) {
			_, _ = rand.Read(r.b[:])
			r.off = 0
		}
		copy(p, r.b[r.off:])
		r.off += len(p)
	}
	randBufs.Put(r)
}

// newUUID returns a random RFC 4122 version 4 UUID.
func newUUID() string { return newUUIDIn(nil) }

// uuidLen is the length of a UUID's text.
const uuidLen = 36

// newUUIDIn is newUUID with the text in ts (see textSlab).
func newUUIDIn(ts *textSlab) string {
	var b [16]byte
	randomBytes(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [uuidLen]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return ts.text(out[:])
}

// readBody reads a request body of n bytes (its Content-Length; -1 when
// unknown) from rd: into one buffer of that size when the length is known
// and allowed, instead of io.ReadAll's doubling (a 500-record PutRecords
// body of ~700 KiB went through a dozen buffers: 24 % of the gateway's
// allocated bytes). net/http stops the body at Content-Length, and a
// shorter one ends in io.ErrUnexpectedEOF, as io.ReadAll reports it.
// pooled takes that buffer from arenas; the caller gives it back.
func readBody(rd io.Reader, n, max int64, pooled bool) ([]byte, error) {
	if n <= 0 || n > max {
		return io.ReadAll(rd)
	}
	var buf []byte
	if pooled {
		buf = getArena(int(n))[:n]
	} else {
		buf = make([]byte, n)
	}
	if _, err := io.ReadFull(rd, buf); err != nil {
		return nil, err
	}
	return buf, nil
}
