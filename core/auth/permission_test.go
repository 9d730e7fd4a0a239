package auth

import (
	"net"
	"os"
	"sort"
	"testing"
)

func TestLoopbackRule(t *testing.T) {
	s, _, _ := openTest(t)
	tests := []struct {
		addr net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 5672}, true},
		{&net.TCPAddr{IP: net.ParseIP("127.255.0.9")}, true},
		{&net.TCPAddr{IP: net.ParseIP("::1")}, true},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.1")}, true},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 2).To16()}, true},
		{&net.UDPAddr{IP: net.ParseIP("127.0.0.1")}, true},
		{&net.UnixAddr{Name: "/tmp/s", Net: "unix"}, true},
		{&net.TCPAddr{IP: net.ParseIP("10.0.0.1")}, false},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:10.0.0.1")}, false},
		{&net.TCPAddr{IP: net.ParseIP("128.0.0.1")}, false},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1")}, false},
		{&net.TCPAddr{IP: net.ParseIP("0.0.0.0")}, false},
		{nil, false},
		{(*net.TCPAddr)(nil), false},
	}
	for _, tt := range tests {
		name := "nil"
		if tt.addr != nil && tt.addr != (*net.TCPAddr)(nil) {
			name = tt.addr.String()
		}
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tt.want, s.AllowedFrom("guest", tt.addr))
			assert.True(t, s.AllowedFrom("bob", tt.addr), "other users are not restricted")
			if !tt.want {
				require.ErrorIs(t, s.CheckLoopback("guest", tt.addr), ErrLoopbackOnly)
			}
		})
	}

	ds, o := newMemDefs(), testOptions(t)
	o.LoopbackUsers = []string{}
	s2, err := Open(ds, o)
	require.NoError(t, err)
	assert.True(t, s2.AllowedFrom("guest", &net.TCPAddr{IP: net.ParseIP("10.0.0.1")}), "loopback_users = none")
}

func TestPermissionRegexes(t *testing.T) {
	s, _, _ := openTest(t)
	require.NoError(t, s.AddUser("bob", "x", nil))
	require.NoError(t, s.SetPermissions("bob", "/", `^(bob\..*|amq\.gen.*)$`, "", "orders"))
	require.ErrorIs(t, s.SetPermissions("bob", "/", "(", "", ""), ErrBadPattern)
	require.ErrorIs(t, s.SetPermissions("bob", "/", `(?=x)`, "", ""), ErrBadPattern)
	require.ErrorIs(t, s.SetPermissions("nobody", "/", "", "", ""), ErrNoUser)

	tests := []struct {
		perm Perm
		kind ResourceKind
		name string
		ok   bool
	}{
		{PermConfigure, ResourceQueue, "bob.q", true},
		{PermConfigure, ResourceQueue, "alice.q", false},
		{PermConfigure, ResourceQueue, "amq.gen-JzTY20BRgKO-HjmUJj0wLg", true},
		{PermWrite, ResourceExchange, "anything", false}, // "" means ^$
		{PermWrite, ResourceExchange, "", false},         // default exchange checked as amq.default
		{PermRead, ResourceQueue, "my-orders-q", true},   // unanchored
		{PermRead, ResourceQueue, "ord", false},
	}
	for _, tt := range tests {
		t.Run(tt.perm.String()+"/"+tt.name, func(t *testing.T) {
			err := s.Check("bob", "/", tt.perm, tt.kind, tt.name)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrAccessRefused)
		})
	}
	err := s.CheckConfigure("bob", "/", ResourceQueue, "alice.q")
	assert.Equal(t, "configure access to queue 'alice.q' in vhost '/' refused for user 'bob'", err.Error())
	err = s.CheckWrite("bob", "/", ResourceExchange, "")
	assert.Equal(t, "write access to exchange 'amq.default' in vhost '/' refused for user 'bob'", err.Error())
	require.ErrorIs(t, s.CheckRead("bob", "other", ResourceQueue, "orders"), ErrAccessRefused)
	assert.Equal(t, "access to vhost 'other' refused for user 'bob'", s.CheckVhostAccess("bob", "other").Error())
}

func TestDefaultExchangeAndServerNamed(t *testing.T) {
	s, _, _ := openTest(t)
	require.NoError(t, s.AddUser("app", "x", nil))
	// RabbitMQ's documented idiom: allow server-named queues and the default exchange.
	require.NoError(t, s.SetPermissions("app", "/", `^(amq\.gen.*|amq\.default)$`, `^(amq\.gen.*|amq\.default)$`, `^(amq\.gen.*|amq\.default)$`))
	require.NoError(t, s.CheckWrite("app", "/", ResourceExchange, ""))
	require.NoError(t, s.CheckWrite("app", "/", ResourceExchange, "amq.default"))
	require.NoError(t, s.CheckConfigure("app", "/", ResourceQueue, "amq.gen-abc"))
	require.ErrorIs(t, s.CheckConfigure("app", "/", ResourceQueue, ""), ErrAccessRefused, "only exchanges map '' to amq.default")
	require.ErrorIs(t, s.CheckConfigure("app", "/", ResourceQueue, "named"), ErrAccessRefused)

	require.NoError(t, s.SetPermissions("app", "/", "^named$", "", ""))
	require.ErrorIs(t, s.CheckConfigure("app", "/", ResourceQueue, "amq.gen-abc"), ErrAccessRefused,
		"server-named queues are checked like other names")
}

func TestTopicPermissions(t *testing.T) {
	s, _, _ := openTest(t)
	require.NoError(t, s.AddUser("dev1", "x", nil))
	require.NoError(t, s.SetPermissions("dev1", "/", ".*", ".*", ".*"))
	require.NoError(t, s.SetTopicPermissions("dev1", "/", "amq.topic",
		`^devices\.{username}\.`, `^(devices\.{client_id}\..*|{vhost}status)$`))
	tests := []struct {
		name     string
		exchange string
		key      string
		write    bool
		vars     map[string]string
		ok       bool
	}{
		{"write own", "amq.topic", "devices.dev1.temp", true, nil, true},
		{"write other", "amq.topic", "devices.dev2.temp", true, nil, false},
		{"vars override username", "amq.topic", "devices.dev2.temp", true, map[string]string{"username": "dev2"}, true},
		{"read client id", "amq.topic", "devices.c42.x", false, map[string]string{"client_id": "c42"}, true},
		{"read wrong client id", "amq.topic", "devices.c43.x", false, map[string]string{"client_id": "c42"}, false},
		{"read vhost", "amq.topic", "/status", false, nil, true},
		{"no client id var", "amq.topic", "devices.c42.x", false, nil, false},
		{"other exchange unrestricted", "logs", "anything", true, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.CheckTopic("dev1", "/", tt.exchange, tt.key, tt.write, tt.vars)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrAccessRefused)
		})
	}
	err := s.CheckTopic("dev1", "/", "amq.topic", "devices.x", true, nil)
	assert.Equal(t, "write access to topic 'devices.x' in exchange 'amq.topic' in vhost '/' refused for user 'dev1'", err.Error())

	require.NoError(t, s.SetTopicPermissions("dev1", "/", "x2", "", ".*"))
	require.ErrorIs(t, s.CheckTopic("dev1", "/", "x2", "k", true, nil), ErrAccessRefused, "empty topic pattern matches nothing")
	assert.Len(t, s.ListTopicPermissions("dev1", ""), 2)
	require.NoError(t, s.ClearTopicPermissions("dev1", "/", ""))
	require.NoError(t, s.CheckTopic("dev1", "/", "amq.topic", "anything", true, nil))
}

func TestAccessKeyEncryption(t *testing.T) {
	s, ds, o := openTest(t)
	require.NoError(t, s.AddAccessKey("guest", "AKIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
	require.ErrorIs(t, s.AddAccessKey("guest", "AKIAEXAMPLE", "x"), ErrAccessKeyExists)
	require.ErrorIs(t, s.AddAccessKey("nobody", "AKIA2", "x"), ErrNoUser)
	id, secret, err := s.NewAccessKey("guest")
	require.NoError(t, err)
	assert.Len(t, id, 20)
	assert.Len(t, secret, 40)

	rec := string(ds.m[kindAWSKey]["AKIAEXAMPLE"])
	assert.NotContains(t, rec, "wJalrXUtnFEMI")
	assert.NotContains(t, string(ds.m[kindAWSKey]["test"]), `"test"}`)

	fi, err := os.Stat(o.KeyFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	s2, err := Open(ds, o)
	require.NoError(t, err)
	_, sec, ok := s2.LookupAccessKey("AKIAEXAMPLE")
	assert.True(t, ok)
	assert.Equal(t, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", sec)
	want := []string{id, "AKIAEXAMPLE", "test"}
	sort.Strings(want)
	assert.Equal(t, want, s2.AccessKeys("guest"))

	// Another key file cannot read the secrets.
	_, err = Open(ds, testOptions(t))
	require.ErrorIs(t, err, ErrKeyFile)
	assert.Contains(t, err.Error(), "cannot decrypt")

	bad := testOptions(t)
	require.NoError(t, os.WriteFile(bad.KeyFile, []byte("not hex\n"), 0o600))
	_, err = Open(newMemDefs(), bad)
	require.ErrorIs(t, err, ErrKeyFile)
	_, err = Open(newMemDefs(), Options{})
	require.ErrorIs(t, err, ErrKeyFile)

	require.NoError(t, s2.DeleteAccessKey("AKIAEXAMPLE"))
	require.ErrorIs(t, s2.DeleteAccessKey("AKIAEXAMPLE"), ErrNoAccessKey)
}

func TestAccountMapping(t *testing.T) {
	s, _, _ := openTest(t)
	require.NoError(t, s.PutVhost(Vhost{Name: "eu"}))
	require.NoError(t, s.MapAccount("123456789012", "eu-west-1", "eu"))
	require.NoError(t, s.MapAccount("123456789012", "", "/"))
	require.ErrorIs(t, s.MapAccount("12345", "", "/"), ErrBadName)
	require.ErrorIs(t, s.MapAccount("123456789012", "", "nope"), ErrNoVhost)
	tests := []struct {
		account, region, vhost string
		ok                     bool
	}{
		{"123456789012", "eu-west-1", "eu", true},
		{"123456789012", "us-east-1", "/", true},
		{DefaultAccount, "ap-south-1", "/", true},
		{"999999999999", "us-east-1", "", false},
	}
	for _, tt := range tests {
		v, ok := s.VhostForAccount(tt.account, tt.region)
		assert.Equal(t, tt.ok, ok, tt.account, tt.region)
		assert.Equal(t, tt.vhost, v, tt.account, tt.region)
	}
	assert.Equal(t, "123456789012", s.AccountForVhost("eu"))
	assert.Equal(t, DefaultAccount, s.AccountForVhost("/"))
	require.NoError(t, s.UnmapAccount("123456789012", "eu-west-1"))
	assert.Equal(t, "", s.AccountForVhost("eu"))
	assert.Len(t, s.Accounts(), 2)
}

// TestGenerationAndTopicFree: every change bumps Generation (callers cache
// checks under it), a refused change does not; TopicFree tells whether
// CheckTopic allows every key.
func TestGenerationAndTopicFree(t *testing.T) {
	s, _, _ := openTest(t)
	g := s.Generation()
	require.NoError(t, s.SetPermissions("guest", "/", ".*", "^x$", ".*"))
	require.NotEqual(t, g, s.Generation(), "permissions changed")
	g = s.Generation()
	require.ErrorIs(t, s.SetPermissions("nobody", "/", "", "", ""), ErrNoUser)
	require.Equal(t, g, s.Generation(), "nothing changed")
	require.True(t, s.TopicFree("guest", "/", "amq.topic"))
	require.NoError(t, s.SetTopicPermissions("guest", "/", "amq.topic", `^ok\.`, ".*"))
	require.NotEqual(t, g, s.Generation(), "topic permissions changed")
	require.False(t, s.TopicFree("guest", "/", "amq.topic"))
	require.True(t, s.TopicFree("guest", "/", "amq.direct"))
}
