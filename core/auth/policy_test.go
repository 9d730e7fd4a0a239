package auth

import "testing"

func TestEffectivePolicy(t *testing.T) {
	s, _, _ := openTest(t)
	put := func(name, pattern, applyTo string, prio int, def map[string]any) {
		t.Helper()
		require.NoError(t, s.PutPolicy(Policy{Vhost: "/", Name: name, Pattern: pattern, ApplyTo: applyTo, Priority: prio, Definition: def}))
	}
	put("all-low", ".*", "all", 0, map[string]any{"max-length": 10})
	put("orders", `^orders\.`, "queues", 5, map[string]any{"message-ttl": 1000})
	put("orders-b", `^orders\.`, "queues", 5, map[string]any{"message-ttl": 2000})
	put("qq", ".*", "quorum_queues", 1, map[string]any{"delivery-limit": 3})
	put("ae", "^x", "exchanges", 9, map[string]any{"alternate-exchange": "ae"})
	put("st", ".*", "streams", 2, map[string]any{"max-age": "1D"})

	tests := []struct {
		name string
		kind Kind
		want string
	}{
		{"orders.created", KindClassicQueue, "orders"}, // tie on 5: smaller name
		{"orders.created", KindQuorumQueue, "orders"},
		{"other", KindQuorumQueue, "qq"},
		{"other", KindClassicQueue, "all-low"},
		{"other", KindStream, "st"},
		{"xchg", KindExchange, "ae"},
		{"xq", KindClassicQueue, "all-low"}, // exchanges-only policy skipped
		{"e", KindExchange, "all-low"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := s.EffectivePolicy("/", tt.name, tt.kind)
			require.True(t, p != nil)
			assert.Equal(t, tt.want, p.Name)
		})
	}
	assert.Nil(t, s.EffectivePolicy("other-vhost", "q", KindClassicQueue))

	// copies: editing a result does not change the store
	p := s.EffectivePolicy("/", "xchg", KindExchange)
	p.Definition["alternate-exchange"] = "changed"
	assert.Equal(t, "ae", s.EffectivePolicy("/", "xchg", KindExchange).Definition["alternate-exchange"])
}

func TestPolicyValidation(t *testing.T) {
	s, _, _ := openTest(t)
	tests := []struct {
		name string
		p    Policy
		want error
	}{
		{"bad apply-to", Policy{Vhost: "/", Name: "p", Pattern: ".*", ApplyTo: "both", Definition: map[string]any{"max-length": 1}}, ErrBadPolicy},
		{"bad pattern", Policy{Vhost: "/", Name: "p", Pattern: "(", Definition: map[string]any{"max-length": 1}}, ErrBadPattern},
		{"unknown key", Policy{Vhost: "/", Name: "p", Pattern: ".*", Definition: map[string]any{"ha-mode": "all"}}, ErrBadPolicy},
		{"negative", Policy{Vhost: "/", Name: "p", Pattern: ".*", Definition: map[string]any{"max-length": -1}}, ErrBadPolicy},
		{"fraction", Policy{Vhost: "/", Name: "p", Pattern: ".*", Definition: map[string]any{"message-ttl": 1.5}}, ErrBadPolicy},
		{"bad overflow", Policy{Vhost: "/", Name: "p", Pattern: ".*", Definition: map[string]any{"overflow": "drop-tail"}}, ErrBadPolicy},
		{"empty", Policy{Vhost: "/", Name: "p", Pattern: ".*"}, ErrBadPolicy},
		{"no vhost", Policy{Vhost: "nope", Name: "p", Pattern: ".*", Definition: map[string]any{"max-length": 1}}, ErrNoVhost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, s.PutPolicy(tt.p), tt.want)
		})
	}
	require.ErrorIs(t, s.DeletePolicy("/", "nope"), ErrNoPolicy)
}

func TestOperatorPolicyMerge(t *testing.T) {
	s, _, _ := openTest(t)
	require.NoError(t, s.PutPolicy(Policy{Vhost: "/", Name: "user", Pattern: ".*", ApplyTo: "queues",
		Definition: map[string]any{"message-ttl": 5000, "max-length": 10, "dead-letter-exchange": "dlx"}}))
	require.NoError(t, s.PutOperatorPolicy(Policy{Vhost: "/", Name: "cap", Pattern: ".*", ApplyTo: "queues",
		Definition: map[string]any{"message-ttl": 1000, "max-length": 50, "max-length-bytes": 1 << 20}}))
	got := s.EffectiveDefinition("/", "q", KindClassicQueue)
	assert.Equal(t, map[string]any{
		"message-ttl": int64(1000), "max-length": int64(10),
		"max-length-bytes": int64(1 << 20), "dead-letter-exchange": "dlx",
	}, got)
	assert.Nil(t, s.EffectiveDefinition("/", "x", KindExchange))
	assert.Len(t, s.OperatorPolicies("/"), 1)
	require.NoError(t, s.DeleteOperatorPolicy("/", "cap"))
	assert.Equal(t, int64(5000), s.EffectiveDefinition("/", "q", KindClassicQueue)["message-ttl"])
}

func TestEffectiveArguments(t *testing.T) {
	def := map[string]any{"message-ttl": int64(1000), "max-length": int64(10), "dead-letter-exchange": "pol-dlx",
		"overflow": "drop-head", "expires": int64(60000)}
	args := map[string]any{"x-message-ttl": int32(500), "x-max-length": int64(20), "x-dead-letter-exchange": "arg-dlx",
		"x-queue-type": "quorum", "x-expires": 90000.0}
	got := EffectiveArguments(def, args)
	assert.Equal(t, map[string]any{
		"message-ttl":          int64(500),   // lower wins
		"max-length":           int64(10),    // lower wins
		"expires":              int64(60000), // lower wins
		"dead-letter-exchange": "arg-dlx",    // argument wins
		"overflow":             "drop-head",  // policy only
		"queue-type":           "quorum",     // argument only
	}, got)
	assert.Equal(t, map[string]any{"alternate-exchange": "arg-ae"},
		EffectiveArguments(map[string]any{"alternate-exchange": "pol-ae"}, map[string]any{"alternate-exchange": "arg-ae"}))
	assert.Equal(t, map[string]any{}, EffectiveArguments(nil, nil))
}
