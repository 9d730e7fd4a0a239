package mgmt_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	rabbithole "github.com/michaelklishin/rabbit-hole/v2"
)

// exportDefs fetches GET /api/definitions as generic JSON.
func (e *env) exportDefs(t *testing.T) map[string]any {
	t.Helper()
	code, body := e.call(t, "GET", "/api/definitions", "guest", "guest", nil)
	if code != 200 {
		t.Fatalf("export = %d %s", code, body)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDefinitionsRoundTrip: what one broker exports, a fresh broker
// imports and exports again unchanged.
func TestDefinitionsRoundTrip(t *testing.T) {
	a := start(t)
	rh := a.client(t, "guest", "guest")
	steps := []func() (*http.Response, error){
		func() (*http.Response, error) {
			return rh.PutVhost("shop", rabbithole.VhostSettings{Description: "the shop"})
		},
		func() (*http.Response, error) {
			return rh.PutUser("app", rabbithole.UserSettings{Password: "pw", Tags: []string{"management"}})
		},
		func() (*http.Response, error) {
			return rh.UpdatePermissionsIn("shop", "app", rabbithole.Permissions{Configure: "^app", Write: ".*", Read: ".*"})
		},
		func() (*http.Response, error) {
			return rh.UpdatePermissionsIn("shop", "guest", rabbithole.Permissions{Configure: ".*", Write: ".*", Read: ".*"})
		},
		func() (*http.Response, error) {
			return rh.UpdateTopicPermissionsIn("shop", "app", rabbithole.TopicPermissions{Exchange: "amq.topic", Write: "^x", Read: ".*"})
		},
		func() (*http.Response, error) {
			return rh.DeclareExchange("shop", "orders", rabbithole.ExchangeSettings{Type: "topic", Durable: true,
				Arguments: map[string]any{"alternate-exchange": "amq.fanout"}})
		},
		func() (*http.Response, error) {
			return rh.DeclareQueue("shop", "paid", rabbithole.QueueSettings{Durable: true, Arguments: map[string]any{"x-max-length": 10}})
		},
		func() (*http.Response, error) {
			return rh.DeclareQueue("shop", "audit", rabbithole.QueueSettings{Type: "quorum", Durable: true})
		},
		func() (*http.Response, error) {
			return rh.DeclareBinding("shop", rabbithole.BindingInfo{Source: "orders", Destination: "paid", DestinationType: "queue",
				RoutingKey: "order.paid", Arguments: map[string]any{"x-n": 1}})
		},
		func() (*http.Response, error) {
			return rh.DeclareBinding("shop", rabbithole.BindingInfo{Source: "amq.topic", Destination: "orders", DestinationType: "exchange", RoutingKey: "#"})
		},
		func() (*http.Response, error) {
			return rh.PutPolicy("shop", "ttl", rabbithole.Policy{Pattern: "^paid$", ApplyTo: "queues", Priority: 3,
				Definition: rabbithole.PolicyDefinition{"message-ttl": 60000}})
		},
	}
	for i, step := range steps {
		res, err := step()
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		res.Body.Close()
	}
	first := a.exportDefs(t)
	for key, n := range map[string]int{"users": 2, "vhosts": 2, "permissions": 3, "topic_permissions": 1,
		"exchanges": 1, "queues": 2, "bindings": 2, "policies": 1} {
		if l, _ := first[key].([]any); len(l) != n {
			t.Fatalf("export %s = %v, want %d", key, first[key], n)
		}
	}
	if defs, err := rh.ListDefinitions(); err != nil || len(*defs.Queues) != 2 {
		t.Fatalf("rabbit-hole export: %v", err)
	}

	b := start(t)
	data, _ := json.Marshal(first)
	code, body := b.callBody(t, "POST", "/api/definitions", string(data))
	if code != http.StatusNoContent {
		t.Fatalf("import = %d %s", code, body)
	}
	second := b.exportDefs(t)
	for _, key := range []string{"users", "vhosts", "permissions", "topic_permissions", "exchanges", "queues", "bindings", "policies"} {
		if !reflect.DeepEqual(first[key], second[key]) {
			t.Errorf("%s differ:\n%v\n%v", key, first[key], second[key])
		}
	}
	if _, err := b.core.Users().CheckPassword("app", "pw"); err != nil {
		t.Fatalf("imported user cannot log in: %v", err)
	}
}

// rabbitExport is a RabbitMQ 3.13 export with parts Junction does not
// have: a federation upstream, a shovel and an ha-mode policy.
const rabbitExport = `{
  "rabbit_version": "3.13.7", "rabbitmq_version": "3.13.7", "product_name": "RabbitMQ", "product_version": "3.13.7",
  "users": [{"name": "ops", "password_hash": "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"], "limits": {}}],
  "vhosts": [{"name": "legacy", "description": "", "tags": [], "metadata": {"description": "", "tags": []}}],
  "permissions": [{"user": "ops", "vhost": "legacy", "configure": ".*", "write": ".*", "read": ".*"}],
  "topic_permissions": [],
  "parameters": [
    {"value": {"uri": "amqp://upstream", "expires": 3600000}, "vhost": "legacy", "component": "federation-upstream", "name": "up"},
    {"value": {"src-uri": "amqp://", "src-queue": "a", "dest-uri": "amqp://", "dest-queue": "b"}, "vhost": "legacy", "component": "shovel", "name": "sh"}
  ],
  "global_parameters": [{"name": "internal_cluster_id", "value": "rabbitmq-cluster-id-x"}],
  "policies": [
    {"vhost": "legacy", "name": "ha", "pattern": ".*", "apply-to": "queues", "definition": {"ha-mode": "all", "ha-sync-mode": "automatic"}, "priority": 0},
    {"vhost": "legacy", "name": "fed", "pattern": "^fed", "apply-to": "exchanges", "definition": {"federation-upstream-set": "all"}, "priority": 0},
    {"vhost": "legacy", "name": "len", "pattern": "^work$", "apply-to": "queues", "definition": {"max-length": 5, "ha-mode": "all"}, "priority": 1}
  ],
  "queues": [{"name": "work", "vhost": "legacy", "durable": true, "auto_delete": false, "arguments": {"x-queue-type": "classic"}}],
  "exchanges": [{"name": "fed.x", "vhost": "legacy", "type": "direct", "durable": true, "auto_delete": false, "internal": false, "arguments": {}}],
  "bindings": [{"source": "fed.x", "vhost": "legacy", "destination": "work", "destination_type": "queue", "routing_key": "w", "arguments": {}}]
}`

// TestDefinitionsImportSkips: a RabbitMQ export with unsupported parts
// imports the rest and reports what it skipped.
func TestDefinitionsImportSkips(t *testing.T) {
	e := start(t)
	code, body := e.callBody(t, "POST", "/api/definitions", rabbitExport)
	if code != http.StatusOK {
		t.Fatalf("import = %d %s", code, body)
	}
	var res struct{ Skipped []string }
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(res.Skipped, "\n")
	for _, want := range []string{"federation-upstream", "shovel", "ha-mode"} {
		if !strings.Contains(all, want) {
			t.Errorf("skipped does not mention %s: %q", want, res.Skipped)
		}
	}
	rh := e.client(t, "guest", "guest")
	q, err := rh.GetQueue("legacy", "work")
	if err != nil || q.Policy != "len" {
		t.Fatalf("imported queue = %+v, %v", q, err)
	}
	if bs, err := rh.ListQueueBindings("legacy", "work"); err != nil || len(bs) != 2 {
		t.Fatalf("imported bindings = %+v, %v", bs, err)
	}
	if _, err := rh.GetExchange("legacy", "fed.x"); err != nil {
		t.Fatalf("imported exchange: %v", err)
	}
	code, body = e.callBody(t, "POST", "/api/definitions", `{"users": [{"tags": []}]}`)
	if code != http.StatusBadRequest || !strings.Contains(string(body), "bad_request") {
		t.Fatalf("malformed import = %d %s", code, body)
	}
}
