package amqp091

import (
	"github.com/junctionmq/junction/core/message"
)

// ContentHeader is a decoded content header frame payload.
// AMQP 0-9-1 4.2.6.1.
type ContentHeader struct {
	ClassID  uint16
	Weight   uint16 // unused, always 0
	BodySize uint64
	Props    message.Properties
}

// propFlagsKnown are the basic class's fourteen property flags; bit 0 is
// the continuation flag (another flags word follows).
const (
	propFlagsKnown   = 0xfffc
	propContinuation = 0x0001
)

// Decode decodes a content header payload into h, overwriting every field.
// Decoding into a reused h does not allocate for string properties whose
// value repeats; Props.Headers is always freshly allocated (it may be
// handed on to the core), and nil when absent or empty.
func (h *ContentHeader) Decode(payload []byte) error {
	r := fieldReader{b: payload}
	h.ClassID = r.short()
	h.Weight = r.short()
	h.BodySize = r.longlong()
	flags := r.short()
	for f := flags; f&propContinuation != 0 && r.err == nil; {
		// RabbitMQ never sends more words; accept them only when empty.
		if f = r.short(); f != 0 {
			r.fail(ErrPropertyFlags)
		}
	}
	if flags&^(propFlagsKnown|propContinuation) != 0 {
		r.fail(ErrPropertyFlags)
	}
	r.properties(&h.Props, message.PropFlag(flags&propFlagsKnown))
	return r.done()
}

// properties reads the present basic properties in flag order and resets
// the absent ones. AMQP 0-9-1 4.2.6.1 (basic class property list).
func (r *fieldReader) properties(p *message.Properties, f message.PropFlag) {
	p.Flags = f
	p.ContentType = r.optShortstr(f&message.FlagContentType != 0, p.ContentType)
	p.ContentEncoding = r.optShortstr(f&message.FlagContentEncoding != 0, p.ContentEncoding)
	p.Headers = nil
	if f&message.FlagHeaders != 0 {
		p.Headers = r.table(0)
	}
	p.DeliveryMode = r.optOctet(f&message.FlagDeliveryMode != 0)
	p.Priority = r.optOctet(f&message.FlagPriority != 0)
	p.CorrelationID = r.optShortstr(f&message.FlagCorrelationID != 0, p.CorrelationID)
	p.ReplyTo = r.optShortstr(f&message.FlagReplyTo != 0, p.ReplyTo)
	p.Expiration = r.optShortstr(f&message.FlagExpiration != 0, p.Expiration)
	p.MessageID = r.optShortstr(f&message.FlagMessageID != 0, p.MessageID)
	p.Timestamp = 0
	if f&message.FlagTimestamp != 0 {
		p.Timestamp = int64(r.longlong())
	}
	p.Type = r.optShortstr(f&message.FlagType != 0, p.Type)
	p.UserID = r.optShortstr(f&message.FlagUserID != 0, p.UserID)
	p.AppID = r.optShortstr(f&message.FlagAppID != 0, p.AppID)
	p.ClusterID = r.optShortstr(f&message.FlagClusterID != 0, p.ClusterID)
}

func (r *fieldReader) optShortstr(present bool, old string) string {
	if !present {
		return ""
	}
	return r.shortstr(old)
}

func (r *fieldReader) optOctet(present bool) uint8 {
	if !present {
		return 0
	}
	return r.octet()
}

// PutProperties appends property flags and the present properties. A
// property is present when its bit is set in p.Flags.
func (w *Writer) PutProperties(p *message.Properties) {
	f := p.Flags & propFlagsKnown
	w.PutShort(uint16(f))
	w.optShortstr(f&message.FlagContentType != 0, p.ContentType)
	w.optShortstr(f&message.FlagContentEncoding != 0, p.ContentEncoding)
	if f&message.FlagHeaders != 0 {
		w.PutTable(p.Headers)
	}
	if f&message.FlagDeliveryMode != 0 {
		w.PutOctet(p.DeliveryMode)
	}
	if f&message.FlagPriority != 0 {
		w.PutOctet(p.Priority)
	}
	w.optShortstr(f&message.FlagCorrelationID != 0, p.CorrelationID)
	w.optShortstr(f&message.FlagReplyTo != 0, p.ReplyTo)
	w.optShortstr(f&message.FlagExpiration != 0, p.Expiration)
	w.optShortstr(f&message.FlagMessageID != 0, p.MessageID)
	if f&message.FlagTimestamp != 0 {
		w.PutLongLong(uint64(p.Timestamp))
	}
	w.optShortstr(f&message.FlagType != 0, p.Type)
	w.optShortstr(f&message.FlagUserID != 0, p.UserID)
	w.optShortstr(f&message.FlagAppID != 0, p.AppID)
	w.optShortstr(f&message.FlagClusterID != 0, p.ClusterID)
}

func (w *Writer) optShortstr(present bool, s string) {
	if present {
		w.PutShortstr(s)
	}
}
