package mgmt_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	rabbithole "github.com/michaelklishin/rabbit-hole/v2"
	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChannelsAndConsumers opens channels and consumers with amqp091-go
// and reads them back with rabbit-hole and plain HTTP.
func TestChannelsAndConsumers(t *testing.T) {
	e := start(t)
	rh := e.client(t, "guest", "guest")
	conn := e.dial(t, "guest", "guest", "app")
	ch1, err := conn.Channel()
	require.NoError(t, err)
	_, err = ch1.QueueDeclare("work", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch1.Qos(7, 0, false))
	require.NoError(t, ch1.Qos(20, 0, true))
	_, err = ch1.Consume("work", "c1", false, false, false, false, rmq.Table{"x-priority": int32(5)})
	require.NoError(t, err)
	ch2, err := conn.Channel()
	require.NoError(t, err)
	require.NoError(t, ch2.Confirm(false))
	_, err = ch2.Consume("work", "c2", true, false, false, false, nil)
	require.NoError(t, err)

	var chans []struct {
		Name           string `json:"name"`
		Number         int    `json:"number"`
		User           string `json:"user"`
		Vhost          string `json:"vhost"`
		PrefetchCount  int    `json:"prefetch_count"`
		GlobalPrefetch int    `json:"global_prefetch_count"`
		ConsumerCount  int    `json:"consumer_count"`
		State          string `json:"state"`
		ConnDetails    struct {
			Name     string `json:"name"`
			PeerHost string `json:"peer_host"`
			PeerPort int    `json:"peer_port"`
		} `json:"connection_details"`
	}
	conns, err := rh.ListConnections()
	require.NoError(t, err)
	require.Len(t, conns, 1)
	connName := conns[0].Name
	e.getJSON(t, "/api/channels", &chans)
	require.Len(t, chans, 2)
	assert.Equal(t, connName+" (1)", chans[0].Name)
	assert.Equal(t, 1, chans[0].Number)
	assert.Equal(t, "guest", chans[0].User)
	assert.Equal(t, "/", chans[0].Vhost)
	assert.Equal(t, 7, chans[0].PrefetchCount)
	assert.Equal(t, 20, chans[0].GlobalPrefetch)
	assert.Equal(t, 1, chans[0].ConsumerCount)
	assert.Equal(t, "running", chans[0].State)
	assert.Equal(t, connName, chans[0].ConnDetails.Name)
	assert.Equal(t, "127.0.0.1", chans[0].ConnDetails.PeerHost)
	assert.NotZero(t, chans[0].ConnDetails.PeerPort)
	assert.Equal(t, 2, chans[1].Number)

	// rabbit-hole's view, and the per-connection and per-vhost listings.
	rc, err := rh.ListChannels()
	require.NoError(t, err)
	require.Len(t, rc, 2)
	one, err := rh.GetChannel(connName + " (1)")
	require.NoError(t, err)
	assert.Equal(t, 1, one.ConsumerCount)
	e.getJSON(t, "/api/connections/"+url.PathEscape(connName)+"/channels", &chans)
	assert.Len(t, chans, 2)
	e.getJSON(t, "/api/vhosts/%2F/channels", &chans)
	assert.Len(t, chans, 2)
	code, _ := e.call(t, "GET", "/api/vhosts/nope/channels", "guest", "guest", nil)
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = e.call(t, "GET", "/api/channels/"+url.PathEscape(connName+" (9)"), "guest", "guest", nil)
	assert.Equal(t, http.StatusNotFound, code)

	cons, err := rh.ListConsumers()
	require.NoError(t, err)
	require.Len(t, cons, 2)
	assert.Equal(t, "c1", cons[0].ConsumerTag)
	assert.Equal(t, "work", cons[0].Queue.Name)
	assert.Equal(t, "/", cons[0].Queue.Vhost)
	assert.Equal(t, 7, cons[0].PrefetchCount)
	assert.EqualValues(t, 5, cons[0].Arguments["x-priority"])
	assert.Equal(t, connName+" (1)", cons[0].ChannelDetails.Name)
	assert.Equal(t, connName, cons[0].ChannelDetails.ConnectionName)
	assert.Equal(t, "c2", cons[1].ConsumerTag)
	assert.Equal(t, 2, cons[1].ChannelDetails.Number)
	var raw []map[string]any
	e.getJSON(t, "/api/consumers/%2F", &raw)
	require.Len(t, raw, 2)
	assert.Equal(t, true, raw[0]["ack_required"])
	assert.Equal(t, false, raw[1]["ack_required"])
	assert.Equal(t, true, raw[0]["active"])

	q, err := rh.GetQueue("/", "work")
	require.NoError(t, err)
	require.NotNil(t, q.ConsumerDetails)
	require.Len(t, *q.ConsumerDetails, 2)
	assert.Equal(t, "c1", (*q.ConsumerDetails)[0].ConsumerTag)

	// Publishing with confirms and delivering without acks show in the
	// channels' counters.
	require.NoError(t, ch2.Publish("", "work", false, false, rmq.Publishing{Body: []byte("x")}))
	require.Eventually(t, func() bool {
		e.getJSON(t, "/api/channels", &raw)
		return len(raw) == 2 && raw[0]["messages_unacknowledged"] == float64(1) && raw[1]["confirm"] == true
	}, 10*time.Second, 20*time.Millisecond, "channels: %v", raw)

	// Cancelling and closing are seen.
	require.NoError(t, ch1.Cancel("c1", false))
	require.NoError(t, ch2.Close())
	require.Eventually(t, func() bool {
		e.getJSON(t, "/api/channels", &chans)
		e.getJSON(t, "/api/consumers", &raw)
		return len(chans) == 1 && chans[0].ConsumerCount == 0 && len(raw) == 0
	}, 10*time.Second, 20*time.Millisecond)
}

// getJSON GETs path as guest and decodes the 200 answer into v.
func (e *env) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	code, body := e.call(t, "GET", path, "guest", "guest", nil)
	require.Equal(t, http.StatusOK, code, "%s: %s", path, body)
	reflect.ValueOf(v).Elem().SetZero()
	require.NoError(t, json.Unmarshal(body, v), "%s", body)
}

// TestStreamConsumers lists a stream queue's consumer.
func TestStreamConsumers(t *testing.T) {
	e := start(t)
	rh := e.client(t, "guest", "guest")
	ch, err := e.dial(t, "guest", "guest", "reader").Channel()
	require.NoError(t, err)
	_, err = ch.QueueDeclare("events", true, false, false, false, rmq.Table{"x-queue-type": "stream"})
	require.NoError(t, err)
	require.NoError(t, ch.Qos(10, 0, false))
	_, err = ch.Consume("events", "s1", false, false, false, false, rmq.Table{"x-stream-offset": "first"})
	require.NoError(t, err)
	cons, err := rh.ListConsumersIn("/")
	require.NoError(t, err)
	require.Len(t, cons, 1)
	assert.Equal(t, "s1", cons[0].ConsumerTag)
	assert.Equal(t, "events", cons[0].Queue.Name)
	assert.Equal(t, 10, cons[0].PrefetchCount)
	assert.True(t, bool(cons[0].AcknowledgementMode))
	chans, err := rh.ListChannels()
	require.NoError(t, err)
	require.Len(t, chans, 1)
	assert.Equal(t, 1, chans[0].ConsumerCount)
	assert.Equal(t, 10, chans[0].PrefetchCount)
}

// TestChannelListingsUnderChurn polls the channel and consumer listings
// while channels open, consume, publish with confirms, ack and close, so
// that the race detector sees the snapshots against the connection's
// reader and writer.
func TestChannelListingsUnderChurn(t *testing.T) {
	e := start(t)
	conn := e.dial(t, "guest", "guest", "churn")
	setup, err := conn.Channel()
	require.NoError(t, err)
	_, err = setup.QueueDeclare("churn", false, false, false, false, nil)
	require.NoError(t, err)

	stop := make(chan struct{})
	polled := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				polled <- n
				return
			default:
			}
			for _, p := range []string{"/api/channels", "/api/consumers", "/api/queues/%2F/churn", "/api/overview"} {
				req, _ := http.NewRequest("GET", e.mgmtBase+p, nil)
				req.SetBasicAuth("guest", "guest")
				if res, err := http.DefaultClient.Do(req); err == nil { // no t.Fatal off the test goroutine
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode == http.StatusOK {
						n++
					}
				}
			}
		}
	}()
	for i := range 20 {
		ch, err := conn.Channel()
		require.NoError(t, err)
		require.NoError(t, ch.Confirm(false))
		require.NoError(t, ch.Qos(5, 0, false))
		msgs, err := ch.Consume("churn", "", false, false, false, false, nil)
		require.NoError(t, err)
		c, err := ch.PublishWithDeferredConfirm("", "churn", false, false, rmq.Publishing{Body: []byte{byte(i)}})
		require.NoError(t, err)
		d := <-msgs
		require.NoError(t, d.Ack(false))
		ok, err := c.WaitContext(t.Context())
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, ch.Close())
	}
	close(stop)
	assert.Positive(t, <-polled)
}

// TestChannelsAuthorisation: a management user sees its own channels
// only; monitoring and administrator users see all; another user's
// channel is 401 to it.
func TestChannelsAuthorisation(t *testing.T) {
	e := start(t)
	rh := e.client(t, "guest", "guest")
	res, err := rh.PutUser("bob", rabbithole.UserSettings{Password: "pw", Tags: []string{"management"}})
	must(t, res, err, http.StatusCreated)
	res, err = rh.UpdatePermissionsIn("/", "bob", rabbithole.Permissions{Configure: ".*", Write: ".*", Read: ".*"})
	must(t, res, err, http.StatusCreated)
	for _, u := range []string{"guest", "bob"} {
		pw := map[string]string{"guest": "guest", "bob": "pw"}[u]
		_, err := e.dial(t, u, pw, u).Channel()
		require.NoError(t, err)
	}
	var all []map[string]any
	e.getJSON(t, "/api/channels", &all)
	require.Len(t, all, 2)
	guestChan := ""
	for _, c := range all {
		if c["user"] == "guest" {
			guestChan = c["name"].(string)
		}
	}
	code, body := e.call(t, "GET", "/api/channels", "bob", "pw", nil)
	require.Equal(t, http.StatusOK, code)
	var mine []map[string]any
	require.NoError(t, json.Unmarshal(body, &mine))
	require.Len(t, mine, 1)
	assert.Equal(t, "bob", mine[0]["user"])
	code, _ = e.call(t, "GET", "/api/channels/"+url.PathEscape(guestChan), "bob", "pw", nil)
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = e.call(t, "GET", "/api/channels/"+url.PathEscape(guestChan), "guest", "guest", nil)
	assert.Equal(t, http.StatusOK, code)
	code, _ = e.call(t, "GET", "/api/connections/nope/channels", "guest", "guest", nil)
	assert.Equal(t, http.StatusNotFound, code)
}

// A channel's confirm and tx modes and its basic.qos values show before it
// publishes or consumes anything.
func TestChannelModesShowAtOnce(t *testing.T) {
	e := start(t)
	conn := e.dial(t, "guest", "guest", "modes")
	confirm, err := conn.Channel()
	require.NoError(t, err)
	require.NoError(t, confirm.Confirm(false))
	tx, err := conn.Channel()
	require.NoError(t, err)
	require.NoError(t, tx.Tx())
	qos, err := conn.Channel()
	require.NoError(t, err)
	require.NoError(t, qos.Qos(7, 0, false))
	require.NoError(t, qos.Qos(30, 0, true))

	var chans []struct {
		Number         int  `json:"number"`
		Confirm        bool `json:"confirm"`
		Transactional  bool `json:"transactional"`
		PrefetchCount  int  `json:"prefetch_count"`
		GlobalPrefetch int  `json:"global_prefetch_count"`
	}
	e.getJSON(t, "/api/channels", &chans)
	require.Len(t, chans, 3)
	assert.True(t, chans[0].Confirm)
	assert.False(t, chans[0].Transactional)
	assert.True(t, chans[1].Transactional)
	assert.False(t, chans[1].Confirm)
	assert.Equal(t, 7, chans[2].PrefetchCount)
	assert.Equal(t, 30, chans[2].GlobalPrefetch)
	assert.False(t, chans[2].Confirm || chans[2].Transactional)
}
