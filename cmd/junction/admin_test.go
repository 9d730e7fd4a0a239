package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/config"
)

// startAdminBroker runs the binary's wiring with AMQP and the management
// API on 127.0.0.1:0 and points the admin commands at it
// (JUNCTION_ADMIN_URL). It returns the AMQP URL.
func startAdminBroker(t *testing.T) string {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	listeners := serveWired(t, cfg, config.AMQP, config.Mgmt)
	t.Setenv("JUNCTION_ADMIN_URL", "http://"+listeners[config.Mgmt].Addr().String())
	return "amqp://guest:guest@" + listeners[config.AMQP].Addr().String() + "/"
}

// admin runs an admin command and requires it to succeed.
func admin(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runApp(t, context.Background(), args...)
	require.NoError(t, err, "junction %s", strings.Join(args, " "))
	return out
}

// adminJSON runs an admin command with --json and decodes its output.
func adminJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := admin(t, append(args, "--json")...)
	require.NoError(t, json.Unmarshal([]byte(out), v), "%s", out)
}

// rows splits a table into its lines' fields, header first.
func rows(out string) [][]string {
	var rs [][]string
	for l := range strings.SplitSeq(strings.TrimRight(out, "\n"), "\n") {
		rs = append(rs, strings.Fields(l))
	}
	return rs
}

func TestAdminQueuesPublishGet(t *testing.T) {
	amqpURL := startAdminBroker(t)
	assert.Equal(t, "declared queue orders\n", admin(t, "declare", "queue", "orders"))
	// Flags after the name are applied too.
	admin(t, "declare", "queue", "scratch", "--durable=false", "--arguments", `{"x-max-length":5}`)

	out := admin(t, "list", "queues")
	assert.Equal(t, [][]string{
		{"VHOST", "NAME", "TYPE", "DURABLE", "MESSAGES", "READY", "UNACKED", "CONSUMERS"},
		{"/", "orders", "classic", "true", "0", "0", "0", "0"},
		{"/", "scratch", "classic", "false", "0", "0", "0", "0"},
	}, rows(out))

	assert.Equal(t, "message published\n",
		admin(t, "publish", "--routing-key", "orders", "--payload", "hello from the CLI"))
	assert.Equal(t, "message published but NOT routed\n", admin(t, "publish", "-k", "nowhere", "-p", "x"))

	// amqp091-go gets what the CLI published.
	conn, err := rmq.Dial(amqpURL)
	require.NoError(t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	d, ok, err := ch.Get("orders", true)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "hello from the CLI", string(d.Body))

	// And the CLI gets what amqp091-go published: table, then JSON.
	for _, body := range []string{"one", "two"} {
		require.NoError(t, ch.Publish("", "orders", false, false, rmq.Publishing{Body: []byte(body)}))
	}
	require.Eventually(t, func() bool {
		var qs []map[string]any
		adminJSON(t, &qs, "list", "queues", "--vhost", "/")
		return len(qs) == 2 && qs[0]["messages"] == float64(2)
	}, 10*time.Second, 20*time.Millisecond)
	out = admin(t, "get", "orders")
	assert.Equal(t, [][]string{ // the default exchange's empty name leaves a blank column
		{"ROUTING_KEY", "EXCHANGE", "MESSAGE_COUNT", "REDELIVERED", "PAYLOAD", "ENCODING"},
		{"orders", "1", "false", "one", "string"},
	}, rows(out))
	var got []map[string]any
	adminJSON(t, &got, "get", "orders", "--count", "5", "--requeue")
	require.Len(t, got, 1)
	assert.Equal(t, "two", got[0]["payload"])
	assert.Equal(t, "orders", got[0]["routing_key"])

	admin(t, "publish", "-k", "scratch", "-p", "tmp")
	assert.Equal(t, "purged queue scratch\n", admin(t, "purge", "queue", "scratch"))
	var q map[string]any
	require.Eventually(t, func() bool {
		var qs []map[string]any
		adminJSON(t, &qs, "list", "queues")
		q = qs[1]
		return q["name"] == "scratch" && q["messages"] == float64(0)
	}, 10*time.Second, 20*time.Millisecond, "%v", q)

	ov := map[string]string{}
	for _, r := range rows(admin(t, "overview")) {
		ov[strings.Join(r[:len(r)-1], " ")] = r[len(r)-1]
	}
	assert.Equal(t, "2", ov["queues"])
	assert.Equal(t, "1", ov["messages"]) // "two", requeued
	assert.Contains(t, ov, "publish/s")
	assert.Contains(t, ov, "deliver_get/s")

	assert.Equal(t, "deleted queue scratch\n", admin(t, "delete", "queue", "scratch"))
	_, err = runApp(t, context.Background(), "delete", "queue", "--if-empty", "orders")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "400 Bad Request")
}

func TestAdminExchangesBindingsUsers(t *testing.T) {
	startAdminBroker(t)
	admin(t, "declare", "exchange", "--type", "topic", "events")
	admin(t, "declare", "queue", "audit")
	assert.Equal(t, "declared binding events -> audit (\"order.*\")\n",
		admin(t, "declare", "binding", "--source", "events", "--destination", "audit", "-k", "order.*"))
	assert.Equal(t, [][]string{{"VHOST", "NAME", "PATTERN", "APPLY_TO", "PRIORITY", "DEFINITION"}},
		rows(admin(t, "list", "policies")))
	assert.Equal(t, "declared policy cap\n", admin(t, "declare", "policy", "cap", "--pattern", "^audit$",
		"--definition", `{"max-length":2}`, "--priority", "3", "--apply-to", "queues"))
	assert.Equal(t, [][]string{{"VHOST", "NAME", "PATTERN", "APPLY_TO", "PRIORITY", "DEFINITION"},
		{"/", "cap", "^audit$", "queues", "3", `{"max-length":2}`}}, rows(admin(t, "list", "policies")))
	_, err := runApp(t, context.Background(), "declare", "policy", "bad", "--pattern", "(", "--definition", "{}")
	require.ErrorContains(t, err, "400 Bad Request")
	out := admin(t, "list", "exchanges")
	assert.Contains(t, rows(out), []string{"/", "events", "topic", "true", "false", "false"})
	out = admin(t, "list", "bindings")
	assert.Contains(t, rows(out), []string{"/", "events", "audit", "queue", "order.*"})
	for range 3 {
		assert.Equal(t, "message published\n", admin(t, "publish", "--exchange", "events", "-k", "order.new", "-p", "x"))
	}
	var audit []map[string]any
	adminJSON(t, &audit, "list", "queues")
	require.Len(t, audit, 1)
	assert.Equal(t, float64(2), audit[0]["messages"], "the policy's max-length applies")
	admin(t, "delete", "policy", "cap")
	assert.Equal(t, "deleted 1 binding(s)\n",
		admin(t, "delete", "binding", "--source", "events", "--destination", "audit", "-k", "order.*"))
	_, err = runApp(t, context.Background(), "delete", "binding", "--source", "events", "--destination", "audit")
	require.ErrorContains(t, err, "404 Not Found")
	admin(t, "delete", "exchange", "events")

	admin(t, "declare", "vhost", "dev", "--description", "development")
	admin(t, "declare", "user", "alice", "--user-password", "s3cret", "--tags", "management,policymaker")
	admin(t, "declare", "permission", "alice", "--vhost", "dev", "--configure", "^alice")
	assert.Contains(t, rows(admin(t, "list", "vhosts")), []string{"dev", "development", "0"})
	assert.Contains(t, rows(admin(t, "list", "users")), []string{"alice", "management,policymaker"})
	assert.Equal(t, [][]string{{"USER", "VHOST", "CONFIGURE", "WRITE", "READ"}, {"alice", "dev", "^alice", ".*", ".*"}},
		rows(admin(t, "list", "permissions", "--vhost", "dev")))
	// alice may log in to the API; she is not an administrator.
	_, err = runApp(t, context.Background(), "list", "users", "--user", "alice", "--password", "s3cret")
	require.ErrorContains(t, err, "401 Unauthorized")
	_, err = runApp(t, context.Background(), "list", "users", "--password", "wrong")
	require.ErrorContains(t, err, "401 Unauthorized")
	admin(t, "delete", "permission", "alice", "--vhost", "dev")
	admin(t, "delete", "user", "alice")
	admin(t, "delete", "vhost", "dev")
	assert.Len(t, rows(admin(t, "list", "users")), 2)
}

func TestAdminConnections(t *testing.T) {
	amqpURL := startAdminBroker(t)
	conn, err := rmq.DialConfig(amqpURL, rmq.Config{Properties: rmq.Table{"connection_name": "worker"}})
	require.NoError(t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	_, err = ch.QueueDeclare("jobs", false, false, false, false, nil)
	require.NoError(t, err)
	_, err = ch.Consume("jobs", "c1", false, false, false, false, nil)
	require.NoError(t, err)
	closed := conn.NotifyClose(make(chan *rmq.Error, 1))

	var conns []map[string]any
	adminJSON(t, &conns, "list", "connections")
	require.Len(t, conns, 1)
	name := conns[0]["name"].(string)
	r := rows(admin(t, "list", "connections"))
	require.Len(t, r, 2)
	assert.Equal(t, []string{"NAME", "USER", "VHOST", "CHANNELS", "STATE"}, r[0])
	assert.Equal(t, []string{"guest", "/", "1", "running"}, r[1][len(r[1])-4:])
	out := admin(t, "list", "channels")
	assert.Contains(t, out, name+" (1)")
	out = admin(t, "list", "consumers")
	assert.Contains(t, out, "jobs")
	assert.Contains(t, out, "c1")

	assert.Equal(t, "closed connection "+name+"\n", admin(t, "close", "connection", name, "--reason", "maintenance"))
	select {
	case e := <-closed:
		require.NotNil(t, e)
		assert.Equal(t, rmq.ConnectionForced, e.Code)
		assert.Contains(t, e.Reason, "maintenance")
	case <-time.After(10 * time.Second):
		t.Fatal("the connection was not closed")
	}
	require.Eventually(t, func() bool { return len(rows(admin(t, "list", "connections"))) == 1 },
		10*time.Second, 20*time.Millisecond)
	_, err = runApp(t, context.Background(), "close", "connection", name)
	require.ErrorContains(t, err, "404 Not Found")
}

func TestAdminDefinitionsRoundTrip(t *testing.T) {
	startAdminBroker(t)
	admin(t, "declare", "exchange", "--type", "fanout", "fan")
	admin(t, "declare", "queue", "--type", "quorum", "durable-q")
	admin(t, "declare", "binding", "--source", "fan", "--destination", "durable-q")
	admin(t, "declare", "user", "bob", "--user-password", "pw", "--tags", "monitoring")
	file := filepath.Join(t.TempDir(), "defs.json")
	assert.Empty(t, admin(t, "export", file))
	before, err := os.ReadFile(file)
	require.NoError(t, err)

	admin(t, "delete", "queue", "durable-q")
	admin(t, "delete", "exchange", "fan")
	admin(t, "delete", "user", "bob")
	assert.Equal(t, "imported\n", admin(t, "import", file))

	var a, b map[string]any
	require.NoError(t, json.Unmarshal(before, &a))
	adminJSON(t, &b, "export")
	for _, k := range []string{"queues", "exchanges", "bindings", "users", "vhosts", "permissions"} {
		assert.Equal(t, a[k], b[k], k)
	}
	assert.Contains(t, rows(admin(t, "list", "queues")), []string{"/", "durable-q", "quorum", "true", "0", "0", "0", "0"})

	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte("{nope"), 0o600))
	_, err = runApp(t, context.Background(), "import", bad)
	require.ErrorContains(t, err, "400 Bad Request")
}

func TestAdminErrors(t *testing.T) {
	startAdminBroker(t)
	admin(t, "declare", "queue", "q")
	_, err := runApp(t, context.Background(), "declare", "queue", "q", "--durable=false")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "400 Bad Request: ")
	assert.Contains(t, err.Error(), "durable")
	assert.NotContains(t, oneLine(err), "\n")

	_, err = runApp(t, context.Background(), "get", "nope")
	require.EqualError(t, err, "404 Not Found: Object Not Found")
	_, err = runApp(t, context.Background(), "declare", "queue")
	require.EqualError(t, err, "declare queue: want NAME")
	_, err = runApp(t, context.Background(), "declare", "queue", "x", "--nope")
	require.ErrorContains(t, err, "flag provided but not defined")
	_, err = runApp(t, context.Background(), "declare", "queue", "x", "--arguments", "[1]")
	require.ErrorContains(t, err, "--arguments: want a JSON object")
	_, err = runApp(t, context.Background(), "declare", "binding", "--source", "x")
	require.EqualError(t, err, "declare binding: --destination is required")
	_, err = runApp(t, context.Background(), "list", "queues", "--url", "http://127.0.0.1:1")
	require.ErrorContains(t, err, "connection refused")
}

// TestAdminTLS calls a management API served over TLS with a self-signed
// certificate: refused without --cacert, accepted with it or --insecure.
func TestAdminTLS(t *testing.T) {
	certFile, keyFile := selfSigned(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	listeners := map[string]net.Listener{config.Mgmt: tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})}
	stop, err := startBroker(context.Background(), cfg, listeners)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, stop(ctx))
	})
	t.Setenv("JUNCTION_ADMIN_URL", "https://localhost:"+strconv.Itoa(port))

	_, err = runApp(t, context.Background(), "list", "vhosts")
	require.ErrorContains(t, err, "certificate")
	assert.Contains(t, rows(admin(t, "list", "vhosts", "--cacert", certFile)), []string{"/", "Default", "virtual", "host", "0"})
	admin(t, "list", "vhosts", "--insecure")
	_, err = runApp(t, context.Background(), "list", "vhosts", "--cacert", keyFile)
	require.ErrorContains(t, err, "no PEM certificate")
}
