package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// checker is a minimal stand-in for testify's assert and require (the
// module's go.sum does not carry testify's dependencies).
type checker struct{ fatal bool }

var (
	assert  = checker{}
	require = checker{fatal: true}
)

func (c checker) fail(t testing.TB, msg string, extra []any) {
	t.Helper()
	if len(extra) > 0 {
		msg += ": " + fmt.Sprint(extra...)
	}
	if c.fatal {
		t.Fatal(msg)
	}
	t.Error(msg)
}

func (c checker) NoError(t testing.TB, err error, m ...any) {
	t.Helper()
	if err != nil {
		c.fail(t, "unexpected error: "+err.Error(), m)
	}
}

func (c checker) Error(t testing.TB, err error, m ...any) {
	t.Helper()
	if err == nil {
		c.fail(t, "expected an error", m)
	}
}

func (c checker) ErrorIs(t testing.TB, err, target error, m ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		c.fail(t, fmt.Sprintf("error %v is not %v", err, target), m)
	}
}

func (c checker) Equal(t testing.TB, want, got any, m ...any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		c.fail(t, fmt.Sprintf("not equal:\nwant %#v\n got %#v", want, got), m)
	}
}

func (c checker) NotEqual(t testing.TB, a, b any, m ...any) {
	t.Helper()
	if reflect.DeepEqual(a, b) {
		c.fail(t, fmt.Sprintf("unexpectedly equal: %#v", a), m)
	}
}

func (c checker) True(t testing.TB, v bool, m ...any) {
	t.Helper()
	if !v {
		c.fail(t, "expected true", m)
	}
}

func (c checker) False(t testing.TB, v bool, m ...any) {
	t.Helper()
	if v {
		c.fail(t, "expected false", m)
	}
}

func (c checker) Nil(t testing.TB, v any, m ...any) {
	t.Helper()
	if v != nil && !reflect.ValueOf(v).IsNil() {
		c.fail(t, fmt.Sprintf("expected nil, got %#v", v), m)
	}
}

func (c checker) Zero(t testing.TB, v any, m ...any) {
	t.Helper()
	if !reflect.ValueOf(v).IsZero() {
		c.fail(t, fmt.Sprintf("expected zero, got %#v", v), m)
	}
}

func (c checker) Len(t testing.TB, v any, n int, m ...any) {
	t.Helper()
	if l := reflect.ValueOf(v).Len(); l != n {
		c.fail(t, fmt.Sprintf("length %d, want %d", l, n), m)
	}
}

func (c checker) Contains(t testing.TB, s, sub string, m ...any) {
	t.Helper()
	if !strings.Contains(s, sub) {
		c.fail(t, fmt.Sprintf("%q does not contain %q", s, sub), m)
	}
}

func (c checker) NotContains(t testing.TB, s, sub string, m ...any) {
	t.Helper()
	if strings.Contains(s, sub) {
		c.fail(t, fmt.Sprintf("%q contains %q", s, sub), m)
	}
}

func (c checker) JSONEq(t testing.TB, want, got string, m ...any) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal([]byte(want), &a); err != nil {
		c.fail(t, "bad want JSON: "+err.Error(), m)
		return
	}
	if err := json.Unmarshal([]byte(got), &b); err != nil {
		c.fail(t, "bad got JSON: "+err.Error(), m)
		return
	}
	if !reflect.DeepEqual(a, b) {
		c.fail(t, fmt.Sprintf("JSON not equal:\nwant %s\n got %s", want, got), m)
	}
}

var fmtSprintf = fmt.Sprintf
