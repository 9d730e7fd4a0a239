package main

import (
	"fmt"
	"net/http"

	"github.com/urfave/cli/v2"
)

// argumentsFlag is --arguments, a JSON object: a new flag for each
// command (urfave/cli flags keep state).
func argumentsFlag() cli.Flag {
	return &cli.StringFlag{Name: "arguments", Usage: `optional arguments as a JSON object, e.g. {"x-max-length":10}`}
}

// bindingFlags name a binding.
func bindingFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "source", Usage: "source exchange (required)"},
		&cli.StringFlag{Name: "destination", Usage: "destination queue or exchange (required)"},
		&cli.StringFlag{Name: "destination-type", Value: "queue", Usage: "queue or exchange"},
		&cli.StringFlag{Name: "routing-key", Aliases: []string{"k"}, Usage: "routing key"},
	}
}

// declareCommands are the declare subcommands.
func declareCommands() []*cli.Command {
	return []*cli.Command{
		leaf("queue", "declare the queue NAME", "NAME", []cli.Flag{
			&cli.BoolFlag{Name: "durable", Value: true, Usage: "survives a restart"},
			&cli.BoolFlag{Name: "auto-delete", Usage: "deleted when its last consumer goes"},
			&cli.StringFlag{Name: "type", Usage: "classic, quorum or stream"}, argumentsFlag(),
		}, declareQueue),
		leaf("exchange", "declare the exchange NAME", "NAME", []cli.Flag{
			&cli.StringFlag{Name: "type", Value: "direct", Usage: "direct, fanout, topic or headers"},
			&cli.BoolFlag{Name: "durable", Value: true, Usage: "survives a restart"},
			&cli.BoolFlag{Name: "auto-delete", Usage: "deleted when its last binding goes"},
			&cli.BoolFlag{Name: "internal", Usage: "clients may not publish to it"}, argumentsFlag(),
		}, declareExchange),
		leaf("binding", "bind a queue or an exchange to an exchange", "", append(bindingFlags(), argumentsFlag()),
			declareBinding),
		leaf("user", "create or update the user NAME", "NAME", []cli.Flag{
			&cli.StringFlag{Name: "user-password", Usage: "the user's password (--password is the caller's)"},
			&cli.StringFlag{Name: "password-hash", Usage: "a password hash (as exported) instead"},
			&cli.StringFlag{Name: "tags", Usage: "comma-separated tags: administrator, monitoring, management, policymaker"},
		}, declareUser),
		leaf("vhost", "create or update the virtual host NAME", "NAME", []cli.Flag{
			&cli.StringFlag{Name: "description", Usage: "description"},
			&cli.StringFlag{Name: "tags", Usage: "comma-separated tags"},
		}, declareVhost),
		leaf("policy", "set the policy NAME in --vhost", "NAME", []cli.Flag{
			&cli.StringFlag{Name: "pattern", Usage: "regexp of the queue or exchange names it applies to (required)"},
			&cli.StringFlag{Name: "definition", Usage: `JSON object, e.g. {"max-length":1000} (required)`},
			&cli.IntFlag{Name: "priority", Usage: "the highest priority matching policy applies"},
			&cli.StringFlag{Name: "apply-to", Value: "all", Usage: "queues, exchanges or all"},
		}, declarePolicy),
		leaf("permission", "set USER's permissions in --vhost", "USER", []cli.Flag{
			&cli.StringFlag{Name: "configure", Value: ".*", Usage: "configure regexp"},
			&cli.StringFlag{Name: "write", Value: ".*", Usage: "write regexp"},
			&cli.StringFlag{Name: "read", Value: ".*", Usage: "read regexp"},
		}, declarePermission),
	}
}

// deleteCommands are the delete subcommands.
func deleteCommands() []*cli.Command {
	named := func(kind, path string, flags ...cli.Flag) *cli.Command {
		return leaf(kind, "delete the "+kind+" NAME", "NAME", flags, func(c *cli.Context) error {
			a, err := wantArgs(c, 1, "NAME")
			if err != nil {
				return err
			}
			p := fmt.Sprintf(path, esc(c.String("vhost")), esc(a[0]))
			if c.Bool("if-unused") {
				p += "?if-unused=true"
			} else if c.Bool("if-empty") {
				p += "?if-empty=true"
			}
			return done(c, "DELETE", p, nil, "deleted "+kind+" "+a[0])
		})
	}
	unused := func() cli.Flag {
		return &cli.BoolFlag{Name: "if-unused", Usage: "only if it has no consumers (queue) or bindings (exchange)"}
	}
	return []*cli.Command{
		named("queue", "/api/queues/%s/%s", unused(), &cli.BoolFlag{Name: "if-empty", Usage: "only if it holds no messages"}),
		named("exchange", "/api/exchanges/%s/%s", unused()),
		named("user", "/api/users/%[2]s"),
		named("vhost", "/api/vhosts/%[2]s"),
		named("permission", "/api/permissions/%s/%s"),
		named("policy", "/api/policies/%s/%s"),
		named("connection", "/api/connections/%[2]s"),
		leaf("binding", "delete a binding", "", bindingFlags(), deleteBinding),
	}
}

// done sends a request whose answer has no body and prints what was done.
func done(c *cli.Context, method, path string, body any, what string) error {
	if _, err := call(c, method, path, body); err != nil {
		return err
	}
	_, err := fmt.Fprintln(c.App.Writer, what)
	return err
}

func declareQueue(c *cli.Context) error {
	a, err := wantArgs(c, 1, "NAME")
	if err != nil {
		return err
	}
	qargs, err := parseJSONObject(c.String("arguments"), "arguments")
	if err != nil {
		return err
	}
	body := map[string]any{"durable": c.Bool("durable"), "auto_delete": c.Bool("auto-delete"), "arguments": qargs}
	if t := c.String("type"); t != "" {
		body["type"] = t
	}
	return done(c, "PUT", "/api/queues/"+esc(c.String("vhost"))+"/"+esc(a[0]), body, "declared queue "+a[0])
}

func declareExchange(c *cli.Context) error {
	a, err := wantArgs(c, 1, "NAME")
	if err != nil {
		return err
	}
	xargs, err := parseJSONObject(c.String("arguments"), "arguments")
	if err != nil {
		return err
	}
	body := map[string]any{"type": c.String("type"), "durable": c.Bool("durable"), "auto_delete": c.Bool("auto-delete"),
		"internal": c.Bool("internal"), "arguments": xargs}
	return done(c, "PUT", "/api/exchanges/"+esc(c.String("vhost"))+"/"+esc(a[0]), body, "declared exchange "+a[0])
}

// required checks that each flag was given: urfave/cli's own check runs
// before the flags that follow a NAME are applied (args).
func required(c *cli.Context, flags ...string) error {
	for _, f := range flags {
		if !c.IsSet(f) {
			return fmt.Errorf("%s: --%s is required", cmdPath(c), f)
		}
	}
	return nil
}

// bindingPath is the path of the bindings between --source and
// --destination.
func bindingPath(c *cli.Context) (string, error) {
	if err := required(c, "source", "destination"); err != nil {
		return "", err
	}
	kind := map[string]string{"queue": "q", "exchange": "e"}[c.String("destination-type")]
	if kind == "" {
		return "", fmt.Errorf("--destination-type: want queue or exchange, not %q", c.String("destination-type"))
	}
	return "/api/bindings/" + esc(c.String("vhost")) + "/e/" + esc(c.String("source")) + "/" + kind + "/" +
		esc(c.String("destination")), nil
}

func declareBinding(c *cli.Context) error {
	if _, err := wantArgs(c, 0, "no arguments"); err != nil {
		return err
	}
	path, err := bindingPath(c)
	if err != nil {
		return err
	}
	bargs, err := parseJSONObject(c.String("arguments"), "arguments")
	if err != nil {
		return err
	}
	return done(c, "POST", path, map[string]any{"routing_key": c.String("routing-key"), "arguments": bargs},
		fmt.Sprintf("declared binding %s -> %s (%q)", c.String("source"), c.String("destination"), c.String("routing-key")))
}

// deleteBinding deletes every binding between --source and --destination
// with --routing-key, whatever its arguments (their properties key is
// looked up first).
func deleteBinding(c *cli.Context) error {
	if _, err := wantArgs(c, 0, "no arguments"); err != nil {
		return err
	}
	path, err := bindingPath(c)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	data, err := cl.do("GET", path, nil)
	if err != nil {
		return err
	}
	var list []struct {
		RoutingKey    string `json:"routing_key"`
		PropertiesKey string `json:"properties_key"`
	}
	if err := jsonDecode(data, &list); err != nil {
		return err
	}
	n := 0
	for _, b := range list {
		if b.RoutingKey != c.String("routing-key") {
			continue
		}
		if _, err := cl.do("DELETE", path+"/"+esc(b.PropertiesKey), nil); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return &apiError{Status: http.StatusNotFound, Reason: "no such binding"}
	}
	_, err = fmt.Fprintf(c.App.Writer, "deleted %d binding(s)\n", n)
	return err
}

func declareUser(c *cli.Context) error {
	a, err := wantArgs(c, 1, "NAME")
	if err != nil {
		return err
	}
	body := map[string]any{"tags": splitTags(c.String("tags"))}
	if c.IsSet("user-password") {
		body["password"] = c.String("user-password")
	}
	if c.IsSet("password-hash") {
		body["password_hash"] = c.String("password-hash")
	}
	return done(c, "PUT", "/api/users/"+esc(a[0]), body, "declared user "+a[0])
}

func declareVhost(c *cli.Context) error {
	a, err := wantArgs(c, 1, "NAME")
	if err != nil {
		return err
	}
	body := map[string]any{"description": c.String("description"), "tags": splitTags(c.String("tags"))}
	return done(c, "PUT", "/api/vhosts/"+esc(a[0]), body, "declared vhost "+a[0])
}

func declarePermission(c *cli.Context) error {
	a, err := wantArgs(c, 1, "USER")
	if err != nil {
		return err
	}
	body := map[string]any{"configure": c.String("configure"), "write": c.String("write"), "read": c.String("read")}
	return done(c, "PUT", "/api/permissions/"+esc(c.String("vhost"))+"/"+esc(a[0]), body,
		fmt.Sprintf("declared permission of %s in %s", a[0], c.String("vhost")))
}

func declarePolicy(c *cli.Context) error {
	a, err := wantArgs(c, 1, "NAME")
	if err != nil {
		return err
	}
	if err := required(c, "pattern", "definition"); err != nil {
		return err
	}
	def, err := parseJSONObject(c.String("definition"), "definition")
	if err != nil {
		return err
	}
	body := map[string]any{"pattern": c.String("pattern"), "definition": def, "priority": c.Int("priority"),
		"apply-to": c.String("apply-to")}
	return done(c, "PUT", "/api/policies/"+esc(c.String("vhost"))+"/"+esc(a[0]), body, "declared policy "+a[0])
}
