package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzConfigFile feeds arbitrary bytes to the config file loader: it must
// return a Config or a one-line error, never panic, and an error must name
// the file.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{
		"",
		"data_dir = \"/var/lib/junction\"\n",
		"amqp_listen = \":5673\"\nlog_level = \"debug\"\n",
		"memory_high_watermark = 0.5\ndisk_free_limit = \"1GB\"\n",
		"loopback_users = [\"guest\", \"admin\"]\n",
		"amqp_frame_max = 4096\namqp_heartbeat = \"10s\"\n",
		"[table]\nkey = 1\n",
		"unknown_key = true\n",
		"amqp_channel_max = 99999999999999999999\n",
		"log_format = 'json'\nmqtt_allow_anonymous = true\n",
		"data_dir = \"\\u0000\"\n",
		"= =\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "junction.toml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		env := func(k string) (string, bool) {
			if k == envName(configSetting) {
				return p, true
			}
			return "", false
		}
		c, err := Load(nil, env)
		if err != nil {
			if c != nil {
				t.Fatalf("Load returned both a config and an error: %v", err)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") {
				t.Fatalf("error is not one line: %q", msg)
			}
			return
		}
		if c == nil || c.File != p {
			t.Fatalf("Load gave %+v without an error", c)
		}
	})
}
