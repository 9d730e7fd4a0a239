package mqtt

import (
	"fmt"
	"strconv"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/junctionmq/junction/core/message"
)

// headerQoS is the header RabbitMQ's MQTT plugin sets to the publish QoS.
const headerQoS = "x-mqtt-publish-qos"

// toCore converts an MQTT publish (or will) into a core message for the
// exchange, as RabbitMQ's MQTT plugin does for AMQP 0-9-1 consumers: routing
// key mapped from the topic, QoS ≥ 1 persistent (delivery mode 2), QoS 0
// transient; MQTT 5 content type → content-type, correlation data →
// correlation-id, response topic → reply-to (as a routing key), user
// properties → headers, message expiry → expiration in milliseconds. The
// MQTT view is kept whole in m.MQTT. The payload is shared, not copied:
// mochi allocates it per packet and never changes it.
func toCore(exchange, key string, pk packets.Packet) *message.Message {
	qos := pk.FixedHeader.Qos
	// The message, its MQTT metadata and its first header in one allocation
	// (a publish without user properties needs no other).
	c := &coreCopy{m: message.Message{
		Exchange:   exchange,
		RoutingKey: key,
		Body:       pk.Payload,
		Origin:     message.FaceMQTT,
	}}
	m := &c.m
	p := &m.Props
	p.Flags = message.FlagDeliveryMode | message.FlagHeaders
	p.DeliveryMode = 1
	if qos > 0 {
		p.DeliveryMode = 2
	}
	pp := &pk.Properties
	if len(pp.User) == 0 {
		p.Headers = c.hdr[:0:1]
	} else {
		p.Headers = make(message.Table, 0, 1+len(pp.User))
	}
	p.Headers = append(p.Headers, message.Field{Key: headerQoS, Value: int8(qos)})
	c.meta = message.MQTTMeta{Topic: userTopic(pk.TopicName), QoS: qos, Retain: pk.FixedHeader.Retain}
	meta := &c.meta
	m.MQTT = meta
	if pp.ContentType != "" {
		p.Flags |= message.FlagContentType
		p.ContentType, meta.ContentType = pp.ContentType, pp.ContentType
	}
	if len(pp.CorrelationData) > 0 {
		p.Flags |= message.FlagCorrelationID
		p.CorrelationID = string(pp.CorrelationData)
		meta.CorrelationData = pp.CorrelationData
	}
	if pp.ResponseTopic != "" {
		p.Flags |= message.FlagReplyTo
		p.ReplyTo = TopicToKey(pp.ResponseTopic)
		meta.ResponseTopic = pp.ResponseTopic
	}
	if len(pp.User) > 0 {
		meta.UserProperties = make([]message.UserProperty, len(pp.User))
		for i, u := range pp.User {
			meta.UserProperties[i] = message.UserProperty{Key: u.Key, Value: u.Val}
			p.Headers = append(p.Headers, message.Field{Key: u.Key, Value: u.Val})
		}
	}
	if pp.MessageExpiryInterval > 0 {
		p.Flags |= message.FlagExpiration
		p.Expiration = strconv.FormatUint(uint64(pp.MessageExpiryInterval)*1000, 10)
		meta.HasExpiry, meta.ExpirySeconds = true, pp.MessageExpiryInterval
	}
	if pp.PayloadFormatFlag {
		meta.PayloadFormat = pp.PayloadFormat
	}
	return m
}

// coreCopy is what toCore allocates for a publish.
type coreCopy struct {
	m    message.Message
	meta message.MQTTMeta
	hdr  [1]message.Field
}

// fromCore converts a core message from another face into an MQTT publish
// on topic: persistent (delivery mode 2) is QoS 1, transient QoS 0, never
// retained; the AMQP properties map back as toCore maps them (headers with
// string-like values become user properties, other values are formatted).
func fromCore(m *message.Message, topic string, now time.Time) packets.Packet {
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish},
		TopicName:   topic,
		Payload:     m.Body,
		Created:     now.Unix(),
	}
	if m.Props.Persistent() {
		pk.FixedHeader.Qos = 1
		pk.PacketID = 1 // validity only: the inline client's publish is never acknowledged
	}
	p := &m.Props
	pp := &pk.Properties
	if p.Flags&message.FlagContentType != 0 {
		pp.ContentType = p.ContentType
	}
	if p.Flags&message.FlagCorrelationID != 0 && p.CorrelationID != "" {
		pp.CorrelationData = []byte(p.CorrelationID)
	}
	if p.Flags&message.FlagReplyTo != 0 && p.ReplyTo != "" {
		pp.ResponseTopic = KeyToTopic(p.ReplyTo)
	}
	if p.Flags&message.FlagExpiration != 0 {
		if ms, err := strconv.ParseUint(p.Expiration, 10, 64); err == nil {
			pp.MessageExpiryInterval = uint32(min((ms+999)/1000, 1<<32-1))
			if pp.MessageExpiryInterval == 0 {
				pp.MessageExpiryInterval = 1
			}
		}
	}
	if mm := m.MQTT; mm != nil {
		pp.PayloadFormat, pp.PayloadFormatFlag = mm.PayloadFormat, mm.PayloadFormat != 0
		if len(mm.CorrelationData) > 0 {
			pp.CorrelationData = mm.CorrelationData
		}
	}
	pp.User = userProperties(m)
	return pk
}

// userProperties maps headers (or the MQTT view's user properties) to MQTT 5
// user properties.
func userProperties(m *message.Message) []packets.UserProperty {
	if m.MQTT != nil && len(m.MQTT.UserProperties) > 0 {
		out := make([]packets.UserProperty, len(m.MQTT.UserProperties))
		for i, u := range m.MQTT.UserProperties {
			out[i] = packets.UserProperty{Key: u.Key, Val: u.Value}
		}
		return out
	}
	var out []packets.UserProperty
	for _, f := range m.Props.Headers {
		if f.Key == headerQoS {
			continue
		}
		var v string
		switch x := f.Value.(type) {
		case string:
			v = x
		case []byte:
			v = string(x)
		case nil:
		default:
			v = fmt.Sprint(x)
		}
		out = append(out, packets.UserProperty{Key: f.Key, Val: v})
	}
	return out
}
