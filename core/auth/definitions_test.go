package auth

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestImportRabbitMQExport(t *testing.T) {
	data, err := os.ReadFile("testdata/rabbitmq-definitions.json")
	require.NoError(t, err)
	d, err := ParseDefinitions(data)
	require.NoError(t, err)
	assert.Equal(t, []string{"explicit_unknown"}, d.UnknownKeys)
	assert.Equal(t, "3.13.7", d.RabbitVersion)
	assert.Equal(t, int64(5000), d.Queues[0].Arguments["x-max-length"])
	assert.Equal(t, "unrouted", d.Exchanges[0].Arguments["alternate-exchange"])
	assert.Equal(t, "queue", d.Bindings[0].DestinationType)
	assert.Len(t, d.GlobalParameters, 2)

	s, _, _ := openTest(t)
	skipped, err := s.ImportDefinitions(d)
	require.NoError(t, err)
	for _, want := range []string{`"explicit_unknown"`, "federation-upstream", `"ha-mode"`, `"ha-sync-mode"`,
		`policy "fed"`, `user "ghost"`} {
		found := false
		for _, s := range skipped {
			found = found || strings.Contains(s, want)
		}
		assert.True(t, found, "skipped should mention "+want, skipped)
	}

	_, err = s.CheckPassword("admin", "test12")
	require.NoError(t, err)
	ops, err := s.CheckPassword("ops", "test12")
	require.NoError(t, err)
	assert.Equal(t, []string{"monitoring", "policymaker"}, ops.Tags)
	assert.Equal(t, map[string]int64{"max-connections": 10}, ops.Limits)
	legacy, err := s.CheckPassword("legacy", "simon")
	require.NoError(t, err, "no hashing_algorithm means MD5")
	assert.Equal(t, HashMD5, legacy.HashingAlgorithm())
	_, err = s.CheckPassword("cert-client", "")
	require.ErrorIs(t, err, ErrBadPassword)

	v, _ := s.Vhost("orders")
	assert.Equal(t, &Vhost{Name: "orders", Description: "Order processing", Tags: []string{"prod", "eu"},
		DefaultQueueType: "quorum", Limits: map[string]int64{"max-connections": 100, "max-queues": 500}}, v)
	old, _ := s.Vhost("old")
	assert.Equal(t, "", old.DefaultQueueType)

	require.NoError(t, s.CheckRead("ops", "orders", ResourceQueue, "stats.daily"))
	require.ErrorIs(t, s.CheckWrite("ops", "orders", ResourceExchange, "orders"), ErrAccessRefused)
	require.ErrorIs(t, s.CheckTopic("admin", "orders", "amq.topic", "x", true, nil), ErrAccessRefused)

	p := s.EffectivePolicy("orders", "orders.created", KindQuorumQueue)
	require.True(t, p != nil)
	assert.Equal(t, "ttl-and-ha", p.Name)
	assert.Equal(t, map[string]any{"message-ttl": int64(60000), "dead-letter-exchange": "dlx"}, p.Definition)
	assert.Len(t, s.Policies("orders"), 2)
	// guest and its defaults are kept: import never deletes.
	_, ok := s.User("guest")
	assert.True(t, ok)
}

func TestExportRoundTrip(t *testing.T) {
	data, err := os.ReadFile("testdata/rabbitmq-definitions.json")
	require.NoError(t, err)
	d, err := ParseDefinitions(data)
	require.NoError(t, err)
	s, _, _ := openTest(t)
	_, err = s.ImportDefinitions(d)
	require.NoError(t, err)

	out, err := json.Marshal(s.Export())
	require.NoError(t, err)
	assert.NotContains(t, string(out), `"password"`)
	d2, err := ParseDefinitions(out)
	require.NoError(t, err)
	assert.Len(t, d2.UnknownKeys, 0)

	s2, _, _ := openTest(t)
	require.NoError(t, s2.DeleteUser("guest"))
	skipped, err := s2.ImportDefinitions(d2)
	require.NoError(t, err)
	assert.Len(t, skipped, 0, skipped)
	assert.Equal(t, s.Export(), s2.Export())
	_, err = s2.CheckPassword("legacy", "simon")
	require.NoError(t, err)
}

func TestMalformedDefinitions(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"not json", `{`, "malformed"},
		{"users not list", `{"users": {}}`, "users: not a list"},
		{"user no name", `{"users": [{"name": "a"}, {"password_hash": ""}]}`, `users[1]: missing "name"`},
		{"bad tags", `{"users": [{"name": "a", "tags": 5}]}`, "users[0]"},
		{"policy priority", `{"policies": [{"vhost": "/", "name": "p", "pattern": ".*", "priority": "high", "definition": {}}]}`, "policies[0]"},
		{"binding type", `{"bindings": [{"source": "x", "vhost": "/", "destination": "q", "destination_type": "topic"}]}`, "bindings[0]"},
		{"version type", `{"rabbit_version": 3}`, "rabbit_version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDefinitions([]byte(tt.json))
			require.ErrorIs(t, err, ErrDefinitions)
			assert.Contains(t, err.Error(), tt.want)
		})
	}

	s, _, _ := openTest(t)
	imports := []struct {
		name, json, want string
	}{
		{"bad hash", `{"users": [{"name": "a", "password_hash": "abc", "hashing_algorithm": "rabbit_password_hashing_sha256"}]}`, "users[0]"},
		{"bad algorithm", `{"users": [{"name": "a", "password_hash": "", "hashing_algorithm": "bcrypt"}]}`, "users[0]"},
		{"bad regex", `{"permissions": [{"user": "guest", "vhost": "/", "configure": "(", "write": "", "read": ""}]}`, "permissions[0]"},
		{"bad policy", `{"policies": [{"vhost": "/", "name": "p", "pattern": "(", "definition": {"max-length": 1}}]}`, "policies[0]"},
		{"bad limits", `{"parameters": [{"vhost": "/", "component": "vhost-limits", "name": "limits", "value": "x"}]}`, "parameters[0]"},
	}
	for _, tt := range imports {
		t.Run("import "+tt.name, func(t *testing.T) {
			d, err := ParseDefinitions([]byte(tt.json))
			require.NoError(t, err)
			_, err = s.ImportDefinitions(d)
			require.ErrorIs(t, err, ErrDefinitions)
			assert.Contains(t, err.Error(), tt.want)
			_, ok := s.User("a")
			assert.False(t, ok, "nothing applied")
		})
	}
}
