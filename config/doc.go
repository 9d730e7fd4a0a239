// Package config holds every setting of the junction binary and builds a
// [Config] from four sources, highest precedence first:
//
//  1. a command-line flag (--data-dir DIR),
//  2. an environment variable (JUNCTION_DATA_DIR=DIR),
//  3. a key in the optional TOML file named by --config or JUNCTION_CONFIG
//     (data-dir = "DIR"),
//  4. the built-in default.
//
// Each setting is declared once, in settings.go; flags, environment
// variables, TOML keys and REFERENCE.md are all derived from that table.
// Regenerate the reference with `go run ./config/gendoc > config/REFERENCE.md`.
package config
