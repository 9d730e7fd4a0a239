package awsgw

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	amzDateFmt   = "20060102T150405Z"
	maxPresign   = 7 * 24 * time.Hour // X-Amz-Expires limit
)

// errMalformedAuth is what the parsers return; authenticate turns it into
// IncompleteSignature.
var errMalformedAuth = errors.New("malformed SigV4 authorization")

// credential is a SigV4 credential: access key and scope.
type credential struct {
	key, date, region, service string
}

func (c credential) scope() string {
	return c.date + "/" + c.region + "/" + c.service + "/aws4_request"
}

// parseCredential parses "AKID/20130524/us-east-1/sqs/aws4_request".
func parseCredential(s string) (credential, error) {
	p := strings.Split(s, "/")
	if len(p) != 5 || p[0] == "" || len(p[1]) != 8 || p[2] == "" || p[3] == "" || p[4] != "aws4_request" {
		return credential{}, errMalformedAuth
	}
	return credential{key: p[0], date: p[1], region: p[2], service: p[3]}, nil
}

// authHeader is a parsed Authorization header.
type authHeader struct {
	cred          credential
	signedHeaders []string
	signature     string
}

// parseAuthorization parses "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
// Signature=…".
func parseAuthorization(h string) (authHeader, error) {
	var a authHeader
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg != sigAlgorithm {
		return a, errMalformedAuth
	}
	var haveCred bool
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return a, errMalformedAuth
		}
		switch k {
		case "Credential":
			c, err := parseCredential(v)
			if err != nil {
				return a, err
			}
			a.cred, haveCred = c, true
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	if !haveCred || len(a.signedHeaders) == 0 || a.signedHeaders[0] == "" || a.signature == "" {
		return a, errMalformedAuth
	}
	return a, nil
}

// identity is who signed a request.
type identity struct {
	user      string // "" with AcceptAnyKey: full access
	accessKey string
	region    string
	anyKey    bool
}

// authenticate verifies a request's SigV4 signature (header or presigned
// query) and fills req.id4.
func (s *Server) authenticate(req *request, r *http.Request) *apiError {
	req.id4 = identity{region: s.cfg.Region}
	var q url.Values // read-only: nil for the usual empty query (no map per request)
	if r.URL.RawQuery != "" {
		q = r.URL.Query()
	}
	var a authHeader
	var amzDate string
	presigned := q.Get("X-Amz-Signature") != ""
	switch {
	case r.Header.Get("Authorization") != "":
		var err error
		if a, err = parseAuthorization(r.Header.Get("Authorization")); err != nil {
			if s.cfg.AcceptAnyKey {
				req.id4.anyKey = true
				return nil
			}
			return errIncompleteSignature("Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.")
		}
		amzDate = r.Header.Get("X-Amz-Date")
	case presigned:
		c, err := parseCredential(q.Get("X-Amz-Credential"))
		if err != nil || q.Get("X-Amz-Algorithm") != sigAlgorithm {
			return errIncompleteSignature("Presigned request requires X-Amz-Algorithm, X-Amz-Credential, X-Amz-SignedHeaders and X-Amz-Signature.")
		}
		a = authHeader{cred: c, signedHeaders: strings.Split(q.Get("X-Amz-SignedHeaders"), ";"),
			signature: q.Get("X-Amz-Signature")}
		amzDate = q.Get("X-Amz-Date")
	default:
		if s.cfg.AcceptAnyKey {
			req.id4.anyKey = true
			return nil
		}
		return errMissingAuth()
	}
	req.id4.region, req.id4.accessKey = a.cred.region, a.cred.key
	if s.cfg.AcceptAnyKey {
		req.id4.anyKey = true
		return nil
	}
	user, secret, ok := s.b.Users().LookupAccessKey(a.cred.key)
	if !ok {
		return errInvalidClientTokenID()
	}
	if aerr := s.checkDate(amzDate, a.cred, presigned, q.Get("X-Amz-Expires")); aerr != nil {
		return aerr
	}
	want := signature(secret, a.cred, amzDate, canonicalRequest(r, a.signedHeaders, req.body, presigned))
	got, err := hex.DecodeString(a.signature)
	if err != nil || subtle.ConstantTimeCompare(want, got) != 1 {
		return errSignatureMismatch()
	}
	if addr, err := net.ResolveTCPAddr("tcp", r.RemoteAddr); err == nil && !s.b.Users().AllowedFrom(user, addr) {
		return errAccessDenied("the endpoint: user " + user + " may only connect from localhost")
	}
	req.id4.user = user
	return nil
}

// checkDate applies the clock-skew window (header signatures) or the
// expiry (presigned requests).
func (s *Server) checkDate(amzDate string, c credential, presigned bool, expires string) *apiError {
	t, err := time.Parse(amzDateFmt, amzDate)
	if err != nil || t.Format("20060102") != c.date {
		return errIncompleteSignature("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", amzDate)
	}
	now := s.cfg.Now().UTC()
	if presigned {
		secs, err := strconv.Atoi(expires)
		if err != nil || secs < 1 || time.Duration(secs)*time.Second > maxPresign {
			return errIncompleteSignature("X-Amz-Expires must be between 1 and 604800 seconds.")
		}
		if now.After(t.Add(time.Duration(secs)*time.Second)) || t.After(now.Add(clockSkew)) {
			return errRequestExpired()
		}
		return nil
	}
	if t.Before(now.Add(-clockSkew)) {
		return errSignatureExpired(amzDate, now.Add(-clockSkew).Format(amzDateFmt), now.Format(amzDateFmt))
	}
	if t.After(now.Add(clockSkew)) {
		return errSignatureNotYetValid(amzDate, now.Add(clockSkew).Format(amzDateFmt), now.Format(amzDateFmt))
	}
	return nil
}

// signature computes the SigV4 signature of a canonical request.
func signature(secret string, c credential, amzDate, canonical string) []byte {
	sum := sha256.Sum256([]byte(canonical))
	sts := sigAlgorithm + "\n" + amzDate + "\n" + c.scope() + "\n" + hex.EncodeToString(sum[:])
	return hmacSHA256(signingKey(secret, c), sts)
}

// signingKeyID names a derived signing key.
type signingKeyID struct{ secret, date, region, service string }

// signingKeys caches derived SigV4 signing keys: a key serves every
// request of its day, so four of the five HMACs per request are saved.
// It is cleared when it reaches maxSigningKeys.
var signingKeys struct {
	sync.Mutex
	m map[signingKeyID][]byte
}

const maxSigningKeys = 1024

// signingKey returns the SigV4 signing key of secret for c's date, region
// and service.
func signingKey(secret string, c credential) []byte {
	id := signingKeyID{secret, c.date, c.region, c.service}
	signingKeys.Lock()
	k, ok := signingKeys.m[id]
	signingKeys.Unlock()
	if ok {
		return k
	}
	k = deriveSigningKey(secret, c)
	signingKeys.Lock()
	if signingKeys.m == nil || len(signingKeys.m) >= maxSigningKeys {
		signingKeys.m = make(map[signingKeyID][]byte)
	}
	signingKeys.m[id] = k
	signingKeys.Unlock()
	return k
}

func deriveSigningKey(secret string, c credential) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), c.date)
	k = hmacSHA256(k, c.region)
	k = hmacSHA256(k, c.service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalRequest builds the SigV4 canonical request as AWS does, in
// one builder: the usual request (an empty query, plain header values,
// a path with nothing to escape) costs no string per part.
// FuzzCanonicalRequest holds it to the part-by-part construction.
func canonicalRequest(r *http.Request, signed []string, body []byte, presigned bool) string {
	var b strings.Builder
	b.Grow(256)
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	appendURIEncode(&b, path, false)
	b.WriteByte('\n')
	if r.URL.RawQuery != "" {
		b.WriteString(canonicalQuery(r.URL.RawQuery, presigned))
	}
	b.WriteByte('\n')
	for _, h := range signed {
		b.WriteString(h)
		b.WriteByte(':')
		writeHeaderValue(&b, r, h)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	for i, h := range signed {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(h)
	}
	b.WriteByte('\n')
	switch ph := r.Header.Get("X-Amz-Content-Sha256"); {
	case ph != "":
		b.WriteString(ph)
	case presigned && r.URL.Query().Get("X-Amz-Content-Sha256") != "":
		b.WriteString(r.URL.Query().Get("X-Amz-Content-Sha256"))
	default:
		sum := sha256.Sum256(body)
		var hx [2 * sha256.Size]byte
		hex.Encode(hx[:], sum[:])
		b.Write(hx[:])
	}
	return b.String()
}

// writeHeaderValue writes headerValue(r, name) to b, without building it
// when the header has one value already in canonical form.
func writeHeaderValue(b *strings.Builder, r *http.Request, name string) {
	var v string
	switch name {
	case "host":
		v = r.Host
	case "content-length":
		b.WriteString(strconv.FormatInt(r.ContentLength, 10))
		return
	default:
		vs := r.Header.Values(name)
		if len(vs) != 1 {
			b.WriteString(headerValue(r, name))
			return
		}
		v = vs[0]
	}
	if !canonicalSpaces(v) {
		v = strings.Join(strings.Fields(v), " ")
	}
	b.WriteString(v)
}

// canonicalSpaces reports whether strings.Join(strings.Fields(v), " ")
// is v: ASCII without leading, trailing or repeated spaces or other
// white space.
func canonicalSpaces(v string) bool {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= 0x80, c == '\t', c == '\n', c == '\v', c == '\f', c == '\r':
			return false
		case c == ' ' && (i == 0 || i == len(v)-1 || v[i+1] == ' '):
			return false
		}
	}
	return true
}

// headerValue is a signed header's canonical value: values joined by
// commas, trimmed, inner runs of spaces collapsed.
func headerValue(r *http.Request, name string) string {
	var vals []string
	switch name {
	case "host":
		vals = []string{r.Host}
	case "content-length":
		vals = []string{strconv.FormatInt(r.ContentLength, 10)}
	default:
		vals = r.Header.Values(name)
	}
	for i, v := range vals {
		vals[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(vals, ",")
}

// canonicalQuery sorts and re-encodes a query string (without
// X-Amz-Signature when presigned).
func canonicalQuery(raw string, presigned bool) string {
	vals, _ := url.ParseQuery(raw)
	type kv struct{ k, v string }
	var pairs []kv
	for k, vs := range vals {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, kv{uriEncode(k, true), uriEncode(v, true)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

// uriEncode percent-encodes everything but the unreserved characters
// (and '/' unless encodeSlash), upper-case hex, as SigV4 requires.
func uriEncode(s string, encodeSlash bool) string {
	var b strings.Builder
	appendURIEncode(&b, s, encodeSlash)
	return b.String()
}

// appendURIEncode writes uriEncode(s, encodeSlash) to b.
func appendURIEncode(b *strings.Builder, s string, encodeSlash bool) {
	const hexd = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
}
