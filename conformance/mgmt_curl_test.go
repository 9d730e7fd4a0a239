package conformance_test

import (
	"encoding/json"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mgmtCurl drives a junction child's management API with the curl binary,
// as rabbitmqadmin and shell scripts do.
type mgmtCurl struct {
	base string // http://127.0.0.1:port
}

// call runs curl with method, path (already escaped) and an optional JSON
// body as guest, and returns the status code and the body.
func (m mgmtCurl) call(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	return m.callAs(t, "guest:guest", method, path, body)
}

// callAs is call with other credentials ("user:password").
func (m mgmtCurl) callAs(t *testing.T, creds, method, path, body string) (int, string) {
	t.Helper()
	args := []string{"-sS", "--max-time", "30", "-u", creds, "-X", method, "-w", "\n%{http_code}"}
	if body != "" {
		args = append(args, "-H", "content-type: application/json", "--data-binary", "@-")
	}
	cmd := exec.Command("curl", append(args, m.base+path)...)
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.Output()
	require.NoError(t, err, "curl -X %s %s", method, path)
	s := string(out)
	i := strings.LastIndexByte(s, '\n')
	code, err := strconv.Atoi(s[i+1:])
	require.NoError(t, err, "curl output %q", s)
	return code, s[:i]
}

// want makes a call, requires status code and returns the decoded JSON
// body (nil when empty).
func (m mgmtCurl) want(t *testing.T, code int, method, path, body string) any {
	t.Helper()
	got, out := m.call(t, method, path, body)
	require.Equal(t, code, got, "%s %s: %s", method, path, out)
	if out == "" {
		return nil
	}
	var v any
	require.NoError(t, json.Unmarshal([]byte(out), &v), "%s %s: %s", method, path, out)
	return v
}

// names returns the "name" (or key) field of each object of a JSON list.
func names(v any, key string) []string {
	var out []string
	list, _ := v.([]any)
	for _, e := range list {
		if o, ok := e.(map[string]any); ok {
			s, _ := o[key].(string)
			out = append(out, s)
		}
	}
	return out
}

// TestMgmtCurl makes rabbitmqadmin's calls with curl against a child
// broker: declare a queue, an exchange and a binding, publish, get, list,
// export the definitions, delete, import them back, and the error
// answers.
func TestMgmtCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	m := mgmtCurl{base: "http://" + startChild(t, "mgmt").addr}

	ov := m.want(t, 200, "GET", "/api/overview", "").(map[string]any)
	assert.NotEmpty(t, ov["rabbitmq_version"])
	assert.Contains(t, ov, "object_totals")
	assert.Contains(t, ov, "message_stats")

	// rabbitmqadmin declare vhost / queue / exchange / binding.
	m.want(t, 201, "PUT", "/api/vhosts/dev", `{"description":"development"}`)
	assert.Contains(t, names(m.want(t, 200, "GET", "/api/vhosts", ""), "name"), "dev")
	m.want(t, 201, "PUT", "/api/queues/%2F/orders", `{"durable":true,"auto_delete":false,"arguments":{"x-max-length":100}}`)
	m.want(t, 204, "PUT", "/api/queues/%2F/orders", `{"durable":true,"arguments":{"x-max-length":100}}`)
	e := m.want(t, 400, "PUT", "/api/queues/%2F/orders", `{"durable":false}`).(map[string]any)
	assert.Equal(t, "bad_request", e["error"])
	assert.Contains(t, e["reason"], "durable")
	m.want(t, 201, "PUT", "/api/exchanges/%2F/events", `{"type":"topic","durable":true}`)
	m.want(t, 201, "POST", "/api/bindings/%2F/e/events/q/orders", `{"routing_key":"order.*","arguments":{}}`)
	bs := m.want(t, 200, "GET", "/api/bindings/%2F/e/events/q/orders", "").([]any)
	require.Len(t, bs, 1)
	assert.Equal(t, "order.*", bs[0].(map[string]any)["routing_key"])

	// rabbitmqadmin publish / get.
	r := m.want(t, 200, "POST", "/api/exchanges/%2F/events/publish",
		`{"properties":{"delivery_mode":2},"routing_key":"order.new","payload":"hello","payload_encoding":"string"}`)
	assert.Equal(t, map[string]any{"routed": true}, r)
	r = m.want(t, 200, "POST", "/api/exchanges/%2F/events/publish",
		`{"properties":{},"routing_key":"nothing","payload":"x","payload_encoding":"string"}`)
	assert.Equal(t, map[string]any{"routed": false}, r)
	require.Eventually(t, func() bool {
		q := m.want(t, 200, "GET", "/api/queues/%2F/orders", "").(map[string]any)
		return q["messages"] == float64(1)
	}, 10*time.Second, 50*time.Millisecond)
	msgs := m.want(t, 200, "POST", "/api/queues/%2F/orders/get",
		`{"count":5,"ackmode":"ack_requeue_false","encoding":"auto"}`).([]any)
	require.Len(t, msgs, 1)
	msg := msgs[0].(map[string]any)
	assert.Equal(t, "hello", msg["payload"])
	assert.Equal(t, "events", msg["exchange"])
	assert.Equal(t, "order.new", msg["routing_key"])

	// rabbitmqadmin list ...
	assert.Contains(t, names(m.want(t, 200, "GET", "/api/queues", ""), "name"), "orders")
	assert.Contains(t, names(m.want(t, 200, "GET", "/api/exchanges/%2F", ""), "name"), "events")
	assert.Contains(t, names(m.want(t, 200, "GET", "/api/bindings", ""), "source"), "events")
	assert.Contains(t, names(m.want(t, 200, "GET", "/api/users", ""), "name"), "guest")
	assert.Contains(t, names(m.want(t, 200, "GET", "/api/permissions", ""), "user"), "guest")
	for _, p := range []string{"/api/connections", "/api/channels", "/api/consumers"} {
		assert.Equal(t, []any{}, m.want(t, 200, "GET", p, ""), p)
	}

	// rabbitmqadmin export, delete, import.
	_, defs := m.call(t, "GET", "/api/definitions", "")
	m.want(t, 204, "DELETE", "/api/queues/%2F/orders", "")
	m.want(t, 204, "DELETE", "/api/exchanges/%2F/events", "")
	nf := m.want(t, 404, "GET", "/api/queues/%2F/orders", "")
	assert.Equal(t, map[string]any{"error": "Object Not Found", "reason": "Not Found"}, nf)
	m.want(t, 204, "POST", "/api/definitions", defs)
	m.want(t, 200, "GET", "/api/queues/%2F/orders", "")
	bs = m.want(t, 200, "GET", "/api/bindings/%2F/e/events/q/orders", "").([]any)
	require.Len(t, bs, 1)
	key := bs[0].(map[string]any)["properties_key"].(string)
	// The properties key is a path segment: escaped once more, as
	// rabbit-hole and rabbitmqadmin send it.
	m.want(t, 204, "DELETE", "/api/bindings/%2F/e/events/q/orders/"+url.PathEscape(key), "")

	// A RabbitMQ export with what Junction lacks imports the rest and
	// lists what it skipped.
	sk := m.want(t, 200, "POST", "/api/definitions", `{"queues":[{"name":"more","vhost":"/","durable":true,
		"auto_delete":false,"arguments":{}}],"parameters":[{"vhost":"/","component":"shovel","name":"s1","value":{}}]}`)
	assert.NotEmpty(t, sk.(map[string]any)["skipped"])
	m.want(t, 200, "GET", "/api/queues/%2F/more", "")

	// Refusals.
	code, out := m.callAs(t, "guest:wrong", "GET", "/api/queues", "")
	assert.Equal(t, 401, code)
	assert.Contains(t, out, "not_authorised")
	m.want(t, 400, "PUT", "/api/exchanges/%2F/bad", `{"type":"nonsense"}`)
	m.want(t, 400, "PUT", "/api/queues/%2F/broken", `{not json`)
	m.want(t, 204, "DELETE", "/api/vhosts/dev", "")
	m.want(t, 404, "DELETE", "/api/vhosts/dev", "")
}
