package mgmt_test

import (
	"net/url"
	"strings"
	"testing"
)

// fuzzPaths are the API paths FuzzManagementAPI aims at; NAME is replaced
// by the fuzzed name, escaped or raw.
var fuzzPaths = []string{
	"/api/queues/%2F/NAME", "/api/queues/%2F/NAME/get", "/api/queues/%2F/NAME/contents",
	"/api/queues/%2F/NAME/bindings", "/api/exchanges/%2F/NAME", "/api/exchanges/%2F/NAME/publish",
	"/api/bindings/%2F/e/amq.topic/q/NAME", "/api/bindings/%2F/e/amq.direct/e/NAME",
	"/api/users/NAME", "/api/permissions/NAME/guest", "/api/topic-permissions/%2F/NAME",
	"/api/vhosts/NAME", "/api/policies/%2F/NAME", "/api/operator-policies/%2F/NAME",
	"/api/definitions", "/api/definitions/NAME", "/api/connections/NAME", "/api/aliveness-test/NAME",
	"/api/queues?page=NAME&page_size=NAME&name=NAME&use_regex=true", "/api/health/checks/NAME",
	"/api/parameters/shovel/%2F/NAME", "/api/junction/mqtt/clients/NAME",
}

var fuzzMethods = []string{"GET", "PUT", "POST", "DELETE"}

// FuzzManagementAPI sends arbitrary names and JSON bodies to a live
// management API as an administrator: every request gets an answer (a
// handler panic ends the connection without one) and never a 500.
func FuzzManagementAPI(f *testing.F) {
	for _, s := range []struct {
		path, method byte
		name, body   string
	}{
		{0, 1, "q1", `{"durable":true,"arguments":{"x-max-length":-5,"x-queue-type":"quorum"}}`},
		{0, 1, "q2", `{"arguments":{"x-message-ttl":1e400}}`},
		{1, 2, "q1", `{"count":5,"ackmode":"ack_requeue_false","encoding":"base64","truncate":-1}`},
		{4, 1, "e1", `{"type":"x-consistent-hash","arguments":{"alternate-exchange":7}}`},
		{5, 2, "e1", `{"routing_key":"k","payload":"aGk=","payload_encoding":"base64","properties":{"headers":{"a":[[[]]]},"delivery_mode":9}}`},
		{6, 2, "q1", `{"routing_key":"#","arguments":{"x-match":"bogus"}}`},
		{8, 1, "u<&'\"", `{"password":"p","tags":["administrator",3]}`},
		{9, 1, "u1", `{"configure":"(","write":".*","read":".*"}`},
		{12, 1, "p1", `{"pattern":"^q","definition":{"max-length":"ten"},"priority":-1,"apply-to":"nothing"}`},
		{14, 2, "", `{"queues":[{"name":"","vhost":"nope"}]}`},
		{11, 1, "%2F%2F", `{"description":"` + strings.Repeat("x", 300) + `"}`},
		{18, 0, "-1", ``},
	} {
		f.Add(s.path, s.method, s.name, []byte(s.body))
	}
	e := start(f)
	f.Fuzz(func(t *testing.T, path, method byte, name string, body []byte) {
		n := url.PathEscape(name)
		if method&0x80 != 0 {
			if _, err := url.Parse(e.mgmtBase + "/api/vhosts/" + name); err == nil {
				n = name // raw, as a careless client sends it
			}
		}
		p := strings.ReplaceAll(fuzzPaths[int(path)%len(fuzzPaths)], "NAME", n)
		code, got := e.callBody(t, fuzzMethods[int(method&0x7f)%len(fuzzMethods)], p, string(body))
		if code >= 500 && code != 503 {
			t.Fatalf("%s: %d %s", p, code, got)
		}
	})
}
