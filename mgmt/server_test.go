package mgmt_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/mgmt"
	"github.com/junctionmq/junction/persist"
)

// env is a core with an AMQP face and the management API, both on
// 127.0.0.1:0.
type env struct {
	core     *core.Broker
	amqpURL  string // without credentials: amqp://127.0.0.1:port/
	mgmtBase string // http://127.0.0.1:port
}

func start(t testing.TB) *env {
	t.Helper()
	st, err := persist.Open("", persist.Options{InMemory: true, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := core.Open(core.Config{Store: st, Auth: auth.Options{KeyFile: t.TempDir() + "/auth.key"}})
	if err != nil {
		t.Fatal(err)
	}
	aln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	as := amqp.NewServer(amqp.NewCoreBroker(b), amqp.Config{})
	ms := mgmt.New(b, as, nil)
	go as.Serve(aln)
	go ms.Serve(mln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ms.Shutdown(ctx)
		_ = as.Close(ctx)
		_ = b.Close()
		_ = st.Close()
	})
	return &env{core: b, amqpURL: "amqp://" + aln.Addr().String() + "/", mgmtBase: "http://" + mln.Addr().String()}
}

// dial opens an AMQP connection as user with a connection_name.
func (e *env) dial(t *testing.T, user, pass, name string) *rmq.Connection {
	t.Helper()
	u := strings.Replace(e.amqpURL, "amqp://", "amqp://"+user+":"+pass+"@", 1)
	c, err := rmq.DialConfig(u, rmq.Config{Properties: rmq.Table{"connection_name": name}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// call makes a management request and returns the status and body.
func (e *env) call(t *testing.T, method, path, user, pass string, hdr map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.mgmtBase+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

type connJSON struct {
	Name             string         `json:"name"`
	User             string         `json:"user"`
	Vhost            string         `json:"vhost"`
	PeerHost         string         `json:"peer_host"`
	PeerPort         int            `json:"peer_port"`
	Host             string         `json:"host"`
	Port             int            `json:"port"`
	Channels         int            `json:"channels"`
	ConnectedAt      int64          `json:"connected_at"`
	State            string         `json:"state"`
	Protocol         string         `json:"protocol"`
	AuthMechanism    string         `json:"auth_mechanism"`
	FrameMax         int            `json:"frame_max"`
	ClientProperties map[string]any `json:"client_properties"`
	UserProvidedName string         `json:"user_provided_name"`
}

func (e *env) list(t *testing.T, user, pass string) []connJSON {
	t.Helper()
	code, body := e.call(t, "GET", "/api/connections/", user, pass, nil)
	if code != http.StatusOK {
		t.Fatalf("GET /api/connections/ = %d %s", code, body)
	}
	var out []connJSON
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return out
}

func TestListConnections(t *testing.T) {
	e := start(t)
	if got := e.list(t, "guest", "guest"); len(got) != 0 {
		t.Fatalf("no connections yet, got %+v", got)
	}
	c := e.dial(t, "guest", "guest", "lister")
	if _, err := c.Channel(); err != nil {
		t.Fatal(err)
	}
	got := e.list(t, "guest", "guest")
	if len(got) != 1 {
		t.Fatalf("got %d connections, want 1", len(got))
	}
	g := got[0]
	local, remote := c.LocalAddr().(*net.TCPAddr), c.RemoteAddr().(*net.TCPAddr)
	wantName := local.String() + " -> " + remote.String()
	if g.Name != wantName || g.User != "guest" || g.Vhost != "/" || g.Protocol != "AMQP 0-9-1" ||
		g.PeerHost != "127.0.0.1" || g.PeerPort != local.Port || g.Port != remote.Port ||
		g.Channels != 1 || g.State != "running" || g.AuthMechanism != "PLAIN" || g.FrameMax != 131072 ||
		g.UserProvidedName != "lister" || g.ConnectedAt == 0 {
		t.Fatalf("got %+v, want name %q", g, wantName)
	}
	if g.ClientProperties["connection_name"] != "lister" {
		t.Fatalf("client_properties = %v", g.ClientProperties)
	}
	if caps, ok := g.ClientProperties["capabilities"].(map[string]any); !ok || caps["consumer_cancel_notify"] != true {
		t.Fatalf("capabilities = %v", g.ClientProperties["capabilities"])
	}
	// Without the trailing slash too, and one connection by name.
	if code, _ := e.call(t, "GET", "/api/connections", "guest", "guest", nil); code != http.StatusOK {
		t.Fatalf("GET /api/connections = %d", code)
	}
	code, body := e.call(t, "GET", "/api/connections/"+url.PathEscape(g.Name), "guest", "guest", nil)
	if code != http.StatusOK || !strings.Contains(string(body), `"user_provided_name":"lister"`) {
		t.Fatalf("GET one = %d %s", code, body)
	}
}

// TestDeleteConnection: the client sees connection.close 320 with
// RabbitMQ's default reason, or the X-Reason header's.
func TestDeleteConnection(t *testing.T) {
	tests := []struct {
		name   string
		hdr    map[string]string
		reason string
	}{
		{"default reason", nil, "CONNECTION_FORCED - Closed via management plugin"},
		{"X-Reason", map[string]string{"X-Reason": "maintenance"}, "CONNECTION_FORCED - maintenance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t)
			c := e.dial(t, "guest", "guest", "victim")
			closed := c.NotifyClose(make(chan *rmq.Error, 1))
			name := e.list(t, "guest", "guest")[0].Name
			code, body := e.call(t, "DELETE", "/api/connections/"+url.PathEscape(name), "guest", "guest", tt.hdr)
			if code != http.StatusNoContent {
				t.Fatalf("DELETE = %d %s", code, body)
			}
			select {
			case err := <-closed:
				if err == nil || err.Code != 320 || err.Reason != tt.reason || !err.Server {
					t.Fatalf("close = %+v, want 320 %q", err, tt.reason)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("connection not closed")
			}
			deadline := time.Now().Add(5 * time.Second)
			for len(e.list(t, "guest", "guest")) != 0 {
				if time.Now().After(deadline) {
					t.Fatal("connection still listed")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if code, _ := e.call(t, "DELETE", "/api/connections/"+url.PathEscape(name), "guest", "guest", nil); code != http.StatusNotFound {
				t.Fatalf("second DELETE = %d, want 404", code)
			}
		})
	}
}

// TestAuth: RabbitMQ's 401s, and what each tag lets a user see and close.
func TestAuth(t *testing.T) {
	e := start(t)
	users := e.core.Users()
	for _, u := range []struct{ name, tag string }{{"mon", "monitoring"}, {"man", "management"}, {"plain", ""}} {
		var tags []string
		if u.tag != "" {
			tags = []string{u.tag}
		}
		if err := users.AddUser(u.name, "pw", tags); err != nil {
			t.Fatal(err)
		}
		if err := users.SetPermissions(u.name, "/", ".*", ".*", ".*"); err != nil {
			t.Fatal(err)
		}
	}
	e.dial(t, "guest", "guest", "g")
	e.dial(t, "man", "pw", "m")
	guestConn := ""
	for _, c := range e.list(t, "guest", "guest") {
		if c.User == "guest" {
			guestConn = c.Name
		}
	}
	auths := []struct {
		name, user, pass string
		code             int
		reason           string
	}{
		{"no credentials", "", "", 401, "Not_Authorized"},
		{"bad password", "guest", "nope", 401, "Login failed"},
		{"unknown user", "who", "pw", 401, "Login failed"},
		{"no management tag", "plain", "pw", 401, "Not management user"},
	}
	for _, tt := range auths {
		t.Run(tt.name, func(t *testing.T) {
			code, body := e.call(t, "GET", "/api/connections", tt.user, tt.pass, nil)
			var ae struct{ Error, Reason string }
			_ = json.Unmarshal(body, &ae)
			if code != tt.code || ae.Error != "not_authorised" || ae.Reason != tt.reason {
				t.Fatalf("got %d %s, want %d %q", code, body, tt.code, tt.reason)
			}
		})
	}
	if n := len(e.list(t, "mon", "pw")); n != 2 {
		t.Fatalf("monitoring user sees %d connections, want 2", n)
	}
	if got := e.list(t, "man", "pw"); len(got) != 1 || got[0].User != "man" {
		t.Fatalf("management user sees %+v, want only its own", got)
	}
	path := "/api/connections/" + url.PathEscape(guestConn)
	if code, _ := e.call(t, "DELETE", path, "mon", "pw", nil); code != http.StatusUnauthorized {
		t.Fatalf("monitoring user closing another's connection = %d, want 401", code)
	}
	if code, _ := e.call(t, "GET", path, "mon", "pw", nil); code != http.StatusOK {
		t.Fatalf("monitoring user reading another's connection = %d, want 200", code)
	}
}
