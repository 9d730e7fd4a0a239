package bench

import (
	"io"
	"net/http"
)

// bodyGuard works around a race between aws-sdk-go-v2 (smithy-go) and
// net/http that fails calls with "deserialization failed ... use of
// closed network connection" while the response was fine. smithy-go
// closes the request body as soon as the response headers arrive; its
// body wrapper then answers WriteTo with io.EOF. net/http, after writing
// a body of known length, reads on to check nothing is left, and does so
// through WriteTo (io.Copy to io.Discard). When a fast server answers
// before the client's writer goroutine gets there, that io.EOF comes
// back as a write error, and the writer closes the connection under the
// reader of the response. Hiding WriteTo makes that check a Read, whose
// io.EOF io.Copy takes as the end.
type bodyGuard struct{ rt http.RoundTripper }

// readOnlyBody is a request body without WriteTo.
type readOnlyBody struct{ io.ReadCloser }

func (g bodyGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		if _, ok := req.Body.(io.WriterTo); ok {
			r := *req
			r.Body = readOnlyBody{req.Body}
			req = &r
		}
	}
	return g.rt.RoundTrip(req)
}
