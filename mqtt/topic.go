package mqtt

import "strings"

// The MQTT ↔ AMQP topic mapping is RabbitMQ's (rabbit_mqtt_util to_amqp and
// to_mqtt): MQTT "/" is the AMQP word separator ".", MQTT "+" is AMQP "*",
// and "#" is "#" in both. The mapping is not a bijection: a "." inside an
// MQTT topic level stays "." and so comes back as "/"; RabbitMQ behaves the
// same way.

// TopicToKey maps an MQTT topic name or filter to an AMQP routing or binding
// key: "/" becomes "." and "+" becomes "*".
func TopicToKey(topic string) string {
	if !strings.ContainsAny(topic, "/+") {
		return topic
	}
	b := []byte(topic)
	for i, c := range b {
		switch c {
		case '/':
			b[i] = '.'
		case '+':
			b[i] = '*'
		}
	}
	return string(b)
}

// KeyToTopic maps an AMQP routing or binding key to an MQTT topic: "*"
// becomes "+" and "." becomes "/".
func KeyToTopic(key string) string {
	if !strings.ContainsAny(key, ".*") {
		return key
	}
	b := []byte(key)
	for i, c := range b {
		switch c {
		case '.':
			b[i] = '/'
		case '*':
			b[i] = '+'
		}
	}
	return string(b)
}

// sharePrefix starts a shared subscription filter: $share/{group}/{filter}
// (MQTT 5 4.8.2).
const sharePrefix = "$share/"

// plainFilter returns the topic filter of a subscription: the filter itself,
// or the part after the group of a shared subscription. ok is false for a
// malformed shared filter.
func plainFilter(filter string) (string, bool) {
	if !strings.HasPrefix(filter, sharePrefix) {
		return filter, true
	}
	_, f, ok := strings.Cut(filter[len(sharePrefix):], "/")
	return f, ok && f != ""
}

// bridgeable reports whether messages from other faces may match filter: it
// is not a "$" topic ($SYS and the like, which the core never carries).
// [MQTT-4.7.2-1]: wildcards at the first level do not match "$" topics.
func bridgeable(filter string) bool {
	return filter != "" && filter[0] != '$'
}

// validTopicName reports whether topic may be published to MQTT subscribers:
// not empty, no wildcards, no NUL [MQTT-3.3.2-2] [MQTT-4.7.3-1].
func validTopicName(topic string) bool {
	return topic != "" && !strings.ContainsAny(topic, "+#\x00")
}
