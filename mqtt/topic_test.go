package mqtt

import (
	"strings"
	"testing"
)

func TestTopicKeyMapping(t *testing.T) {
	cases := []struct{ topic, key string }{
		{"a/b/c", "a.b.c"},
		{"a/+/c", "a.*.c"},
		{"a/#", "a.#"},
		{"#", "#"},
		{"/a//b/", ".a..b."},
		{"plain", "plain"},
	}
	for _, tc := range cases {
		t.Run(tc.topic, func(t *testing.T) {
			if got := TopicToKey(tc.topic); got != tc.key {
				t.Fatalf("TopicToKey(%q) = %q, want %q", tc.topic, got, tc.key)
			}
			if got := KeyToTopic(tc.key); got != tc.topic {
				t.Fatalf("KeyToTopic(%q) = %q, want %q", tc.key, got, tc.topic)
			}
		})
	}
	// RabbitMQ's mapping is not a bijection: "." in a topic level stays.
	if got := KeyToTopic(TopicToKey("v1.2/x")); got != "v1/2/x" {
		t.Fatalf("got %q", got)
	}
}

func TestPlainFilter(t *testing.T) {
	for in, want := range map[string]string{"a/b": "a/b", "$share/g/a/#": "a/#", "$share/g/": ""} {
		got, ok := plainFilter(in)
		if got != want || ok != (want != "") {
			t.Fatalf("plainFilter(%q) = %q, %v", in, got, ok)
		}
	}
}

// FuzzTopicKey checks the mapping both ways: it never panics, preserves
// length and levels, leaves no "/" or "+" in keys and no "." or "*" in
// topics, and round-trips every topic without "." or "*".
func FuzzTopicKey(f *testing.F) {
	for _, s := range []string{"a/b", "a/+/#", "", "/", "a.b", "*", "$SYS/#", "ü/ß"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := TopicToKey(s)
		if len(k) != len(s) || strings.ContainsAny(k, "/+") {
			t.Fatalf("TopicToKey(%q) = %q", s, k)
		}
		if strings.Count(k, ".") != strings.Count(s, "/")+strings.Count(s, ".") {
			t.Fatalf("levels changed: %q → %q", s, k)
		}
		tp := KeyToTopic(s)
		if len(tp) != len(s) || strings.ContainsAny(tp, ".*") {
			t.Fatalf("KeyToTopic(%q) = %q", s, tp)
		}
		if !strings.ContainsAny(s, ".*") && KeyToTopic(k) != s {
			t.Fatalf("round trip %q → %q → %q", s, k, KeyToTopic(k))
		}
		if !strings.ContainsAny(s, "/+") && TopicToKey(tp) != s {
			t.Fatalf("round trip %q → %q → %q", s, tp, TopicToKey(tp))
		}
	})
}
