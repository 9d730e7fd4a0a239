package amqp091

// DecodeMethod decodes a method frame payload into a new value of the
// method's generated struct. AMQP 0-9-1 4.2.4.
func DecodeMethod(payload []byte) (Method, error) {
	classID, methodID, err := MethodIDs(payload)
	if err != nil {
		return nil, err
	}
	m := newMethod(methodKey(classID, methodID))
	if m == nil {
		return nil, ErrUnknownMethod
	}
	if err := m.Decode(payload); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeMethod decodes a method frame payload, into the Decoder's own value
// for a hot method and into a new value otherwise.
func (d *Decoder) DecodeMethod(payload []byte) (Method, error) {
	classID, methodID, err := MethodIDs(payload)
	if err != nil {
		return nil, err
	}
	key := methodKey(classID, methodID)
	m := d.reused(key)
	if m == nil {
		m = newMethod(key)
	}
	if m == nil {
		return nil, ErrUnknownMethod
	}
	if err := m.Decode(payload); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeHeader decodes a content header payload into the Decoder's own
// ContentHeader, valid until the next DecodeHeader call.
func (d *Decoder) DecodeHeader(payload []byte) (*ContentHeader, error) {
	if err := d.header.Decode(payload); err != nil {
		return nil, err
	}
	return &d.header, nil
}
