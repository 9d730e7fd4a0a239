package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFileValues(t *testing.T) {
	p := writeFile(t, `# a comment
amqp-frame-max = 8192
memory-high-watermark = 0.6
aws-accept-any-key = true
loopback-users = ["guest", "admin"]
disk-free-limit = 1_000_000
"log-level" = "error"
consumer-timeout = "0s"
amqps-listen = ""
`)
	c, err := Load(nil, envMap{"JUNCTION_CONFIG": p}.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if c.File != p || c.AMQPFrameMax != 8192 || c.MemoryHighWatermark != 0.6 || !c.AWSAcceptAnyKey ||
		!reflect.DeepEqual(c.LoopbackUsers, []string{"guest", "admin"}) || c.DiskFreeLimit != 1e6 ||
		c.LogLevel.String() != "ERROR" || c.ConsumerTimeout != 0 || c.AMQPSListen != "" {
		t.Errorf("got %+v", c)
	}
}

// TestErrors checks that every error is one line naming what is wrong.
func TestErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.toml")
	tests := []struct {
		name  string
		flags flagMap
		env   envMap
		file  string // config file body, if any
		want  []string
	}{
		{"unknown key", nil, nil, "data-dir = \"x\"\n\nbogus-key = 1\n", []string{"junction.toml:3:", `unknown key "bogus-key"`}},
		{"config key in file", nil, nil, "config = \"x\"\n", []string{"junction.toml:1:", `unknown key "config"`}},
		{"table", nil, nil, "data-dir = \"x\"\n[amqp]\nlisten = \":1\"\n", []string{"junction.toml:2:", `unknown key "amqp"`}},
		{"syntax", nil, nil, "data-dir = \n", []string{"junction.toml:1:"}},
		{"bad value in file", nil, nil, "\namqp-heartbeat = \"soon\"\n", []string{"amqp-heartbeat", `"soon"`, "junction.toml:2", "duration"}},
		{"wrong type in file", nil, nil, "loopback-users = [1, 2]\n", []string{"junction.toml:1:", "loopback-users", "strings"}},
		{"unreadable file", flagMap{"config": missing}, nil, "", []string{"config file", "missing.toml"}},
		{"bad duration", flagMap{"handshake-timeout": "10"}, nil, "", []string{"handshake-timeout", `"10"`, "--handshake-timeout", "duration"}},
		{"negative duration", flagMap{"amqp-heartbeat": "-1s"}, nil, "", []string{"amqp-heartbeat", "negative"}},
		{"bad size", nil, envMap{"JUNCTION_MAX_MESSAGE_SIZE": "16 MeB"}, "", []string{"max-message-size", `"16 MeB"`, "$JUNCTION_MAX_MESSAGE_SIZE", "unit"}},
		{"bad address", flagMap{"amqp-listen": "5672"}, nil, "", []string{"amqp-listen", `"5672"`, "host:port"}},
		{"bad port", flagMap{"mqtt-listen": ":99999"}, nil, "", []string{"mqtt-listen", "port"}},
		{"bad level", flagMap{"log-level": "loud"}, nil, "", []string{"log-level", `"loud"`, "debug, info, warn or error"}},
		{"bad format", flagMap{"log-format": "xml"}, nil, "", []string{"log-format", "text or json"}},
		{"bad bool", nil, envMap{"JUNCTION_AWS_ACCEPT_ANY_KEY": "maybe"}, "", []string{"aws-accept-any-key", "true or false"}},
		{"frame-max too small", flagMap{"amqp-frame-max": "100"}, nil, "", []string{"amqp-frame-max", "4096"}},
		{"channel-max too big", flagMap{"amqp-channel-max": "70000"}, nil, "", []string{"amqp-channel-max", "65535"}},
		{"watermark", flagMap{"memory-high-watermark": "40%"}, nil, "", []string{"memory-high-watermark", "fraction"}},
		{"cert without key", flagMap{"tls-cert": "c.pem"}, nil, "", []string{"tls-cert is set but tls-key is not"}},
		{"key without cert", flagMap{"mqtts-tls-key": "k.pem"}, nil, "", []string{"mqtts-tls-key is set but mqtts-tls-cert is not"}},
		{"ca without cert", flagMap{"tls-ca": "ca.pem"}, nil, "", []string{"tls-ca is set but no certificate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := envMap{}
			for k, v := range tt.env {
				env[k] = v
			}
			if tt.file != "" {
				env["JUNCTION_CONFIG"] = writeFile(t, tt.file)
			}
			_, err := Load(tt.flags, env.lookup)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error has more than one line: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"4096", 4096, true}, {"16MiB", 16 << 20, true}, {"50MB", 50e6, true},
		{"50mb", 50e6, true}, {"1 GiB", 1 << 30, true}, {"1.5KiB", 1536, true}, {"2kB", 2000, true},
		{"3B", 3, true}, {"1TiB", 1 << 40, true}, {"512k", 512 << 10, true},
		{"", 0, false}, {"MB", 0, false}, {"-1", 0, false}, {"12QB", 0, false}, {"1.2.3MB", 0, false},
		{"99999999999TiB", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	for _, n := range []int64{0, 1, 1000, 1024, 16 << 20, 50e6, 1 << 40, 1234567} {
		if got, err := ParseSize(FormatSize(n)); err != nil || got != n {
			t.Errorf("ParseSize(FormatSize(%d)=%q) = %d, %v", n, FormatSize(n), got, err)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"60s", time.Minute, true}, {"30m", 30 * time.Minute, true}, {"1h30m", 90 * time.Minute, true},
		{"0s", 0, true}, {"0", 0, true}, {" 10s ", 10 * time.Second, true},
		{"60", 0, false}, {"", 0, false}, {"-5s", 0, false}, {"soon", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseAddr(t *testing.T) {
	for _, ok := range []string{"", ":5672", "127.0.0.1:0", "[::1]:5672", "localhost:1883", "0.0.0.0:65535"} {
		if _, err := parseAddr(ok); err != nil {
			t.Errorf("parseAddr(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"5672", "localhost", ":http", ":65536", ":-1", "::1:5672"} {
		if _, err := parseAddr(bad); err == nil {
			t.Errorf("parseAddr(%q): no error", bad)
		}
	}
}
