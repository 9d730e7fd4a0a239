package main

// The admin subcommands (list, declare, delete, close, export, import,
// publish, get) call the management HTTP API, as rabbitmqadmin does: this
// file holds the client, the shared flags and the output; admincmd.go the
// commands.

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
)

// adminFlags are the flags every admin command takes.
func adminFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "url", Value: "http://127.0.0.1:15672", EnvVars: []string{"JUNCTION_ADMIN_URL"},
			Usage: "the management API's base URL"},
		&cli.StringFlag{Name: "user", Value: "guest", EnvVars: []string{"JUNCTION_ADMIN_USER"}, Usage: "user name"},
		&cli.StringFlag{Name: "password", Value: "guest", EnvVars: []string{"JUNCTION_ADMIN_PASSWORD"}, Usage: "password"},
		&cli.StringFlag{Name: "vhost", Value: "/", EnvVars: []string{"JUNCTION_ADMIN_VHOST"},
			Usage: "virtual host (listings: only this one when set)"},
		&cli.BoolFlag{Name: "json", Usage: "print the API's JSON instead of a table"},
		&cli.StringFlag{Name: "cacert", EnvVars: []string{"JUNCTION_ADMIN_CACERT"},
			Usage: "PEM certificates to trust for an https --url (the system's otherwise)"},
		&cli.BoolFlag{Name: "insecure", Usage: "do not verify an https --url's certificate"},
	}
}

// apiClient calls the management API with basic auth.
type apiClient struct {
	base, user, pass string
	http             *http.Client
}

// newClient builds the client from c's flags.
func newClient(c *cli.Context) (*apiClient, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if f := c.String("cacert"); f != "" || c.Bool("insecure") {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: c.Bool("insecure")} //nolint:gosec // asked for with --insecure
		if f != "" {
			pem, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("--cacert: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--cacert %s: no PEM certificate", f)
			}
			tr.TLSClientConfig.RootCAs = pool
		}
	}
	return &apiClient{base: strings.TrimRight(c.String("url"), "/"), user: c.String("user"),
		pass: c.String("password"), http: &http.Client{Timeout: 60 * time.Second, Transport: tr}}, nil
}

// call makes one request with c's client (see apiClient.do).
func call(c *cli.Context, method, path string, body any) ([]byte, error) {
	cl, err := newClient(c)
	if err != nil {
		return nil, err
	}
	return cl.do(method, path, body)
}

// apiError is the API's error answer, or a transport failure.
type apiError struct {
	Status int
	Reason string
}

func (e *apiError) Error() string {
	if e.Status == 0 {
		return e.Reason
	}
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Reason)
}

// do sends a request with an optional JSON body (a []byte is sent as it
// is) and returns the answer's body; a status of 400 or more is an
// *apiError with the API's reason text.
func (a *apiClient) do(method, path string, body any) ([]byte, error) {
	return a.send(method, path, body, nil)
}

// send is do with extra request headers.
func (a *apiClient) send(method, path string, body any, hdr http.Header) ([]byte, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		return nil, &apiError{Reason: err.Error()}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.SetBasicAuth(a.user, a.pass)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.http.Do(req)
	if err != nil {
		return nil, &apiError{Reason: err.Error()}
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 256<<20))
	if err != nil {
		return nil, &apiError{Reason: err.Error()}
	}
	if res.StatusCode >= 400 {
		return nil, &apiError{Status: res.StatusCode, Reason: reasonOf(res.StatusCode, data)}
	}
	return data, nil
}

// reasonOf is the reason text of an error body ({"error":..,"reason":..}),
// or its error text when the reason only repeats the status ("Not
// Found").
func reasonOf(status int, data []byte) string {
	var e struct {
		Error  string `json:"error"`
		Reason string `json:"reason"`
	}
	if json.Unmarshal(data, &e) == nil && (e.Reason != "" || e.Error != "") {
		if e.Reason == "" || (e.Reason == http.StatusText(status) && e.Error != "") {
			return e.Error
		}
		return e.Reason
	}
	return strings.TrimSpace(string(data))
}

// esc escapes one path segment ("/" becomes "%2F", as the API wants).
func esc(s string) string { return url.PathEscape(s) }

// column is one table column: a header and the JSON field it shows
// (dotted for nested objects: "queue.name").
type column struct{ header, field string }

// printList prints a JSON array as an aligned table of cols, or as
// indented JSON with --json.
func printList(c *cli.Context, data []byte, cols []column) error {
	if c.Bool("json") {
		return printJSON(c, data)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var rows []map[string]any
	if err := dec.Decode(&rows); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	hdr := make([]string, len(cols))
	for i, col := range cols {
		hdr[i] = col.header
	}
	fmt.Fprintln(tw, strings.Join(hdr, "\t"))
	for _, r := range rows {
		cells := make([]string, len(cols))
		for i, col := range cols {
			cells[i] = cell(lookup(r, col.field))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// printJSON re-indents the API's JSON.
func printJSON(c *cli.Context, data []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "  "); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	buf.WriteByte('\n')
	_, err := c.App.Writer.Write(buf.Bytes())
	return err
}

// lookup follows a dotted field path through nested objects.
func lookup(m map[string]any, field string) any {
	var v any = m
	for _, k := range strings.Split(field, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

// cell formats one value for a table: lists joined by commas, objects as
// compact JSON, null as empty.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strings.NewReplacer("\t", " ", "\n", " ").Replace(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = cell(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		if len(x) == 0 {
			return ""
		}
		data, _ := json.Marshal(x)
		return string(data)
	}
	return fmt.Sprint(v)
}

// args returns c's positional arguments after applying any flags written
// among or after them ("declare queue orders --durable=false"): Go's flag
// parsing stops at the first argument, so those are set here.
func args(c *cli.Context) ([]string, error) {
	in := c.Args().Slice()
	var out []string
	for i := 0; i < len(in); i++ {
		a := in[i]
		if a == "--" {
			return append(out, in[i+1:]...), nil
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			out = append(out, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := findFlag(c.Command.Flags, name)
		if f == nil {
			return nil, fmt.Errorf("flag provided but not defined: -%s", name)
		}
		if _, isBool := f.(*cli.BoolFlag); isBool && !hasVal {
			val = "true"
		} else if !hasVal {
			if i+1 >= len(in) {
				return nil, fmt.Errorf("flag needs an argument: -%s", name)
			}
			i++
			val = in[i]
		}
		if err := c.Set(name, val); err != nil {
			return nil, fmt.Errorf("invalid value %q for flag -%s: %v", val, name, err)
		}
	}
	return out, nil
}

// findFlag returns the flag called name among flags.
func findFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

// wantArgs returns exactly n positional arguments (see args) or an error
// naming what is expected.
func wantArgs(c *cli.Context, n int, what string) ([]string, error) {
	a, err := args(c)
	if err != nil {
		return nil, err
	}
	if len(a) != n {
		return nil, fmt.Errorf("%s: want %s", cmdPath(c), what)
	}
	return a, nil
}

// cmdPath is the command's name with its parents' ("declare queue").
func cmdPath(c *cli.Context) string {
	var names []string
	for _, cc := range c.Lineage() {
		if cc.Command != nil && cc.Command.Name != "" && cc.Command.Name != c.App.Name {
			names = append([]string{cc.Command.Name}, names...)
		}
	}
	return strings.Join(names, " ")
}

// vhostSet reports whether --vhost was given (listings then show that
// vhost only).
func vhostSet(c *cli.Context) bool { return c.IsSet("vhost") }

// parseJSONObject parses a --arguments style flag: a JSON object, or ""
// for none.
func parseJSONObject(s, flag string) (map[string]any, error) {
	if s == "" {
		return map[string]any{}, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("--%s: want a JSON object: %v", flag, err)
	}
	return m, nil
}

// jsonDecode decodes an answer.
func jsonDecode(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	return nil
}
