package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// run parses args as `junction serve` would and loads the configuration
// with the process environment.
func run(t *testing.T, args ...string) (*Config, error) {
	t.Helper()
	var cfg *Config
	var loadErr error
	app := &cli.App{
		Name:           "junction",
		Flags:          Flags(),
		ExitErrHandler: func(*cli.Context, error) {},
		Action: func(c *cli.Context) error {
			cfg, loadErr = LoadOS(c)
			return nil
		},
	}
	if err := app.Run(append([]string{"junction"}, args...)); err != nil {
		return nil, err
	}
	return cfg, loadErr
}

// writeFile writes a config file in a temp dir and returns its path.
func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "junction.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	for _, s := range settings {
		if err := s.set(&Config{}, s.def); err != nil {
			t.Errorf("default of %s: %v", s.name, err)
		}
	}
	c := Defaults()
	want := Config{
		DataDir: "./data", AMQPListen: ":5672", AMQPSListen: ":5671", MQTTListen: ":1883",
		MQTTSListen: ":8883", MQTTWSListen: ":15675", AWSListen: ":4566", MgmtListen: ":15672",
		MetricsListen: ":15692", LogLevel: 4, LogFormat: "text", AMQPFrameMax: 131072,
		AMQPChannelMax: 2047, AMQPHeartbeat: 60 * time.Second, MaxMessageSize: 16 << 20,
		ConsumerTimeout: 30 * time.Minute, HandshakeTimeout: 10 * time.Second,
		MemoryHighWatermark: 0.4, DiskFreeLimit: 50e6, LoopbackUsers: []string{"guest"},
		MQTTDefaultUser: "guest", MQTTSysInterval: 10 * time.Second, MQTTMaxPacketSize: 16 << 20,
		AWSMaxBodySize: 8 << 20, HTTPMaxHeaderSize: 64 << 10, HTTPReadTimeout: 30 * time.Second,
		HTTPIdleTimeout: 2 * time.Minute,
	}
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("Defaults() = %+v\nwant %+v", *c, want)
	}
	got, err := Load(nil, nil)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("Load(nil, nil) = %+v, %v; want the defaults", got, err)
	}
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, "data-dir = \"/from/file\"\namqp-heartbeat = \"5s\"\n")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"default", nil, nil, "./data"},
		{"file", map[string]string{"JUNCTION_CONFIG": file}, nil, "/from/file"},
		{"env over file", map[string]string{"JUNCTION_CONFIG": file, "JUNCTION_DATA_DIR": "/from/env"}, nil, "/from/env"},
		{"flag over env", map[string]string{"JUNCTION_DATA_DIR": "/from/env"}, []string{"--data-dir", "/from/flag"}, "/from/flag"},
		{"flag over env and file", map[string]string{"JUNCTION_CONFIG": file, "JUNCTION_DATA_DIR": "/from/env"},
			[]string{"--data-dir=/from/flag"}, "/from/flag"},
		{"--config flag", nil, []string{"--config", file}, "/from/file"},
		{"env over default", map[string]string{"JUNCTION_DATA_DIR": "/from/env"}, nil, "/from/env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("JUNCTION_CONFIG", "")
			t.Setenv("JUNCTION_DATA_DIR", "")
			os.Unsetenv("JUNCTION_DATA_DIR")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := run(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if c.DataDir != tt.want {
				t.Errorf("DataDir = %q, want %q", c.DataDir, tt.want)
			}
		})
	}
}

func TestEnvEqualsFlag(t *testing.T) {
	dir := t.TempDir()
	byFlag, err := run(t, "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("JUNCTION_DATA_DIR", dir)
	byEnv, err := run(t)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(byFlag, byEnv) {
		t.Errorf("--data-dir gives %+v, JUNCTION_DATA_DIR gives %+v", byFlag, byEnv)
	}
}

// TestEverySetting sets each setting through each source and checks that
// the three agree, so that no setting lacks a flag, a variable or a key.
func TestEverySetting(t *testing.T) {
	values := map[kind]string{
		kindString: "alice", kindPath: "/some/path", kindAddr: "127.0.0.1:1", kindBool: "true",
		kindDuration: "7s", kindSize: "3KiB", kindInt: "5000", kindFraction: "0.5",
		kindList: "a,b", kindLevel: "debug", kindFormat: "json",
	}
	for _, s := range settings {
		if strings.HasSuffix(s.name, "-tls-cert") || strings.HasSuffix(s.name, "-tls-key") ||
			s.name == "tls-cert" || s.name == "tls-key" || s.name == "tls-ca" {
			continue // pairs; covered by TestTLSPairs
		}
		t.Run(s.name, func(t *testing.T) {
			v := values[s.kind]
			byFlag, err := Load(flagMap{s.name: v}, nil)
			if err != nil {
				t.Fatalf("flag: %v", err)
			}
			byEnv, err := Load(nil, envMap{envName(s.name): v}.lookup)
			if err != nil {
				t.Fatalf("env: %v", err)
			}
			byFile, err := Load(nil, envMap{"JUNCTION_CONFIG": writeFile(t, s.name+" = \""+v+"\"\n")}.lookup)
			if err != nil {
				t.Fatalf("file: %v", err)
			}
			byFlag.File, byFile.File = "", ""
			if reflect.DeepEqual(byFlag, Defaults()) {
				t.Errorf("setting %s=%s changed nothing", s.name, v)
			}
			if !reflect.DeepEqual(byFlag, byEnv) || !reflect.DeepEqual(byFlag, byFile) {
				t.Errorf("flag %+v\nenv %+v\nfile %+v", byFlag, byEnv, byFile)
			}
		})
	}
}

// flagMap is a FlagSource for tests: every key is set.
type flagMap map[string]string

func (m flagMap) IsSet(name string) bool        { _, ok := m[name]; return ok }
func (m flagMap) String(name string) string     { return m[name] }
func (m envMap) lookup(k string) (string, bool) { v, ok := m[k]; return v, ok }

// envMap is an environment for tests.
type envMap map[string]string
