package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// js is v as a JavaScript literal (JSON), for names the test puts into
// expressions: the hostile ones included.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// login logs the tab in to the console as user.
func (p *tab) login(mgmtURL, user, password string) {
	p.t.Helper()
	p.do(chromedp.Navigate(mgmtURL+"/"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("nav")))
}

// open goes to a page of the console and waits for its first refresh.
func (p *tab) open(page string) {
	p.t.Helper()
	p.do(chromedp.Click(chromedp.CSS(`#nav a[href="#/` + page + `"]`)))
	p.waitFor(page+" page refreshed", `document.getElementById('page').dataset.refreshed === '`+page+`'`)
}

// set gives the form field with id a value, as typing or choosing would
// (input and change events).
func (p *tab) set(id, value string) {
	p.t.Helper()
	p.eval(fmt.Sprintf(`(e => { e.value = %s; e.dispatchEvent(new Event('input', {bubbles: true}));
		e.dispatchEvent(new Event('change', {bubbles: true})); return ''; })(document.getElementById(%s))`, js(value), js(id)))
}

// choose waits until the select with id offers value, then chooses it.
func (p *tab) choose(id, value string) {
	p.t.Helper()
	p.waitFor(id+" offers "+value, fmt.Sprintf(`[...(document.getElementById(%s) || {options: []}).options].some(o => o.value === %s)`,
		js(id), js(value)))
	p.set(id, value)
	require.Equal(p.t, value, p.eval(fmt.Sprintf(`document.getElementById(%s).value`, js(id))))
}

// submit clicks the form's button and waits for its result element's text
// to be want. The click is the element's own (not a mouse event at its
// coordinates), so a table refresh that moves the form cannot misplace it.
func (p *tab) submit(button, resultID, want string) {
	p.t.Helper()
	p.do(chromedp.WaitVisible(chromedp.ID(button)))
	p.eval(fmt.Sprintf(`document.getElementById(%s).click(), ''`, js(button)))
	p.waitFor(resultID+" says "+want, textOf(resultID)+` === `+js(want))
}

// button is an expression for the first button of class cls whose data
// attributes have these values.
func button(cls string, data map[string]string) string {
	conds := []string{"true"}
	for k, v := range data {
		conds = append(conds, fmt.Sprintf("b.dataset[%s] === %s", js(k), js(v)))
	}
	return fmt.Sprintf(`[...document.querySelectorAll('button.%s')].find(b => %s)`, cls, strings.Join(conds, " && "))
}

// confirmClick clicks a two-step button twice (arm, then act) and waits
// for resultID to say want.
func (p *tab) confirmClick(cls string, data map[string]string, resultID, want string) {
	p.t.Helper()
	expr := button(cls, data)
	p.waitFor(fmt.Sprintf("a %s button for %v", cls, data), expr)
	for range 2 { // the armed state survives the table's refreshes
		p.eval(`(` + expr + `).click(), ''`)
	}
	p.waitFor(resultID+" says "+want, textOf(resultID)+` === `+js(want))
}

// hasCell is an expression: a cell of the table with id holds exactly text.
func hasCell(tableID, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#%s td')].some(td => td.textContent === %s)`, tableID, js(text))
}

// getJSON reads an API object as guest into out and returns the status.
func (b *consoleBroker) getJSON(t *testing.T, path string, out any) int {
	t.Helper()
	code, body := b.apiCall(t, http.MethodGet, path, nil)
	if code == http.StatusOK && out != nil {
		require.NoError(t, json.Unmarshal(body, out), string(body))
	}
	return code
}

// amqpAs dials the broker's AMQP listener as user into vhost.
func (b *consoleBroker) amqpAs(user, password, vhost string) (*rmq.Connection, error) {
	u, err := url.Parse(b.amqpURL)
	if err != nil {
		return nil, err
	}
	u.User = url.UserPassword(user, password)
	u.Path, u.RawPath = "/"+vhost, "/"+url.PathEscape(vhost)
	return rmq.Dial(u.String())
}

// requireRefused: the dial failed with AMQP's NOT_ALLOWED or
// ACCESS_REFUSED for want of permission (not, say, for a vhost that does
// not exist, which is NOT_ALLOWED too).
func requireRefused(t *testing.T, c *rmq.Connection, err error) {
	t.Helper()
	if err == nil {
		_ = c.Close()
	}
	var amqpErr *rmq.Error
	require.ErrorAs(t, err, &amqpErr)
	assert.Contains(t, []int{rmq.NotAllowed, rmq.AccessRefused}, amqpErr.Code, amqpErr.Error())
	assert.Contains(t, amqpErr.Reason, "refused for user", "refused for want of permission")
}

// hostile is an exchange name with markup, an entity, both quotes and a
// slash: the console must show it as text and put it in paths escaped.
const hostile = `<img src=x onerror="window.pwned=1">&amp;'"/x`

// TestConsoleManagesObjects drives the console's management forms in
// headless Chromium against the whole broker, checking each change
// through the API and real clients: declare an exchange and a queue, bind
// them (and an exchange to an exchange) from the page, publish to the
// exchange from the page and read the message over AMQP; an exchange with
// a hostile name is shown as text and deleted; a failed declare shows the
// API's reason; a user added with a permission from the page connects over
// AMQP and is refused on a vhost added without one; a max-length policy
// added from the page applies to the queue; then the page removes the
// permission, the user, the vhost, the policy, the bindings and the
// exchange.
func TestConsoleManagesObjects(t *testing.T) {
	b := startConsoleBroker(t)
	p := openBrowser(t)
	p.login(b.mgmtURL, "guest", "guest")
	const (
		exchange = "console-orders"
		fanout   = "console-audit"
		queue    = "console-orders-q"
		key      = "order.created"
	)

	// Declare a direct exchange and a fanout one from the exchanges page.
	p.open("exchanges")
	p.choose("xdeclare-vhost", "/")
	p.set("xdeclare-name", exchange)
	p.set("xdeclare-args", `{"alternate-exchange": "console-unrouted"}`)
	p.submit("xdeclare-submit", "xdeclare-result", "Exchange "+exchange+" declared.")
	p.set("xdeclare-name", fanout)
	p.choose("xdeclare-type", "fanout")
	p.choose("xdeclare-durable", "false")
	p.choose("xdeclare-internal", "true")
	p.set("xdeclare-args", "")
	p.submit("xdeclare-submit", "xdeclare-result", "Exchange "+fanout+" declared.")
	var x struct {
		Type       string         `json:"type"`
		Durable    bool           `json:"durable"`
		AutoDelete bool           `json:"auto_delete"`
		Internal   bool           `json:"internal"`
		Arguments  map[string]any `json:"arguments"`
	}
	require.Equal(t, http.StatusOK, b.getJSON(t, "/api/exchanges/%2F/"+exchange, &x))
	assert.Equal(t, "direct", x.Type)
	assert.True(t, x.Durable)
	assert.False(t, x.Internal)
	assert.Equal(t, map[string]any{"alternate-exchange": "console-unrouted"}, x.Arguments)
	x.Arguments = nil
	require.Equal(t, http.StatusOK, b.getJSON(t, "/api/exchanges/%2F/"+fanout, &x))
	assert.Equal(t, "fanout", x.Type)
	assert.False(t, x.Durable)
	assert.True(t, x.Internal)
	p.waitFor("the new exchanges listed", hasCell("exchange-table", exchange)+" && "+hasCell("exchange-table", fanout))

	// Declare the queue from the queues page.
	p.open("queues")
	p.choose("declare-vhost", "/")
	p.set("declare-name", queue)
	p.submit("declare-submit", "declare-result", "Queue "+queue+" declared.")

	// Bind the exchange to the queue and to the fanout exchange from the
	// exchange's own bindings.
	p.open("exchanges")
	p.eval(`[...document.querySelectorAll('#exchange-table td')].find(td => td.textContent === ` + js(exchange) + `).click(), ''`)
	p.do(chromedp.WaitVisible(chromedp.ID("xbind-submit")))
	p.choose("xbind-dtype", "queue")
	p.set("xbind-dest", queue)
	p.set("xbind-key", key)
	p.submit("xbind-submit", "xbind-result", "Bound "+exchange+" → queue "+queue+" with routing key "+key+".")
	p.choose("xbind-dtype", "exchange")
	p.set("xbind-dest", fanout)
	p.set("xbind-key", "audit")
	p.set("xbind-args", `{"note": "<b>&"}`)
	p.submit("xbind-submit", "xbind-result", "Bound "+exchange+" → exchange "+fanout+" with routing key audit.")
	p.waitFor("both bindings listed under the exchange",
		hasCell("exchange-source-table", queue)+" && "+hasCell("exchange-source-table", fanout))
	var bs []struct {
		RoutingKey string         `json:"routing_key"`
		Arguments  map[string]any `json:"arguments"`
	}
	require.Equal(t, http.StatusOK, b.getJSON(t, "/api/bindings/%2F/e/"+exchange+"/q/"+queue, &bs))
	require.Len(t, bs, 1)
	assert.Equal(t, key, bs[0].RoutingKey)
	require.Equal(t, http.StatusOK, b.getJSON(t, "/api/bindings/%2F/e/"+exchange+"/e/"+fanout, &bs))
	require.Len(t, bs, 1)
	assert.Equal(t, "audit", bs[0].RoutingKey)
	assert.Equal(t, map[string]any{"note": "<b>&"}, bs[0].Arguments)

	// Publish to the exchange from the page; AMQP reads it from the queue.
	p.choose("pub-vhost", "/")
	p.choose("pub-exchange", exchange)
	p.set("pub-key", key)
	p.set("pub-payload", "order 42")
	p.submit("pub-submit", "pub-result", "Message published.")
	ch := b.amqp(t)
	var got rmq.Delivery
	require.Eventually(t, func() bool {
		d, ok, err := ch.Get(queue, true)
		require.NoError(t, err)
		got = d
		return ok
	}, 30*time.Second, 50*time.Millisecond)
	assert.Equal(t, "order 42", string(got.Body))
	assert.Equal(t, exchange, got.Exchange)
	assert.Equal(t, key, got.RoutingKey)

	// The queue's page lists the binding too.
	p.open("queues")
	p.eval(`[...document.querySelectorAll('#queue-table td')].find(td => td.textContent === ` + js(queue) + `).click(), ''`)
	p.waitFor("the queue's bindings listed", hasCell("queue-binding-table", exchange)+" && "+hasCell("queue-binding-table", key))

	// An exchange with a hostile name is declared and shown as text: no
	// element is made of it and no script runs.
	p.open("exchanges")
	p.set("xdeclare-name", hostile)
	p.choose("xdeclare-type", "topic")
	p.choose("xdeclare-durable", "true")
	p.choose("xdeclare-internal", "false")
	p.submit("xdeclare-submit", "xdeclare-result", "Exchange "+hostile+" declared.")
	p.waitFor("the hostile name listed as text", hasCell("exchange-table", hostile))
	assert.Equal(t, "0", p.eval(`String(document.querySelectorAll('#page img').length)`))
	assert.Equal(t, "undefined", p.eval(`typeof window.pwned`))
	require.Equal(t, http.StatusOK, b.getJSON(t, "/api/exchanges/%2F/"+url.PathEscape(hostile), &x))
	assert.Equal(t, "topic", x.Type)

	// A refused declare (another type for the same name) shows the API's
	// own reason.
	code, body := b.apiCall(t, http.MethodPut, "/api/exchanges/%2F/"+url.PathEscape(hostile), map[string]any{"type": "fanout"})
	require.Equal(t, http.StatusBadRequest, code, string(body))
	var apiErr struct{ Reason string }
	require.NoError(t, json.Unmarshal(body, &apiErr))
	require.NotEmpty(t, apiErr.Reason)
	p.choose("xdeclare-type", "fanout")
	p.submit("xdeclare-submit", "xdeclare-result", "Declare failed: "+apiErr.Reason)
	assert.Equal(t, "error", p.eval(`document.getElementById('xdeclare-result').className`))
	p.set("xdeclare-args", "[1, 2]")
	p.submit("xdeclare-submit", "xdeclare-result", "Declare failed: Arguments must be a JSON object")

	p.confirmClick("delete-exchange", map[string]string{"vhost": "/", "name": hostile}, "exchange-result", "Exchange "+hostile+" deleted.")
	assert.Equal(t, http.StatusNotFound, b.getJSON(t, "/api/exchanges/%2F/"+url.PathEscape(hostile), nil))

	// A user and a vhost from the page; the user gets permissions on "/"
	// only.
	// The vhost's name is hostile too: it goes into a select, a table and
	// two kinds of path.
	const user, password, closed = "console-alice", "alice-pw", `closed <b>&amp; "'/`
	p.open("vhosts")
	p.set("vform-name", closed)
	p.set("vform-description", "no one's")
	p.submit("vform-submit", "vform-result", "Virtual host "+closed+" added.")
	p.waitFor("the vhost listed", hasCell("vhost-table", closed))
	assert.Equal(t, "0", p.eval(`String(document.querySelectorAll('#page b').length)`))
	require.Equal(t, http.StatusOK, b.getJSON(t, "/api/vhosts/"+url.PathEscape(closed), nil))

	p.open("users")
	p.set("uform-name", user)
	p.set("uform-tags", "management, monitoring")
	p.submit("uform-submit", "uform-result", "Saving the user failed: password or password_hash must be set")
	p.set("uform-password", password)
	p.submit("uform-submit", "uform-result", "User "+user+" saved.")
	var u struct {
		Tags []string `json:"tags"`
	}
	require.Equal(t, http.StatusOK, b.getJSON(t, "/api/users/"+user, &u))
	assert.ElementsMatch(t, []string{"management", "monitoring"}, u.Tags)
	p.waitFor("the user listed", hasCell("user-table", user))

	p.choose("pform-user", user)
	p.choose("pform-vhost", closed) // offered, as text
	p.choose("pform-vhost", "/")
	p.set("pform-configure", "^console-")
	p.submit("pform-submit", "pform-result", "Permissions of "+user+" in / set.")
	var perm struct{ Configure, Write, Read string }
	require.Equal(t, http.StatusOK, b.getJSON(t, "/api/permissions/%2F/"+user, &perm))
	assert.Equal(t, "^console-", perm.Configure)
	assert.Equal(t, ".*", perm.Write)
	assert.Equal(t, ".*", perm.Read)
	p.waitFor("the permission listed", hasCell("permission-table", "^console-"))

	conn, err := b.amqpAs(user, password, "/")
	require.NoError(t, err, "the user connects to the vhost it has permissions on")
	uch, err := conn.Channel()
	require.NoError(t, err)
	_, err = uch.QueueDeclare("console-alice-q", false, true, false, false, nil)
	require.NoError(t, err, "configure permission ^console- lets the user declare console-alice-q")
	require.NoError(t, conn.Close())
	conn, err = b.amqpAs(user, password, closed)
	requireRefused(t, conn, err)

	// A max-length policy from the page applies to the queue.
	p.open("policies")
	p.choose("polform-vhost", "/")
	p.set("polform-name", "console-cap")
	p.set("polform-pattern", "^"+queue+"$")
	p.choose("polform-applyto", "queues")
	p.set("polform-priority", "3")
	p.set("polform-definition", "not json")
	p.submit("polform-submit", "polform-result", "Saving the policy failed: The definition is not valid JSON")
	p.set("polform-definition", `{"max-length": 2}`)
	p.submit("polform-submit", "polform-result", "Policy console-cap saved.")
	p.waitFor("the policy listed", hasCell("policy-table", "console-cap")+" && "+hasCell("policy-table", `{"max-length":2}`))
	var q struct {
		Policy    *string        `json:"policy"`
		Effective map[string]any `json:"effective_policy_definition"`
		Messages  int            `json:"messages"`
	}
	require.Eventually(t, func() bool {
		require.Equal(t, http.StatusOK, b.getJSON(t, "/api/queues/%2F/"+queue, &q))
		return q.Policy != nil && *q.Policy == "console-cap"
	}, 30*time.Second, 50*time.Millisecond)
	assert.EqualValues(t, 2, q.Effective["max-length"])
	for i := range 4 {
		require.NoError(t, ch.PublishWithContext(context.Background(), exchange, key, false, false,
			rmq.Publishing{Body: []byte(fmt.Sprint("m", i))}))
	}
	require.Eventually(t, func() bool {
		qi, err := ch.QueueInspect(queue)
		require.NoError(t, err)
		return qi.Messages == 2
	}, 30*time.Second, 50*time.Millisecond, "max-length 2 drops the oldest")

	// Remove it all from the pages, each checked through the API.
	p.confirmClick("delete-policy", map[string]string{"vhost": "/", "name": "console-cap"}, "policy-result", "Policy console-cap deleted.")
	assert.Equal(t, http.StatusNotFound, b.getJSON(t, "/api/policies/%2F/console-cap", nil))
	q.Policy = nil
	require.Equal(t, http.StatusOK, b.getJSON(t, "/api/queues/%2F/"+queue, &q))
	assert.Nil(t, q.Policy)

	p.open("users")
	p.confirmClick("clear-permission", map[string]string{"user": user, "vhost": "/"}, "permission-result",
		"Permissions of "+user+" in / cleared.")
	assert.Equal(t, http.StatusNotFound, b.getJSON(t, "/api/permissions/%2F/"+user, nil))
	conn, err = b.amqpAs(user, password, "/")
	requireRefused(t, conn, err)
	p.confirmClick("delete-user", map[string]string{"name": user}, "user-result", "User "+user+" deleted.")
	assert.Equal(t, http.StatusNotFound, b.getJSON(t, "/api/users/"+user, nil))
	assert.Equal(t, "false", p.eval(`String(!!document.querySelector('button.delete-user[data-name="guest"]'))`),
		"the page offers no button to delete the logged-in user")

	p.open("vhosts")
	p.confirmClick("delete-vhost", map[string]string{"name": closed}, "vhost-result", "Virtual host "+closed+" deleted.")
	assert.Equal(t, http.StatusNotFound, b.getJSON(t, "/api/vhosts/"+url.PathEscape(closed), nil))

	p.open("bindings")
	p.confirmClick("unbind", map[string]string{"source": exchange, "dest": fanout, "kind": "exchange"}, "binding-result",
		"Unbound "+exchange+" → "+fanout+" (audit).")
	require.Equal(t, http.StatusOK, b.getJSON(t, "/api/bindings/%2F/e/"+exchange+"/e/"+fanout, &bs))
	assert.Empty(t, bs)
	p.open("exchanges")
	p.eval(`[...document.querySelectorAll('#exchange-table td')].find(td => td.textContent === ` + js(exchange) + `).click(), ''`)
	p.confirmClick("unbind", map[string]string{"source": exchange, "dest": queue, "kind": "queue"}, "xbind-list-result",
		"Unbound "+exchange+" → "+queue+" ("+key+").")
	require.Equal(t, http.StatusOK, b.getJSON(t, "/api/bindings/%2F/e/"+exchange+"/q/"+queue, &bs))
	assert.Empty(t, bs)
	for _, name := range []string{exchange, fanout} {
		p.confirmClick("delete-exchange", map[string]string{"vhost": "/", "name": name}, "exchange-result", "Exchange "+name+" deleted.")
		assert.Equal(t, http.StatusNotFound, b.getJSON(t, "/api/exchanges/%2F/"+name, nil))
	}
	p.waitFor("the selected exchange's details gone", `document.getElementById('exchange-detail').children.length === 0`)

	// Bindings from the bindings page's own form, then every page once more.
	p.open("bindings")
	p.choose("bind-vhost", "/")
	p.set("bind-source", "amq.topic")
	p.choose("bind-dtype", "queue")
	p.set("bind-dest", queue)
	p.set("bind-key", "#")
	p.submit("bind-submit", "bind-result", "Bound amq.topic → queue "+queue+" with routing key #.")
	p.waitFor("the binding listed", hasCell("binding-table", "amq.topic"))
	require.Equal(t, http.StatusOK, b.getJSON(t, "/api/bindings/%2F/e/amq.topic/q/"+queue, &bs))
	require.Len(t, bs, 1)
	p.set("bind-dest", "no-such-queue")
	p.submit("bind-submit", "bind-result", "Bind failed: Not Found")

	assert.Equal(t, "[]", p.eval(`JSON.stringify(window.cspViolations)`))
	p.mu.Lock()
	assert.Empty(t, p.exceptions, "uncaught exceptions in the page")
	p.mu.Unlock()
}
