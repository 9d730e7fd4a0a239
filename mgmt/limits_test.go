package mgmt_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	rabbithole "github.com/michaelklishin/rabbit-hole/v2"
	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
)

// TestUserAndVhostLimitsAPI sets RabbitMQ user and vhost limits through
// /api/user-limits and /api/vhost-limits with rabbit-hole, reads them back,
// and checks with amqp091-go that the broker holds them and lets go when
// they are cleared.
func TestUserAndVhostLimitsAPI(t *testing.T) {
	e := start(t)
	rh := e.client(t, "guest", "guest")
	dial := func(user, pass string) error {
		c, err := rmq.Dial(strings.Replace(e.amqpURL, "amqp://", "amqp://"+user+":"+pass+"@", 1))
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
		return err
	}
	refused := func(err error, reason string) {
		t.Helper()
		var ae *rmq.Error
		require.True(t, errors.As(err, &ae), "want a connection.close, got %v", err)
		require.Equal(t, rmq.NotAllowed, ae.Code)
		require.Equal(t, "NOT_ALLOWED - "+reason, ae.Reason)
	}

	res, err := rh.PutUser("lim", rabbithole.UserSettings{Password: "pw", Tags: rabbithole.UserTags{}})
	must(t, res, err, http.StatusCreated)
	res, err = rh.UpdatePermissionsIn("/", "lim", rabbithole.Permissions{Configure: ".*", Write: ".*", Read: ".*"})
	must(t, res, err, http.StatusCreated)

	res, err = rh.PutUserLimits("lim", rabbithole.UserLimitsValues{"max-connections": 1})
	must(t, res, err, http.StatusNoContent)
	ul, err := rh.GetUserLimits("lim")
	require.NoError(t, err)
	require.Equal(t, []rabbithole.UserLimitsInfo{{User: "lim", Value: rabbithole.UserLimitsValues{"max-connections": 1}}}, ul)
	require.NoError(t, dial("lim", "pw"))
	refused(dial("lim", "pw"), "connection refused for user 'lim': user connection limit (1) is reached")
	res, err = rh.DeleteUserLimits("lim", rabbithole.UserLimits{"max-connections"})
	must(t, res, err, http.StatusNoContent)
	require.NoError(t, dial("lim", "pw"), "no limit once cleared")
	ul, err = rh.GetAllUserLimits()
	require.NoError(t, err)
	require.Empty(t, ul)

	res, err = rh.PutVhostLimits("/", rabbithole.VhostLimitsValues{"max-connections": 3})
	must(t, res, err, http.StatusNoContent)
	vl, err := rh.GetVhostLimits("/")
	require.NoError(t, err)
	require.Equal(t, []rabbithole.VhostLimitsInfo{{Vhost: "/", Value: rabbithole.VhostLimitsValues{"max-connections": 3}}}, vl)
	// lim holds two connections to "/" already.
	require.NoError(t, dial("guest", "guest"))
	refused(dial("guest", "guest"), "access to vhost '/' refused for user 'guest': connection limit (3) is reached")
	res, err = rh.DeleteVhostLimits("/", rabbithole.VhostLimits{"max-connections"})
	must(t, res, err, http.StatusNoContent)
	require.NoError(t, dial("guest", "guest"))

	// RabbitMQ's refusals: an unknown limit or value, an unknown vhost or
	// user, a user who is not an administrator.
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"PUT", "/api/vhost-limits/%2F/max-bananas", `{"value":1}`, http.StatusBadRequest},
		{"PUT", "/api/vhost-limits/%2F/max-queues", `{"value":"ten"}`, http.StatusBadRequest},
		{"PUT", "/api/vhost-limits/%2F/max-queues", `{}`, http.StatusBadRequest},
		{"PUT", "/api/user-limits/lim/max-queues", `{"value":1}`, http.StatusBadRequest},
		{"PUT", "/api/vhost-limits/nowhere/max-queues", `{"value":1}`, http.StatusNotFound},
		{"GET", "/api/user-limits/nobody", ``, http.StatusNotFound},
	} {
		code, body := e.callBody(t, c.method, c.path, c.body)
		require.Equal(t, c.want, code, "%s %s: %s", c.method, c.path, body)
	}
	code, _ := e.call(t, "GET", "/api/vhost-limits", "lim", "pw", nil)
	require.Equal(t, http.StatusUnauthorized, code, "not an administrator")
}
