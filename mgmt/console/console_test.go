package console_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/mgmt/console"
)

// TestAssets: every path serves its embedded file with its type and the
// security and cache headers; unknown files are 404, writes 405, and a
// revalidation with the ETag is 304.
func TestAssets(t *testing.T) {
	srv := httptest.NewServer(console.Handler())
	t.Cleanup(srv.Close)
	tests := []struct {
		path, ctype string
		code        int
	}{
		{"/", "text/html; charset=utf-8", http.StatusOK},
		{"/console/", "text/html; charset=utf-8", http.StatusOK},
		{"/console/index.html", "text/html; charset=utf-8", http.StatusOK},
		{"/console/console.js", "text/javascript; charset=utf-8", http.StatusOK},
		{"/console/console.css", "text/css; charset=utf-8", http.StatusOK},
		{"/console/missing.js", "", http.StatusNotFound},
		{"/elsewhere", "", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, err := http.Get(srv.URL + tt.path)
			require.NoError(t, err)
			_ = res.Body.Close()
			require.Equal(t, tt.code, res.StatusCode)
			h := res.Header
			assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
			csp := h.Get("Content-Security-Policy")
			assert.Contains(t, csp, "default-src 'none'")
			assert.Contains(t, csp, "script-src 'self'")
			assert.NotContains(t, csp, "unsafe-inline")
			assert.NotContains(t, csp, "unsafe-eval")
			assert.Contains(t, csp, "frame-ancestors 'none'")
			if tt.code != http.StatusOK {
				return
			}
			assert.Equal(t, tt.ctype, h.Get("Content-Type"))
			assert.Equal(t, "no-cache", h.Get("Cache-Control"))
			require.NotEmpty(t, h.Get("ETag"))

			req, err := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
			require.NoError(t, err)
			req.Header.Set("If-None-Match", h.Get("ETag"))
			res, err = http.DefaultClient.Do(req)
			require.NoError(t, err)
			_ = res.Body.Close()
			assert.Equal(t, http.StatusNotModified, res.StatusCode)
		})
	}
	res, err := http.Post(srv.URL+"/", "text/plain", nil)
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
	assert.Equal(t, "GET, HEAD", res.Header.Get("Allow"))
}

// TestPageLoadsOnlyItsOwnFiles: index.html has no inline script, style or
// event handler (the CSP would block them) and loads only embedded files.
func TestPageLoadsOnlyItsOwnFiles(t *testing.T) {
	html, err := fs.ReadFile(console.Files(), "index.html")
	require.NoError(t, err)
	page := string(html)
	assert.NotRegexp(t, `<script(?:\s[^>]*)?>\s*[^<\s]`, page, "inline script")
	assert.NotRegexp(t, `<style`, page, "inline style sheet")
	assert.NotRegexp(t, `\s(on[a-z]+|style)=`, page, "inline handler or style attribute")
	refs := regexp.MustCompile(`(?:src|href)="([^"#][^"]*)"`).FindAllStringSubmatch(page, -1)
	require.NotEmpty(t, refs)
	for _, r := range refs {
		require.Regexp(t, `^/console/`, r[1], "a file served by the console")
		_, err := fs.Stat(console.Files(), r[1][len(console.Prefix):])
		assert.NoError(t, err, "%s is embedded", r[1])
	}
	js, err := fs.ReadFile(console.Files(), "console.js")
	require.NoError(t, err)
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		assert.False(t, strings.Contains(string(js), bad), "console.js uses %s (the page builds its DOM from text nodes)", bad)
	}
}

// TestScriptParses checks console.js's syntax with node when it is
// installed (CI installs it), so that a syntax error fails even where the
// browser test skips.
func TestScriptParses(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the browser test (cmd/junction TestConsoleInChromium) covers the script")
	}
	js, err := fs.ReadFile(console.Files(), "console.js")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "console.js")
	require.NoError(t, os.WriteFile(path, js, 0o600))
	out, err := exec.Command(node, "--check", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
}
