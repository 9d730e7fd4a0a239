package core

import (
	"testing"

	"github.com/junctionmq/junction/core/auth"
	"github.com/stretchr/testify/require"
)

func TestImportDefinitions(t *testing.T) {
	b, st := openBroker(t, "")
	defer closeBroker(t, b, st)
	d, err := auth.ParseDefinitions([]byte(`{
	  "rabbit_version": "3.13.7",
	  "users": [{"name": "app", "password_hash": "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []}],
	  "vhosts": [{"name": "/"}, {"name": "prod", "description": "production", "tags": ["eu"]}],
	  "permissions": [{"user": "app", "vhost": "prod", "configure": ".*", "write": ".*", "read": ".*"}],
	  "parameters": [{"vhost": "prod", "component": "shovel", "name": "s1", "value": {}}],
	  "exchanges": [{"name": "orders", "vhost": "prod", "type": "topic", "durable": true, "auto_delete": false, "internal": false, "arguments": {}}],
	  "queues": [{"name": "orders.eu", "vhost": "prod", "durable": true, "auto_delete": false, "arguments": {"x-max-length": 1000, "x-queue-type": "classic"}}],
	  "bindings": [{"source": "orders", "vhost": "prod", "destination": "orders.eu", "destination_type": "queue", "routing_key": "eu.#", "arguments": {}}]
	}`))
	require.NoError(t, err)
	skipped, err := b.ImportDefinitions(d)
	require.NoError(t, err)
	require.NotEmpty(t, skipped, "the shovel parameter is reported")
	v, err := b.Vhost("prod")
	require.NoError(t, err)
	q, err := v.Queue("orders.eu")
	require.NoError(t, err)
	require.Equal(t, int64(1000), q.Config().Args.MaxLength)
	routed, err := v.Publish(msg("orders", "eu.fr", "o1", false), nil)
	require.NoError(t, err)
	require.True(t, routed)
	_, err = b.Users().CheckPassword("app", "test12")
	require.NoError(t, err)
	vh, ok := b.Users().Vhost("prod")
	require.True(t, ok)
	require.Equal(t, "production", vh.Description, "the import keeps vhost metadata")
}
