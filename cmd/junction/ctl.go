package main

import (
	"fmt"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/junctionmq/junction/config"
)

// ctlCommand is a rabbitmqctl-compatible command for what operators and
// test suites (amqp091-go's, through RABBITMQ_RABBITMQCTL_PATH) ask of a
// running RabbitMQ node, over the management API:
//
//	junction ctl set_vm_memory_high_watermark 0.4
//	junction ctl set_vm_memory_high_watermark absolute 2GB
func ctlCommand() *cli.Command {
	return &cli.Command{
		Name:  "ctl",
		Usage: "rabbitmqctl-compatible commands against a running broker (set_vm_memory_high_watermark)",
		Subcommands: []*cli.Command{
			leaf("set_vm_memory_high_watermark", "set the memory high watermark: a fraction of RAM, or absolute SIZE",
				"FRACTION | absolute SIZE", nil, setWatermark),
		},
	}
}

// setWatermark is rabbitmqctl set_vm_memory_high_watermark.
func setWatermark(c *cli.Context) error {
	a, err := args(c)
	if err != nil {
		return err
	}
	var body map[string]any
	switch {
	case len(a) == 1:
		f, err := strconv.ParseFloat(a[0], 64)
		if err != nil || f < 0 || f > 1 {
			return fmt.Errorf("set_vm_memory_high_watermark: %q is not a fraction between 0 and 1", a[0])
		}
		body = map[string]any{"fraction": f}
	case len(a) == 2 && a[0] == "absolute":
		n, err := config.ParseSize(a[1])
		if err != nil || n < 0 {
			return fmt.Errorf("set_vm_memory_high_watermark absolute: %q is not a size", a[1])
		}
		body = map[string]any{"absolute": n}
	default:
		return fmt.Errorf("usage: junction ctl set_vm_memory_high_watermark FRACTION | absolute SIZE")
	}
	data, err := call(c, "PUT", "/api/junction/memory-high-watermark", body)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, data)
	}
	var got struct {
		Absolute uint64 `json:"absolute"`
	}
	if err := jsonDecode(data, &got); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.App.Writer, "Setting memory threshold to %d bytes\n", got.Absolute)
	return err
}
