package config

import (
	"errors"
	"fmt"
	"os"
)

// FlagSource is what Load needs of the command line; *cli.Context
// satisfies it. IsSet must report only flags given on the command line.
type FlagSource interface {
	IsSet(name string) bool
	String(name string) string
}

// Env looks up an environment variable; os.LookupEnv is one.
type Env func(key string) (string, bool)

// Load builds a Config with precedence flag > environment > config file >
// default. The config file is named by the "config" flag or JUNCTION_CONFIG;
// without either, no file is read. Errors are one line and name the
// setting, the value and where the value came from.
func Load(flags FlagSource, env Env) (*Config, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	file, _ := env(envName(configSetting))
	if flags != nil && flags.IsSet(configSetting) {
		file = flags.String(configSetting)
	}
	var fromFile map[string]fileValue
	if file != "" {
		var err error
		if fromFile, err = readFile(file); err != nil {
			return nil, err
		}
	}
	c := &Config{File: file}
	for _, s := range settings {
		v, src := s.def, "default"
		if fv, ok := fromFile[s.name]; ok {
			v, src = fv.value, fmt.Sprintf("%s:%d", file, fv.line)
		}
		if ev, ok := env(envName(s.name)); ok {
			v, src = ev, "$"+envName(s.name)
		}
		if flags != nil && flags.IsSet(s.name) {
			v, src = flags.String(s.name), "--"+s.name
		}
		if err := s.set(c, v); err != nil {
			return nil, fmt.Errorf("%s %q (from %s): %w", s.name, v, src, err)
		}
	}
	if err := c.checkPairs(); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadOS is Load with the process environment.
func LoadOS(flags FlagSource) (*Config, error) {
	return Load(flags, os.LookupEnv)
}

// checkPairs refuses a certificate without its key and the reverse.
func (c *Config) checkPairs() error {
	for _, p := range tlsPairs {
		cert, key := c.path(p[0]), c.path(p[1])
		switch {
		case cert != "" && key == "":
			return fmt.Errorf("%s is set but %s is not", p[0], p[1])
		case cert == "" && key != "":
			return fmt.Errorf("%s is set but %s is not", p[1], p[0])
		}
	}
	if c.TLSCA != "" && c.TLSCert == "" && c.AMQPSTLSCert == "" && c.MQTTSTLSCert == "" && c.MgmtTLSCert == "" &&
		c.MetricsTLSCert == "" {
		return errors.New("tls-ca is set but no certificate is (tls-cert and tls-key)")
	}
	return nil
}

// path returns the value of one of the TLS file settings.
func (c *Config) path(name string) string {
	switch name {
	case "tls-cert":
		return c.TLSCert
	case "tls-key":
		return c.TLSKey
	case "amqps-tls-cert":
		return c.AMQPSTLSCert
	case "amqps-tls-key":
		return c.AMQPSTLSKey
	case "mqtts-tls-cert":
		return c.MQTTSTLSCert
	case "mqtts-tls-key":
		return c.MQTTSTLSKey
	case "mgmt-tls-cert":
		return c.MgmtTLSCert
	case "mgmt-tls-key":
		return c.MgmtTLSKey
	case "metrics-tls-cert":
		return c.MetricsTLSCert
	case "metrics-tls-key":
		return c.MetricsTLSKey
	}
	return ""
}
