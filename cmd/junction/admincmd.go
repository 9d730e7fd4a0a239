package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

// adminCommands are the management commands, registered in newApp.
func adminCommands() []*cli.Command {
	return []*cli.Command{
		{Name: "list", Usage: "list objects through the management API", Subcommands: listCommands()},
		{Name: "declare", Usage: "create or update an object through the management API", Subcommands: declareCommands()},
		{Name: "delete", Usage: "delete an object through the management API", Subcommands: deleteCommands()},
		{Name: "purge", Usage: "remove a queue's ready messages through the management API", Subcommands: []*cli.Command{
			leaf("queue", "purge the queue NAME", "NAME", nil, purgeQueue),
		}},
		leaf("overview", "show the broker's totals and message rates", "", nil, showOverview),
		{Name: "close", Usage: "close a connection through the management API", Subcommands: []*cli.Command{
			leaf("connection", "close the connection called NAME", "NAME",
				[]cli.Flag{&cli.StringFlag{Name: "reason", Usage: "the reason the client is told"}}, closeConnection),
		}},
		leaf("export", "export the definitions (to FILE, or stdout)", "[FILE]", nil, exportDefinitions),
		leaf("import", "import definitions from FILE (- for stdin)", "FILE", nil, importDefinitions),
		leaf("publish", "publish a message to an exchange", "", []cli.Flag{
			&cli.StringFlag{Name: "exchange", Usage: "exchange (default: the default exchange)"},
			&cli.StringFlag{Name: "routing-key", Aliases: []string{"k"}, Usage: "routing key"},
			&cli.StringFlag{Name: "payload", Aliases: []string{"p"}, Usage: "message body (default: stdin)"},
			&cli.StringFlag{Name: "properties", Usage: `message properties as a JSON object, e.g. {"delivery_mode":2}`},
		}, publishMessage),
		leaf("get", "get (and by default remove) messages from a queue", "QUEUE", []cli.Flag{
			&cli.IntFlag{Name: "count", Value: 1, Usage: "how many messages"},
			&cli.BoolFlag{Name: "requeue", Usage: "leave the messages in the queue"},
		}, getMessages),
	}
}

// leaf builds a command with the admin flags and its own.
func leaf(name, usage, argsUsage string, flags []cli.Flag, action cli.ActionFunc) *cli.Command {
	return &cli.Command{Name: name, Usage: usage, ArgsUsage: argsUsage, Flags: append(flags, adminFlags()...),
		OnUsageError: usageError, Action: action}
}

// listing describes one list subcommand: the path (all vhosts, one vhost)
// and the table's columns.
type listing struct {
	name, usage   string
	path, inVhost string // inVhost: "" when the listing has no per-vhost form
	cols          []column
}

var listings = []listing{
	{"queues", "queues and streams", "/api/queues", "/api/queues/%s", []column{{"VHOST", "vhost"}, {"NAME", "name"},
		{"TYPE", "type"}, {"DURABLE", "durable"}, {"MESSAGES", "messages"}, {"READY", "messages_ready"},
		{"UNACKED", "messages_unacknowledged"}, {"CONSUMERS", "consumers"}}},
	{"exchanges", "exchanges", "/api/exchanges", "/api/exchanges/%s", []column{{"VHOST", "vhost"}, {"NAME", "name"},
		{"TYPE", "type"}, {"DURABLE", "durable"}, {"AUTO_DELETE", "auto_delete"}, {"INTERNAL", "internal"}}},
	{"bindings", "bindings", "/api/bindings", "/api/bindings/%s", []column{{"VHOST", "vhost"}, {"SOURCE", "source"},
		{"DESTINATION", "destination"}, {"DESTINATION_TYPE", "destination_type"}, {"ROUTING_KEY", "routing_key"},
		{"ARGUMENTS", "arguments"}}},
	{"users", "users", "/api/users", "", []column{{"NAME", "name"}, {"TAGS", "tags"}}},
	{"vhosts", "virtual hosts", "/api/vhosts", "", []column{{"NAME", "name"}, {"DESCRIPTION", "description"},
		{"MESSAGES", "messages"}}},
	{"permissions", "permissions", "/api/permissions", "/api/vhosts/%s/permissions", []column{{"USER", "user"},
		{"VHOST", "vhost"}, {"CONFIGURE", "configure"}, {"WRITE", "write"}, {"READ", "read"}}},
	{"policies", "policies", "/api/policies", "/api/policies/%s", []column{{"VHOST", "vhost"}, {"NAME", "name"},
		{"PATTERN", "pattern"}, {"APPLY_TO", "apply-to"}, {"PRIORITY", "priority"}, {"DEFINITION", "definition"}}},
	{"connections", "AMQP connections", "/api/connections", "/api/vhosts/%s/connections", []column{{"NAME", "name"},
		{"USER", "user"}, {"VHOST", "vhost"}, {"CHANNELS", "channels"}, {"STATE", "state"}}},
	{"channels", "AMQP channels", "/api/channels", "/api/vhosts/%s/channels", []column{{"NAME", "name"},
		{"USER", "user"}, {"VHOST", "vhost"}, {"CONSUMERS", "consumer_count"}, {"PREFETCH", "prefetch_count"},
		{"UNACKED", "messages_unacknowledged"}, {"CONFIRM", "confirm"}}},
	{"consumers", "AMQP consumers", "/api/consumers", "/api/consumers/%s", []column{{"VHOST", "queue.vhost"},
		{"QUEUE", "queue.name"}, {"TAG", "consumer_tag"}, {"CHANNEL", "channel_details.name"},
		{"ACK_REQUIRED", "ack_required"}, {"PREFETCH", "prefetch_count"}}},
}

// listCommands are the list subcommands.
func listCommands() []*cli.Command {
	out := make([]*cli.Command, 0, len(listings))
	for _, l := range listings {
		out = append(out, leaf(l.name, "list "+l.usage, "", nil, func(c *cli.Context) error {
			if _, err := wantArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			path := l.path
			if l.inVhost != "" && vhostSet(c) {
				path = fmt.Sprintf(l.inVhost, esc(c.String("vhost")))
			}
			data, err := call(c, "GET", path, nil)
			if err != nil {
				return err
			}
			return printList(c, data, l.cols)
		}))
	}
	return out
}

// closeConnection serves "close connection NAME".
func closeConnection(c *cli.Context) error {
	a, err := wantArgs(c, 1, "NAME")
	if err != nil {
		return err
	}
	var hdr http.Header
	if r := c.String("reason"); r != "" {
		hdr = http.Header{"X-Reason": {r}}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	if _, err = cl.send("DELETE", "/api/connections/"+esc(a[0]), nil, hdr); err != nil {
		return err
	}
	fmt.Fprintln(c.App.Writer, "closed connection "+a[0])
	return nil
}

// exportDefinitions serves "export [FILE]": every vhost, or the --vhost
// given.
func exportDefinitions(c *cli.Context) error {
	a, err := args(c)
	if err != nil {
		return err
	}
	if len(a) > 1 {
		return errors.New("export: want at most one FILE")
	}
	path := "/api/definitions"
	if vhostSet(c) {
		path += "/" + esc(c.String("vhost"))
	}
	data, err := call(c, "GET", path, nil)
	if err != nil {
		return err
	}
	if len(a) == 0 || a[0] == "-" {
		return printJSON(c, data)
	}
	return os.WriteFile(a[0], data, 0o600)
}

// importDefinitions serves "import FILE": what the broker skipped is
// printed.
func importDefinitions(c *cli.Context) error {
	a, err := wantArgs(c, 1, "FILE (- for stdin)")
	if err != nil {
		return err
	}
	var data []byte
	if a[0] == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(a[0])
	}
	if err != nil {
		return err
	}
	path := "/api/definitions"
	if vhostSet(c) {
		path += "/" + esc(c.String("vhost"))
	}
	out, err := call(c, "POST", path, data)
	if err != nil {
		return err
	}
	var res struct {
		Skipped []string `json:"skipped"`
	}
	_ = json.Unmarshal(out, &res)
	if c.Bool("json") {
		if len(out) == 0 {
			out = []byte(`{"skipped":[]}`)
		}
		return printJSON(c, out)
	}
	fmt.Fprintln(c.App.Writer, "imported")
	for _, s := range res.Skipped {
		fmt.Fprintln(c.App.Writer, "skipped: "+s)
	}
	return nil
}

// publishMessage serves "publish": the body is --payload or stdin.
func publishMessage(c *cli.Context) error {
	if _, err := wantArgs(c, 0, "no arguments (the body is --payload or stdin)"); err != nil {
		return err
	}
	payload := c.String("payload")
	if !c.IsSet("payload") {
		data, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		payload = string(data)
	}
	props, err := parseJSONObject(c.String("properties"), "properties")
	if err != nil {
		return err
	}
	x := c.String("exchange")
	if x == "" {
		x = "amq.default"
	}
	out, err := call(c, "POST", "/api/exchanges/"+esc(c.String("vhost"))+"/"+esc(x)+"/publish",
		map[string]any{"properties": props, "routing_key": c.String("routing-key"), "payload": payload,
			"payload_encoding": "string"})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, out)
	}
	var res struct {
		Routed bool `json:"routed"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	if !res.Routed {
		fmt.Fprintln(c.App.Writer, "message published but NOT routed")
		return nil
	}
	fmt.Fprintln(c.App.Writer, "message published")
	return nil
}

// getMessages serves "get QUEUE".
func getMessages(c *cli.Context) error {
	a, err := wantArgs(c, 1, "QUEUE")
	if err != nil {
		return err
	}
	mode := "ack_requeue_false"
	if c.Bool("requeue") {
		mode = "ack_requeue_true"
	}
	out, err := call(c, "POST", "/api/queues/"+esc(c.String("vhost"))+"/"+esc(a[0])+"/get",
		map[string]any{"count": c.Int("count"), "ackmode": mode, "encoding": "auto"})
	if err != nil {
		return err
	}
	return printList(c, out, []column{{"ROUTING_KEY", "routing_key"}, {"EXCHANGE", "exchange"},
		{"MESSAGE_COUNT", "message_count"}, {"REDELIVERED", "redelivered"}, {"PAYLOAD", "payload"},
		{"ENCODING", "payload_encoding"}})
}

// splitTags splits a comma-separated tag list.
func splitTags(s string) []string {
	out := []string{}
	for t := range strings.SplitSeq(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// purgeQueue serves "purge queue NAME".
func purgeQueue(c *cli.Context) error {
	a, err := wantArgs(c, 1, "NAME")
	if err != nil {
		return err
	}
	return done(c, "DELETE", "/api/queues/"+esc(c.String("vhost"))+"/"+esc(a[0])+"/contents", nil, "purged queue "+a[0])
}

// overviewRows are the figures "overview" shows: a label and the field of
// /api/overview.
var overviewRows = []column{
	{"version", "rabbitmq_version"}, {"product", "product_version"}, {"node", "node"},
	{"queues", "object_totals.queues"}, {"exchanges", "object_totals.exchanges"},
	{"connections", "object_totals.connections"}, {"channels", "object_totals.channels"},
	{"consumers", "object_totals.consumers"},
	{"messages", "queue_totals.messages"}, {"messages ready", "queue_totals.messages_ready"},
	{"messages unacked", "queue_totals.messages_unacknowledged"},
	{"published", "message_stats.publish"}, {"publish/s", "message_stats.publish_details.rate"},
	{"delivered and got", "message_stats.deliver_get"}, {"deliver_get/s", "message_stats.deliver_get_details.rate"},
	{"acked", "message_stats.ack"}, {"ack/s", "message_stats.ack_details.rate"},
	{"redelivered", "message_stats.redeliver"}, {"unroutable", "message_stats.drop_unroutable"},
}

// showOverview serves "overview": one figure per line, rates per second
// over the broker's last sampling interval (5 s).
func showOverview(c *cli.Context) error {
	if _, err := wantArgs(c, 0, "no arguments"); err != nil {
		return err
	}
	data, err := call(c, "GET", "/api/overview", nil)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, data)
	}
	var ov map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&ov); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	for _, r := range overviewRows {
		fmt.Fprintf(tw, "%s\t%s\n", r.header, cell(lookup(ov, r.field)))
	}
	return tw.Flush()
}
