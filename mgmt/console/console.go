// Package console is Junction's web console: a single page of plain HTML,
// CSS and JavaScript, embedded in the binary and served by the management
// listener at "/" and "/console/". It has no build step and loads nothing
// from elsewhere: the page talks only to the management API (/api/...) of
// the origin that served it, with the user's basic-auth credentials, which
// it keeps in sessionStorage (never in a URL or a cookie).
//
// The console's JavaScript (static/console.js) lists every API path it
// fetches in one table (API); the management tests check each against the
// live API, so the page never calls an endpoint that does not exist.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Files is the console's assets (index.html, console.css, console.js),
// for tests that read what the browser gets.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil { // the embedded tree always has static/
		return static
	}
	return sub
}

// Prefix is where the assets are served; "/" serves index.html too.
const Prefix = "/console/"

// contentTypes are the types of the embedded files, by extension; a file
// of another kind is not served.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// csp lets the page run only its own script and style files and talk only
// to its own origin: no inline script, no eval, no framing, no plugins.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one embedded file with its precomputed headers.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// Handler serves the console: "/" and "/console/" give index.html,
// "/console/<file>" the file. Every answer carries the security headers;
// assets are revalidated by ETag on each load (Cache-Control: no-cache),
// so a new binary's console is picked up at once.
func Handler() http.Handler {
	assets := map[string]*asset{}
	_ = fs.WalkDir(Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return nil
		}
		body, err := fs.ReadFile(Files(), p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		assets[p] = &asset{body: body, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		name := ""
		switch {
		case r.URL.Path == "/" || r.URL.Path == Prefix:
			name = "index.html"
		case strings.HasPrefix(r.URL.Path, Prefix):
			name = strings.TrimPrefix(r.URL.Path, Prefix)
		}
		a := assets[name]
		if a == nil {
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Content-Type", a.ctype)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
	})
}
