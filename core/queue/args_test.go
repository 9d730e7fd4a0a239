package queue

import (
	"errors"
	"testing"
	"time"

	"github.com/junctionmq/junction/core/message"
)

func TestParseArgsErrors(t *testing.T) {
	dlx := message.Field{Key: "x-dead-letter-exchange", Value: "dlx"}
	tests := []struct {
		name string
		args message.Table
		want string
	}{
		{"max-length negative", message.Table{{Key: "x-max-length", Value: int32(-1)}},
			"invalid arg 'x-max-length' for queue 'q' in vhost '/': {value_negative,-1}"},
		{"max-length string", message.Table{{Key: "x-max-length", Value: "10"}},
			`invalid arg 'x-max-length' for queue 'q' in vhost '/': "expected integer, got longstr"`},
		{"max-length-bytes negative", message.Table{{Key: "x-max-length-bytes", Value: int64(-5)}},
			"invalid arg 'x-max-length-bytes' for queue 'q' in vhost '/': {value_negative,-5}"},
		{"ttl negative", message.Table{{Key: "x-message-ttl", Value: int64(-1)}},
			"invalid arg 'x-message-ttl' for queue 'q' in vhost '/': {value_negative,-1}"},
		{"ttl too large", message.Table{{Key: "x-message-ttl", Value: int64(4294967296)}},
			"invalid arg 'x-message-ttl' for queue 'q' in vhost '/': {value_too_large,4294967296,4294967295}"},
		{"expires zero", message.Table{{Key: "x-expires", Value: int32(0)}},
			"invalid arg 'x-expires' for queue 'q' in vhost '/': {value_zero,0}"},
		{"expires negative", message.Table{{Key: "x-expires", Value: int32(-3)}},
			"invalid arg 'x-expires' for queue 'q' in vhost '/': {value_negative,-3}"},
		{"overflow bad", message.Table{{Key: "x-overflow", Value: "drop-tail"}},
			"invalid arg 'x-overflow' for queue 'q' in vhost '/': invalid_overflow"},
		{"overflow type", message.Table{{Key: "x-overflow", Value: int32(1)}},
			"invalid arg 'x-overflow' for queue 'q' in vhost '/': {unacceptable_type,signedint}"},
		{"dlx type", message.Table{{Key: "x-dead-letter-exchange", Value: true}},
			"invalid arg 'x-dead-letter-exchange' for queue 'q' in vhost '/': {unacceptable_type,bool}"},
		{"dlrk without dlx", message.Table{{Key: "x-dead-letter-routing-key", Value: "k"}},
			"invalid arg 'x-dead-letter-routing-key' for queue 'q' in vhost '/': routing_key_but_no_dlx_defined"},
		{"max-priority too big", message.Table{{Key: "x-max-priority", Value: int32(256)}},
			"invalid arg 'x-max-priority' for queue 'q' in vhost '/': {max_value_exceeded,256}"},
		{"max-priority negative", message.Table{{Key: "x-max-priority", Value: int8(-1)}},
			"invalid arg 'x-max-priority' for queue 'q' in vhost '/': {value_negative,-1}"},
		{"sac type", message.Table{{Key: "x-single-active-consumer", Value: "true"}},
			"invalid arg 'x-single-active-consumer' for queue 'q' in vhost '/': {unacceptable_type,longstr}"},
		{"delivery-limit negative", message.Table{dlx, {Key: "x-delivery-limit", Value: int64(-2)}},
			"invalid arg 'x-delivery-limit' for queue 'q' in vhost '/': {value_negative,-2}"},
		{"queue type", message.Table{{Key: "x-queue-type", Value: "mirrored"}},
			`invalid arg 'x-queue-type' for queue 'q' in vhost '/': "unsupported queue type 'mirrored'"`},
		{"quorum priority", message.Table{{Key: "x-queue-type", Value: "quorum"}, {Key: "x-max-priority", Value: int32(5)}},
			"invalid arg 'x-max-priority' for queue 'q' in vhost '/' of queue type rabbit_quorum_queue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseQueueArgs("/", "q", tt.args)
			eq(t, tt.want, errText(err))
			var ae *ArgError
			eq(t, true, errors.As(err, &ae))
		})
	}
}

func TestParseArgsValues(t *testing.T) {
	a, err := ParseArgs(message.Table{
		{Key: "x-message-ttl", Value: int32(1500)},
		{Key: "x-expires", Value: int64(60000)},
		{Key: "x-max-length", Value: int16(10)},
		{Key: "x-max-length-bytes", Value: uint32(1 << 20)},
		{Key: "x-overflow", Value: "reject-publish-dlx"},
		{Key: "x-dead-letter-exchange", Value: ""},
		{Key: "x-dead-letter-routing-key", Value: "dead"},
		{Key: "x-max-priority", Value: uint8(10)},
		{Key: "x-single-active-consumer", Value: true},
		{Key: "x-delivery-limit", Value: int32(3)},
		{Key: "x-unknown", Value: "ignored"},
	})
	must(t, err)
	eq(t, 1500*time.Millisecond, a.MessageTTL)
	eq(t, time.Minute, a.Expires)
	eq(t, int64(10), int64(a.MaxLength))
	eq(t, int64(1<<20), int64(a.MaxLengthBytes))
	eq(t, RejectPublishDLX, a.Overflow)
	eq(t, true, a.HasDLX)
	eq(t, "", a.DeadLetterExchange)
	eq(t, "dead", a.DeadLetterRoutingKey)
	eq(t, int64(10), int64(a.MaxPriority))
	eq(t, true, a.SingleActiveConsumer)
	eq(t, int64(3), int64(a.DeliveryLimit))
	eq(t, Classic, a.Type)

	d, err := ParseArgs(nil)
	must(t, err)
	eq(t, int64(Unlimited), int64(d.MaxLength))
	eq(t, int64(Unlimited), int64(d.MessageTTL))
	eq(t, int64(Unlimited), int64(d.DeliveryLimit))
	eq(t, DropHead, d.Overflow)

	qq, err := ParseArgs(message.Table{{Key: "x-queue-type", Value: "quorum"}})
	must(t, err)
	eq(t, Quorum, qq.Type)
	eq(t, int64(QuorumDeliveryLimit), int64(qq.DeliveryLimit))

	s, err := ParseArgs(message.Table{{Key: "x-queue-type", Value: "stream"}, {Key: "x-max-age", Value: "7D"}})
	must(t, err)
	eq(t, Stream, s.Type)
}

func TestEquivalent(t *testing.T) {
	parse := func(args message.Table) Args {
		a, err := ParseArgs(args)
		must(t, err)
		return a
	}
	tests := []struct {
		name string
		a, b message.Table
		eq   bool
		msg  string
	}{
		{"both empty", nil, nil, true, ""},
		{"int types", message.Table{{Key: "x-max-length", Value: int32(10)}}, message.Table{{Key: "x-max-length", Value: int64(10)}}, true, ""},
		{"classic implied", nil, message.Table{{Key: "x-queue-type", Value: "classic"}}, true, ""},
		{"unknown ignored", nil, message.Table{{Key: "x-foo", Value: "bar"}}, true, ""},
		{"value differs", message.Table{{Key: "x-max-length", Value: int32(10)}}, message.Table{{Key: "x-max-length", Value: int32(11)}}, false,
			"inequivalent arg 'x-max-length' for queue 'q' in vhost '/': received the value '11' of type 'signedint' but current is the value '10' of type 'signedint'"},
		{"added", nil, message.Table{{Key: "x-message-ttl", Value: int64(5)}}, false,
			"inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received the value '5' of type 'long' but current is none"},
		{"type differs", nil, message.Table{{Key: "x-queue-type", Value: "quorum"}}, false,
			"inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received the value 'quorum' of type 'longstr' but current is none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := parse(tt.a), parse(tt.b)
			eq(t, tt.eq, Equivalent(a, b))
			err := CheckEquivalent("/", "q", a, b)
			eq(t, tt.msg, errText(err))
		})
	}
}

func TestConfigValidate(t *testing.T) {
	qa, _ := ParseArgs(message.Table{{Key: "x-queue-type", Value: "quorum"}})
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Name: "q", Vhost: "/", Durable: true, Args: qa}, ""},
		{Config{Name: "q", Vhost: "/", Args: qa}, "invalid property 'non-durable' for queue 'q' in vhost '/'"},
		{Config{Name: "q", Vhost: "/", Durable: true, Exclusive: true, Args: qa}, "invalid property 'exclusive-owner' for queue 'q' in vhost '/'"},
		{Config{Name: "q", Vhost: "/", Durable: true, AutoDelete: true, Args: qa}, "invalid property 'auto-delete' for queue 'q' in vhost '/'"},
		{Config{Name: "q", Vhost: "/"}, ""},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		eq(t, tt.want, errText(err))
	}
}
