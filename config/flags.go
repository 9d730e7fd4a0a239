package config

import (
	"github.com/urfave/cli/v2"
)

// Flags returns a fresh set of command-line flags, one per setting plus
// --config. Call it once per cli.App: cli flags remember whether they were
// set. Defaults are shown in --help but applied by Load, not by cli, so
// that the environment and the config file can sit between the two.
func Flags() []cli.Flag {
	flags := []cli.Flag{&cli.StringFlag{
		Name:      configSetting,
		Usage:     "TOML config file [$" + envName(configSetting) + "]",
		TakesFile: true,
	}}
	for _, s := range settings {
		usage := s.usage + " [$" + envName(s.name) + "]"
		if s.kind == kindBool {
			flags = append(flags, &cli.BoolFlag{Name: s.name, Usage: usage})
			continue
		}
		flags = append(flags, &cli.StringFlag{
			Name:        s.name,
			Usage:       usage,
			Value:       s.def,
			DefaultText: s.def, // unquoted; empty shows no default
			TakesFile:   s.kind == kindPath,
		})
	}
	return flags
}
