package stream

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// checker is a minimal assertion helper (testify's go.sum entries for its
// yaml dependency are missing from the module, so it cannot be built yet).
// must stops the test on failure; check records it and goes on.
type checker struct{ fatal bool }

var (
	must  = checker{fatal: true}
	check = checker{}
)

func (c checker) fail(t testing.TB, msg string, args []any) {
	t.Helper()
	if len(args) > 0 {
		if f, ok := args[0].(string); ok {
			msg += ": " + fmt.Sprintf(f, args[1:]...)
		}
	}
	if c.fatal {
		t.Fatal(msg)
	}
	t.Error(msg)
}

func (c checker) NoError(t testing.TB, err error, args ...any) {
	t.Helper()
	if err != nil {
		c.fail(t, fmt.Sprintf("unexpected error: %v", err), args)
	}
}

func (c checker) ErrorIs(t testing.TB, err, target error, args ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		c.fail(t, fmt.Sprintf("error %v is not %v", err, target), args)
	}
}

func (c checker) Equal(t testing.TB, want, got any, args ...any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		c.fail(t, fmt.Sprintf("want %#v, got %#v", want, got), args)
	}
}

func (c checker) True(t testing.TB, ok bool, args ...any) {
	t.Helper()
	if !ok {
		c.fail(t, "want true", args)
	}
}

func (c checker) Len(t testing.TB, v any, n int, args ...any) {
	t.Helper()
	if l := reflect.ValueOf(v).Len(); l != n {
		c.fail(t, fmt.Sprintf("want length %d, got %d", n, l), args)
	}
}

func (c checker) Empty(t testing.TB, v any, args ...any) {
	t.Helper()
	if v != nil && reflect.ValueOf(v).Len() != 0 {
		c.fail(t, fmt.Sprintf("want empty, got %v", v), args)
	}
}

func (c checker) NotEmpty(t testing.TB, v any, args ...any) {
	t.Helper()
	if v == nil || reflect.ValueOf(v).Len() == 0 {
		c.fail(t, "want not empty", args)
	}
}
