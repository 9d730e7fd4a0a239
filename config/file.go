package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// fileValue is one key of the config file, as a command-line string, and
// the line it was found on (0 if unknown).
type fileValue struct {
	value string
	line  int
}

// readFile parses the flat TOML config file at name. Every key must be a
// setting; values may be strings, integers, floats, booleans or (for
// lists) arrays of strings.
func readFile(name string) (map[string]fileValue, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s:%d: %s", name, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keyLine(data, keys[i]) < keyLine(data, keys[j]) })
	out := make(map[string]fileValue, len(raw))
	for _, k := range keys {
		line := keyLine(data, k)
		if _, ok := lookup(k); !ok || k == configSetting {
			return nil, fmt.Errorf("%s: unknown key %q", where(name, line), k)
		}
		v, err := tomlString(raw[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", where(name, line), k, err)
		}
		out[k] = fileValue{v, line}
	}
	return out, nil
}

// tomlString renders a TOML value as it would be written on the command
// line.
func tomlString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return "", errors.New("lists must hold strings")
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	case map[string]any:
		return "", errors.New("tables are not supported; the file is flat (key = value)")
	}
	return "", fmt.Errorf("unsupported value of type %T", v)
}

// keyLine returns the 1-based line on which the top-level key is assigned,
// or 0 if it cannot be found (a key inside a table, an odd quoting).
func keyLine(data []byte, key string) int {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			return lineOfTable(data, key)
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.Trim(strings.TrimSpace(k), `"'`)
		if k == key {
			return n
		}
	}
	return 0
}

// lineOfTable finds the header line of a table [key].
func lineOfTable(data []byte, key string) int {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "["+key+"]" || strings.HasPrefix(line, "["+key+".") || line == "[["+key+"]]" {
			return n
		}
	}
	return 0
}

// where formats file:line, or just file when the line is unknown.
func where(name string, line int) string {
	if line == 0 {
		return name
	}
	return name + ":" + strconv.Itoa(line)
}
