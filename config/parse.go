package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// sizeUnits maps a lower-case size suffix to its multiplier. Decimal units
// (kB, MB, ...) are powers of 1000, binary units (KiB, MiB, ...) of 1024.
var sizeUnits = map[string]float64{
	"":    1,
	"b":   1,
	"k":   1 << 10,
	"kb":  1e3,
	"kib": 1 << 10,
	"m":   1 << 20,
	"mb":  1e6,
	"mib": 1 << 20,
	"g":   1 << 30,
	"gb":  1e9,
	"gib": 1 << 30,
	"t":   1 << 40,
	"tb":  1e12,
	"tib": 1 << 40,
}

// ParseSize parses a byte size such as "16MiB", "50MB", "1.5GiB" or "4096".
// Units are case-insensitive; a space may separate number and unit.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n < 0 {
			return 0, errors.New("size must not be negative")
		}
		return n, nil
	}
	i := strings.IndexFunc(t, func(r rune) bool {
		return (r < '0' || r > '9') && r != '.'
	})
	if i <= 0 {
		return 0, errors.New("not a size, want bytes or e.g. 16MiB, 50MB")
	}
	mult, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if !ok {
		return 0, fmt.Errorf("unknown size unit %q, want B, kB, MB, GB, TB, KiB, MiB, GiB or TiB", strings.TrimSpace(t[i:]))
	}
	f, err := strconv.ParseFloat(t[:i], 64)
	if err != nil {
		return 0, errors.New("not a size, want bytes or e.g. 16MiB, 50MB")
	}
	v := math.Round(f * mult)
	if v > math.MaxInt64 {
		return 0, errors.New("size too large")
	}
	return int64(v), nil
}

// FormatSize renders n bytes in the largest binary or decimal unit that
// divides it exactly, so that ParseSize(FormatSize(n)) == n.
func FormatSize(n int64) string {
	for _, u := range []struct {
		name string
		mult int64
	}{{"TiB", 1 << 40}, {"TB", 1e12}, {"GiB", 1 << 30}, {"GB", 1e9}, {"MiB", 1 << 20}, {"MB", 1e6}, {"KiB", 1 << 10}, {"kB", 1e3}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// parseDuration parses a non-negative Go duration ("60s", "30m", "1h30m").
// A bare number is refused: its unit would be a guess.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("not a duration, want e.g. 10s, 30m, 1h")
	}
	if d < 0 {
		return 0, errors.New("duration must not be negative")
	}
	return d, nil
}

// parseAddr checks a listen address of the form host:port or :port. The
// empty string is valid and means the listener is off.
func parseAddr(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", errors.New("not a listen address, want host:port or :port (empty turns the listener off)")
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || (p == 0 && port != "0") {
		return "", fmt.Errorf("bad port %q, want 0-65535", port)
	}
	return s, nil
}

// parseLevel parses debug, info, warn (or warning) and error.
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, errors.New("want debug, info, warn or error")
}

// parseFormat parses a log format: text or json.
func parseFormat(s string) (string, error) {
	switch f := strings.ToLower(strings.TrimSpace(s)); f {
	case "text", "json":
		return f, nil
	}
	return "", errors.New("want text or json")
}

// parseBool accepts what strconv.ParseBool accepts.
func parseBool(s string) (bool, error) {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return false, errors.New("want true or false")
	}
	return b, nil
}

// parseUint parses an unsigned integer within [lo, hi].
func parseUint(s string, lo, hi uint64) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("want an integer from %d to %d", lo, hi)
	}
	return n, nil
}

// parseFraction parses a number in (0, 1].
func parseFraction(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(f > 0 && f <= 1) {
		return 0, errors.New("want a fraction of RAM greater than 0 and at most 1, e.g. 0.4")
	}
	return f, nil
}

// parseList splits a comma-separated list, dropping blanks.
func parseList(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out, nil
}
