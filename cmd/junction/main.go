// Command junction is the Junction message broker: one process that speaks
// AMQP 0-9-1, MQTT and the AWS SQS, SNS and Kinesis APIs over one core.
//
//	junction serve [flags]   run the broker (see config/REFERENCE.md)
//	junction version         print the version
//
// and, through the management HTTP API (--url, --user, --password,
// --vhost, --json; admin*.go):
//
//	junction list queues|exchanges|bindings|users|vhosts|permissions|policies|connections|channels|consumers
//	junction declare queue|exchange|binding|user|vhost|permission|policy ...
//	junction delete queue|exchange|binding|user|vhost|permission|policy|connection ...
//	junction close connection NAME / junction purge queue NAME / junction overview
//	junction export [FILE] / junction import FILE
//	junction publish --exchange X --routing-key K --payload P / junction get QUEUE
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/junctionmq/junction/config"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	if err := newApp(os.Stdout, os.Stderr).RunContext(context.Background(), os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "junction: %v\n", oneLine(err))
		os.Exit(1)
	}
}

// newApp builds the command line. It never calls os.Exit itself: errors,
// including bad flags, are returned for main to print on one line.
func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:            "junction",
		Usage:           "a message broker for AMQP 0-9-1, MQTT and the AWS SQS, SNS and Kinesis APIs",
		Version:         version,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError:    usageError,
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return fmt.Errorf("unknown command %q (try serve, version, list, declare or --help)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Commands: append([]*cli.Command{
			{
				Name:         "serve",
				Usage:        "run the broker",
				Flags:        config.Flags(),
				OnUsageError: usageError,
				Action: func(c *cli.Context) error {
					if c.Args().Present() {
						return fmt.Errorf("serve: unexpected argument %q", c.Args().First())
					}
					cfg, err := config.LoadOS(c)
					if err != nil {
						return err
					}
					return serve(c.Context, cfg, stderr)
				},
			},
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					_, err := fmt.Fprintf(stdout, "junction %s\n", version)
					return err
				},
			},
		}, append(adminCommands(), ctlCommand())...),
	}
}

// usageError returns a bad flag as a plain error instead of printing the
// whole help text.
func usageError(_ *cli.Context, err error, _ bool) error {
	return err
}

// oneLine keeps an error message to its first line.
func oneLine(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}
