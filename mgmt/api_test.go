package mgmt_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	rabbithole "github.com/michaelklishin/rabbit-hole/v2"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/message"
)

// client returns a rabbit-hole client for user on e's management API.
func (e *env) client(t *testing.T, user, pass string) *rabbithole.Client {
	t.Helper()
	c, err := rabbithole.NewClient(e.mgmtBase, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// must fails the test on err, and on a response status other than want.
func must(t *testing.T, res *http.Response, err error, want int) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != want {
		t.Fatalf("status %d, want %d", res.StatusCode, want)
	}
}

// publish publishes n transient messages to queue name through the core.
func publish(t *testing.T, b *core.Broker, vhost, name string, n int) {
	t.Helper()
	v, err := b.Vhost(vhost)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if _, err := v.Publish(&message.Message{RoutingKey: name, Body: []byte("hello")}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOverviewAndWhoami(t *testing.T) {
	e := start(t)
	rh := e.client(t, "guest", "guest")
	if _, _, err := e.core.Vhosts()[0].DeclareQueue(core.QueueDecl{Name: "q1", Durable: true}); err != nil {
		t.Fatal(err)
	}
	publish(t, e.core, "/", "q1", 3)
	ov, err := rh.Overview()
	if err != nil {
		t.Fatal(err)
	}
	if ov.RabbitMQVersion == "" || ov.QueueTotals.Messages != 3 || ov.QueueTotals.MessagesReady != 3 ||
		ov.ObjectTotals.Queues != 1 || ov.ObjectTotals.Exchanges != 6 || len(ov.ExchangeTypes) != 4 {
		t.Fatalf("overview = %+v", ov)
	}
	me, err := rh.Whoami()
	if err != nil || me.Name != "guest" || len(me.Tags) != 1 || me.Tags[0] != "administrator" {
		t.Fatalf("whoami = %+v, %v", me, err)
	}
	nodes, err := rh.ListNodes()
	if err != nil || len(nodes) != 1 || !nodes[0].IsRunning {
		t.Fatalf("nodes = %+v, %v", nodes, err)
	}
}

func TestVhostsUsersPermissions(t *testing.T) {
	e := start(t)
	rh := e.client(t, "guest", "guest")
	res, err := rh.PutVhost("dev", rabbithole.VhostSettings{Description: "development", Tags: []string{"a", "b"}})
	must(t, res, err, http.StatusCreated)
	res, err = rh.PutVhost("dev", rabbithole.VhostSettings{Description: "dev two"})
	must(t, res, err, http.StatusNoContent)
	vh, err := rh.GetVhost("dev")
	if err != nil || vh.Description != "dev two" {
		t.Fatalf("vhost = %+v, %v", vh, err)
	}
	if _, err := e.core.Vhost("dev"); err != nil {
		t.Fatalf("core has no vhost dev: %v", err)
	}
	vhosts, err := rh.ListVhosts()
	if err != nil || len(vhosts) != 2 || vhosts[0].Name != "/" || vhosts[1].Name != "dev" {
		t.Fatalf("vhosts = %+v, %v", vhosts, err)
	}

	res, err = rh.PutUser("alice", rabbithole.UserSettings{Password: "s3cret", Tags: []string{"management"}})
	must(t, res, err, http.StatusCreated)
	res, err = rh.UpdatePermissionsIn("dev", "alice", rabbithole.Permissions{Configure: "^a", Write: ".*", Read: ".*"})
	must(t, res, err, http.StatusCreated)
	users, err := rh.ListUsers()
	if err != nil || len(users) != 2 || users[0].Name != "alice" || users[0].PasswordHash == "" {
		t.Fatalf("users = %+v, %v", users, err)
	}
	code, body := e.call(t, "GET", "/api/users/alice", "guest", "guest", nil)
	if code != 200 || strings.Contains(string(body), "s3cret") {
		t.Fatalf("GET user = %d %s", code, body)
	}
	p, err := rh.GetPermissionsIn("dev", "alice")
	if err != nil || p.Configure != "^a" || p.Vhost != "dev" || p.User != "alice" {
		t.Fatalf("permissions = %+v, %v", p, err)
	}
	if _, err := e.core.Users().CheckPassword("alice", "s3cret"); err != nil {
		t.Fatalf("alice cannot log in: %v", err)
	}
	// alice (management) sees only the vhost she has permissions in.
	vhosts, err = e.client(t, "alice", "s3cret").ListVhosts()
	if err != nil || len(vhosts) != 1 || vhosts[0].Name != "dev" {
		t.Fatalf("alice's vhosts = %+v, %v", vhosts, err)
	}
	// A user created from an exported hash logs in with the same password.
	u, _ := e.core.Users().User("alice")
	res, err = rh.PutUser("bob", rabbithole.UserSettings{PasswordHash: u.PasswordHash(), HashingAlgorithm: rabbithole.HashingAlgorithmSHA256})
	must(t, res, err, http.StatusCreated)
	if _, err := e.core.Users().CheckPassword("bob", "s3cret"); err != nil {
		t.Fatalf("bob cannot log in: %v", err)
	}
	res, err = rh.UpdateTopicPermissionsIn("dev", "alice", rabbithole.TopicPermissions{Exchange: "amq.topic", Write: "^a", Read: ".*"})
	must(t, res, err, http.StatusCreated)
	tps, err := rh.ListTopicPermissions()
	if err != nil || len(tps) != 1 || tps[0].Exchange != "amq.topic" {
		t.Fatalf("topic permissions = %+v, %v", tps, err)
	}
	res, err = rh.ClearPermissionsIn("dev", "alice")
	must(t, res, err, http.StatusNoContent)
	if _, ok := e.core.Users().Permissions("alice", "dev"); ok {
		t.Fatal("permissions not cleared")
	}
	res, err = rh.DeleteUser("bob")
	must(t, res, err, http.StatusNoContent)
	res, err = rh.DeleteVhost("dev")
	must(t, res, err, http.StatusNoContent)
	if _, err := e.core.Vhost("dev"); err == nil {
		t.Fatal("vhost dev still in the core")
	}
}

func TestQueues(t *testing.T) {
	e := start(t)
	rh := e.client(t, "guest", "guest")
	v, _ := e.core.Vhost("/")
	for _, name := range []string{"orders", "orders.dlq", "events"} {
		if _, _, err := v.DeclareQueue(core.QueueDecl{Name: name, Durable: true,
			Args: message.Table{{Key: "x-max-length", Value: int64(100)}}}); err != nil {
			t.Fatal(err)
		}
	}
	publish(t, e.core, "/", "orders", 5)
	q, _ := v.Queue("orders")
	if _, ok := q.Get(false); !ok { // one unacked
		t.Fatal("no message")
	}
	qs, err := rh.ListQueues()
	if err != nil || len(qs) != 3 {
		t.Fatalf("queues = %+v, %v", qs, err)
	}
	got, err := rh.GetQueue("/", "orders")
	if err != nil {
		t.Fatal(err)
	}
	if got.Messages != 5 || got.MessagesReady != 4 || got.MessagesUnacknowledged != 1 || !got.Durable ||
		got.Arguments["x-max-length"] != float64(100) || got.Vhost != "/" {
		t.Fatalf("orders = %+v", got)
	}
	paged, err := rh.PagedListQueuesWithParameters(url.Values{"page": {"1"}, "page_size": {"1"}, "name": {"^orders"}, "use_regex": {"true"}})
	if err != nil || paged.FilteredCount != 2 || paged.TotalCount != 3 || paged.PageCount != 2 || len(paged.Items) != 1 ||
		paged.Items[0].Name != "orders" {
		t.Fatalf("paged = %+v, %v", paged, err)
	}
	res, err := rh.DeclareQueue("/", "made", rabbithole.QueueSettings{Durable: true, Arguments: map[string]any{"x-message-ttl": 1000}})
	must(t, res, err, http.StatusCreated)
	res, err = rh.DeclareQueue("/", "made", rabbithole.QueueSettings{Durable: true, Arguments: map[string]any{"x-message-ttl": 1000}})
	must(t, res, err, http.StatusNoContent)
	if _, err = rh.DeclareQueue("/", "made", rabbithole.QueueSettings{Durable: false}); err == nil ||
		err.(rabbithole.ErrorResponse).StatusCode != 400 {
		t.Fatalf("inequivalent redeclare: %v", err)
	}
	code, body := e.call(t, "POST", "/api/queues/%2F/orders/get", "guest", "guest", nil)
	if code != 400 {
		t.Fatalf("get without body = %d %s", code, body)
	}
	msgs := e.getMessages(t, "orders", `{"count":2,"ackmode":"ack_requeue_false","encoding":"auto"}`)
	if len(msgs) != 2 || msgs[0]["payload"] != "hello" || msgs[1]["message_count"] != float64(2) {
		t.Fatalf("get = %+v", msgs)
	}
	if st := q.Stats(); st.Ready != 2 {
		t.Fatalf("after get ack: %+v", st)
	}
	msgs = e.getMessages(t, "orders", `{"count":5,"ackmode":"ack_requeue_true","encoding":"base64"}`)
	if len(msgs) != 2 || msgs[0]["payload_encoding"] != "base64" {
		t.Fatalf("get requeue = %+v", msgs)
	}
	if st := q.Stats(); st.Ready != 2 {
		t.Fatalf("after get requeue: %+v", st)
	}
	res, err = rh.PurgeQueue("/", "orders")
	must(t, res, err, http.StatusNoContent)
	if st := q.Stats(); st.Ready != 0 {
		t.Fatalf("after purge: %+v", st)
	}
	res, err = rh.DeleteQueue("/", "made")
	must(t, res, err, http.StatusNoContent)
	if _, err := rh.GetQueue("/", "made"); err == nil || err.(rabbithole.ErrorResponse).StatusCode != 404 {
		t.Fatalf("deleted queue: %v", err)
	}
}

// getMessages posts a get request and returns the messages.
func (e *env) getMessages(t *testing.T, queue, body string) []map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", e.mgmtBase+"/api/queues/%2F/"+queue+"/get", strings.NewReader(body))
	req.SetBasicAuth("guest", "guest")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("get = %d %v", resp.StatusCode, err)
	}
	return out
}

func TestExchangesAndBindings(t *testing.T) {
	e := start(t)
	rh := e.client(t, "guest", "guest")
	res, err := rh.DeclareExchange("/", "logs", rabbithole.ExchangeSettings{Type: "topic", Durable: true})
	must(t, res, err, http.StatusCreated)
	if _, err := rh.DeclareExchange("/", "bad", rabbithole.ExchangeSettings{Type: "nope"}); err == nil {
		t.Fatal("unknown type accepted")
	}
	res, err = rh.DeclareQueue("/", "errors", rabbithole.QueueSettings{Durable: true})
	must(t, res, err, http.StatusCreated)
	res, err = rh.DeclareBinding("/", rabbithole.BindingInfo{Source: "logs", Destination: "errors",
		DestinationType: "queue", RoutingKey: "*.error", Arguments: map[string]any{}})
	must(t, res, err, http.StatusCreated)
	xs, err := rh.ListExchangesIn("/")
	if err != nil || len(xs) != 7 || xs[0].Name != "" {
		t.Fatalf("exchanges = %+v, %v", xs, err)
	}
	x, err := rh.GetExchange("/", "logs")
	if err != nil || x.Type != "topic" || !x.Durable {
		t.Fatalf("exchange = %+v, %v", x, err)
	}
	bs, err := rh.ListQueueBindings("/", "errors")
	if err != nil || len(bs) != 2 || bs[1].Source != "logs" || bs[1].RoutingKey != "*.error" {
		t.Fatalf("bindings = %+v, %v", bs, err)
	}
	for _, key := range []string{"app.error", "app.info"} {
		code, body := e.callBody(t, "POST", "/api/exchanges/%2F/logs/publish",
			`{"properties":{"delivery_mode":2,"headers":{"n":1}},"routing_key":"`+key+`","payload":"boom","payload_encoding":"string"}`)
		want := `{"routed":` + map[bool]string{true: "true", false: "false"}[key == "app.error"] + `}`
		if code != 200 || string(body) != want {
			t.Fatalf("publish %s = %d %s", key, code, body)
		}
	}
	q, err := rh.GetQueue("/", "errors")
	if err != nil || q.Messages != 1 {
		t.Fatalf("errors queue = %+v, %v", q, err)
	}
	res, err = rh.DeleteBinding("/", bs[1])
	must(t, res, err, http.StatusNoContent)
	if bs, _ := rh.ListQueueBindings("/", "errors"); len(bs) != 1 {
		t.Fatalf("after unbind: %+v", bs)
	}
	res, err = rh.DeleteExchange("/", "logs")
	must(t, res, err, http.StatusNoContent)
	if _, err := rh.GetExchange("/", "logs"); err == nil {
		t.Fatal("exchange not deleted")
	}
}

// callBody makes an authenticated guest request with a JSON body.
func (e *env) callBody(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, e.mgmtBase+path, strings.NewReader(body))
	req.SetBasicAuth("guest", "guest")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf strings.Builder
	_, _ = io.Copy(&buf, resp.Body)
	return resp.StatusCode, []byte(buf.String())
}

func TestPolicies(t *testing.T) {
	e := start(t)
	rh := e.client(t, "guest", "guest")
	res, err := rh.DeclareQueue("/", "limited", rabbithole.QueueSettings{Durable: true})
	must(t, res, err, http.StatusCreated)
	res, err = rh.PutPolicy("/", "cap", rabbithole.Policy{Pattern: "^limited$", ApplyTo: "queues", Priority: 1,
		Definition: rabbithole.PolicyDefinition{"max-length": 2}})
	must(t, res, err, http.StatusCreated)
	ps, err := rh.ListPolicies()
	if err != nil || len(ps) != 1 || ps[0].Definition["max-length"] != float64(2) {
		t.Fatalf("policies = %+v, %v", ps, err)
	}
	q, err := rh.GetQueue("/", "limited")
	if err != nil || q.Policy != "cap" {
		t.Fatalf("queue policy = %+v, %v", q, err)
	}
	publish(t, e.core, "/", "limited", 5) // the policy applies to the existing queue
	if q, _ := rh.GetQueue("/", "limited"); q.MessagesReady != 2 {
		t.Fatalf("max-length policy not applied: %d ready", q.MessagesReady)
	}
	if _, err := rh.PutPolicy("/", "bad", rabbithole.Policy{Pattern: "(", Definition: rabbithole.PolicyDefinition{"max-length": 1}}); err == nil {
		t.Fatal("bad pattern accepted")
	}
	res, err = rh.DeletePolicy("/", "cap")
	must(t, res, err, http.StatusNoContent)
	if ps, _ := rh.ListPolicies(); len(ps) != 0 {
		t.Fatalf("after delete: %+v", ps)
	}
}

// TestAuthorisation: a wrong password is 401, a monitoring user reads but
// may not change anything, a management user may not manage users.
func TestAuthorisation(t *testing.T) {
	e := start(t)
	users := e.core.Users()
	if err := users.AddUser("mon", "pw", []string{"monitoring"}); err != nil {
		t.Fatal(err)
	}
	if err := users.AddUser("man", "pw", []string{"management"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client(t, "guest", "wrong").Overview(); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong password: %v", err)
	}
	mon := e.client(t, "mon", "pw")
	if _, err := mon.ListQueues(); err != nil {
		t.Fatalf("monitoring cannot read: %v", err)
	}
	if _, err := mon.ListNodes(); err != nil {
		t.Fatalf("monitoring cannot list nodes: %v", err)
	}
	for name, call := range map[string]func() (*http.Response, error){
		"PUT vhost": func() (*http.Response, error) { return mon.PutVhost("x", rabbithole.VhostSettings{}) },
		"PUT user":  func() (*http.Response, error) { return mon.PutUser("x", rabbithole.UserSettings{Password: "x"}) },
		"PUT queue": func() (*http.Response, error) {
			return mon.DeclareQueue("/", "x", rabbithole.QueueSettings{Durable: true})
		},
		"PUT policy": func() (*http.Response, error) {
			return mon.PutPolicy("/", "x", rabbithole.Policy{Pattern: ".*", Definition: rabbithole.PolicyDefinition{"max-length": 1}})
		},
	} {
		if _, err := call(); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("monitoring %s: %v", name, err)
		}
	}
	if _, err := e.client(t, "man", "pw").ListUsers(); err == nil {
		t.Fatal("management user listed users")
	}
	code, body := e.call(t, "PUT", "/api/vhosts/x", "mon", "pw", nil)
	if code != 401 || !strings.Contains(string(body), `"error":"not_authorised"`) {
		t.Fatalf("PUT vhost as monitoring = %d %s", code, body)
	}
	code, body = e.call(t, "GET", "/api/queues/%2F/missing", "guest", "guest", nil)
	if code != 404 || string(body) != `{"error":"Object Not Found","reason":"Not Found"}` {
		t.Fatalf("missing queue = %d %s", code, body)
	}
}
