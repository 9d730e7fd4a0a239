package awsgw

import (
	"errors"
	"sort"
	"time"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/store"
)

func sortStrings(s []string) { sort.Strings(s) }

type batchError struct {
	Id          string `json:"Id"`
	SenderFault bool   `json:"SenderFault"`
	Code        string `json:"Code"`
	Message     string `json:"Message,omitempty"`
}

func newBatchError(id string, e *apiError) batchError {
	return batchError{Id: id, SenderFault: !e.Receiver, Code: e.Code, Message: e.Message}
}

type batchID struct {
	Id string `json:"Id"`
}

// checkBatch validates the entry ids of a batch request.
func checkBatch(ids []string, entryName string) *apiError {
	if len(ids) == 0 {
		return errEmptyBatch(entryName)
	}
	if len(ids) > maxBatchEntries {
		return errTooManyEntries(len(ids))
	}
	for _, id := range ids {
		if !validBatchID(id) {
			return errInvalidBatchEntryID()
		}
	}
	// At most maxBatchEntries ids: comparing each with those before it is
	// cheaper than a map per request, and names the same first repeat.
	for i, id := range ids {
		for _, prev := range ids[:i] {
			if prev == id {
				return errBatchIDsNotDistinct(id)
			}
		}
	}
	return nil
}

// batchIDs returns a slice for n entry ids: on the caller's stack when n
// is within the batch limit (inlined, the array does not escape).
func batchIDs(n int) []string {
	if n <= maxBatchEntries {
		var small [maxBatchEntries]string
		return small[:n]
	}
	return make([]string, n)
}

func validBatchID(id string) bool {
	if id == "" || len(id) > 80 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

type sendBatchInput struct {
	QueueUrl string      `json:"QueueUrl"`
	Entries  []sendInput `json:"Entries"`
}

type sendBatchOutput struct {
	Successful []*sendOutput `json:"Successful" xml:"SendMessageBatchResultEntry"`
	Failed     []batchError  `json:"Failed" xml:"BatchResultErrorEntry"`
}

func (s *sqsService) sendMessageBatch(req *request) (any, *apiError) {
	var in sendBatchInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.resolveShared(req, in.QueueUrl, 'w')
	if aerr != nil {
		return nil, aerr
	}
	ids := batchIDs(len(in.Entries))
	total := 0
	for i, e := range in.Entries {
		ids[i] = e.Id
		if e.MessageBody != nil {
			total += len(*e.MessageBody)
		}
		size, _ := checkMsgAttrs(e.MessageAttributes)
		total += size
	}
	if aerr := checkBatch(ids, "SendMessageBatchRequestEntry"); aerr != nil {
		return nil, aerr
	}
	if total > maxMessageSize {
		return nil, errBatchTooLong(total)
	}
	n := len(in.Entries)
	out := &sendBatchOutput{Successful: make([]*sendOutput, 0, n), Failed: []batchError{}}
	msgs := make([]*message.Message, 0, n)
	oks := make([]*sendOutput, 0, n)
	slab := newSendSlab(in.Entries)
	for i := range in.Entries {
		m, o, aerr := s.buildMessage(req, t, &in.Entries[i], slab)
		if aerr != nil {
			out.Failed = append(out.Failed, newBatchError(in.Entries[i].Id, aerr))
			continue
		}
		msgs, oks = append(msgs, m), append(oks, o)
	}
	if len(msgs) > 0 {
		if aerr := s.publish(req.ctx, t, msgs); aerr != nil {
			return nil, aerr
		}
	}
	for i, o := range oks {
		s.answerSend(t, msgs[i], o)
		out.Successful = append(out.Successful, o)
	}
	return out, nil
}

type deleteInput struct {
	QueueUrl          string `json:"QueueUrl"`
	Id                string `json:"Id"`
	ReceiptHandle     string `json:"ReceiptHandle"`
	VisibilityTimeout optInt `json:"VisibilityTimeout"`
}

func (s *sqsService) deleteMessage(req *request) (any, *apiError) {
	var in deleteInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.resolveShared(req, in.QueueUrl, 'r')
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.deleteOne(t, in.ReceiptHandle); aerr != nil {
		return nil, aerr
	}
	return nil, s.deletesWritten()
}

// deletesWritten waits until the deletes of this request are written to
// the store's log, so that a message whose delete was answered with
// success does not come back after the broker is killed (the core
// group-commits acks without waiting; concurrent requests share one
// commit). It does not wait for the sync: a power cut within the store's
// sync bound may bring a deleted message back, an at-least-once
// redelivery that SQS allows (a deleted message can be received again).
// A store that cannot tell the write from the sync is flushed.
func (s *sqsService) deletesWritten() *apiError {
	st := s.b.Store()
	var err error
	if w, ok := st.(store.WrittenWaiter); ok {
		err = w.Written()
	} else {
		err = st.Flush()
	}
	if err != nil {
		return toAPIError(&core.Error{Kind: core.ErrStore, Text: "store failure", Err: err})
	}
	return nil
}

// handleFor decodes a receipt handle of t's queue.
func (s *sqsService) handleFor(t *target, h string) (receipt, *apiError) {
	if h == "" {
		return receipt{}, errMissingParameter("ReceiptHandle")
	}
	r, ok := receiptFor(s.key, h, t.vhost.Name(), t.q.Name())
	if !ok {
		return r, errReceiptHandleInvalid(h)
	}
	return r, nil
}

func (s *sqsService) deleteOne(t *target, h string) *apiError {
	r, aerr := s.handleFor(t, h)
	if aerr != nil {
		return aerr
	}
	// The handle names its receive (seq and receive count): an older
	// handle never deletes a newer receive. AWS answers it with success on
	// standard queues (the message stays) and with "The receipt handle has
	// expired" on FIFO queues, where a handle also expires with its
	// visibility timeout.
	err := t.q.AckLease(r.seq, r.count)
	switch {
	case errors.Is(err, queue.ErrUnknownSeq), errors.Is(err, queue.ErrStaleDelivery):
		if t.meta.fifo() {
			return errReceiptHandleExpired(h)
		}
	case err != nil:
		return toAPIError(err)
	default:
		s.b.Tally().Face(message.FaceSQS).Acked(1)
	}
	return nil
}

type entriesInput struct {
	QueueUrl string        `json:"QueueUrl"`
	Entries  []deleteInput `json:"Entries"`
}

type idBatchOutput struct {
	Successful []batchID    `json:"Successful"`
	Failed     []batchError `json:"Failed" xml:"BatchResultErrorEntry"`
}

type deleteBatchOutput struct {
	Successful []batchID    `json:"Successful" xml:"DeleteMessageBatchResultEntry"`
	Failed     []batchError `json:"Failed" xml:"BatchResultErrorEntry"`
}

type visibilityBatchOutput struct {
	Successful []batchID    `json:"Successful" xml:"ChangeMessageVisibilityBatchResultEntry"`
	Failed     []batchError `json:"Failed" xml:"BatchResultErrorEntry"`
}

// runBatch validates a delete or visibility batch and applies fn to each
// entry.
func (s *sqsService) runBatch(req *request, entryName string, fn func(t *target, e *deleteInput) *apiError) (*idBatchOutput, *apiError) {
	var in entriesInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.resolveShared(req, in.QueueUrl, 'r')
	if aerr != nil {
		return nil, aerr
	}
	ids := batchIDs(len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	if aerr := checkBatch(ids, entryName); aerr != nil {
		return nil, aerr
	}
	out := &idBatchOutput{Successful: make([]batchID, 0, len(in.Entries)), Failed: []batchError{}}
	for i := range in.Entries {
		e := &in.Entries[i]
		if aerr := fn(t, e); aerr != nil {
			out.Failed = append(out.Failed, newBatchError(e.Id, aerr))
			continue
		}
		out.Successful = append(out.Successful, batchID{Id: e.Id})
	}
	return out, nil
}

func (s *sqsService) deleteMessageBatch(req *request) (any, *apiError) {
	out, aerr := s.runBatch(req, "DeleteMessageBatchRequestEntry", func(t *target, e *deleteInput) *apiError {
		return s.deleteOne(t, e.ReceiptHandle)
	})
	if aerr != nil {
		return nil, aerr
	}
	if len(out.Successful) > 0 {
		if aerr := s.deletesWritten(); aerr != nil {
			return nil, aerr
		}
	}
	return &deleteBatchOutput{Successful: out.Successful, Failed: out.Failed}, nil
}

func (s *sqsService) changeMessageVisibility(req *request) (any, *apiError) {
	var in deleteInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.resolveShared(req, in.QueueUrl, 'r')
	if aerr != nil {
		return nil, aerr
	}
	return nil, s.changeOne(t, &in)
}

func (s *sqsService) changeOne(t *target, in *deleteInput) *apiError {
	r, aerr := s.handleFor(t, in.ReceiptHandle)
	if aerr != nil {
		return aerr
	}
	v := in.VisibilityTimeout
	if !v.Set {
		return errMissingParameter("VisibilityTimeout")
	}
	if v.Bad != "" || v.Value < 0 || v.Value > maxVisibility {
		return errInvalidParam(v.Value, "VisibilityTimeout", "VisibilityTimeout must be an integer between 0 and 43200")
	}
	var deadline time.Time
	if v.Value > 0 {
		deadline = s.now().Add(time.Duration(v.Value) * time.Second)
	}
	// Only the latest receive's handle may change the visibility.
	if err := t.q.ChangeLeaseIf(r.seq, r.count, deadline); err != nil {
		switch {
		case errors.Is(err, queue.ErrUnknownSeq):
			return errMessageNotInflight()
		case errors.Is(err, queue.ErrStaleDelivery):
			return errReceiptHandleExpired(in.ReceiptHandle)
		}
		return toAPIError(err)
	}
	return nil
}

func (s *sqsService) changeMessageVisibilityBatch(req *request) (any, *apiError) {
	out, aerr := s.runBatch(req, "ChangeMessageVisibilityBatchRequestEntry", func(t *target, e *deleteInput) *apiError {
		return s.changeOne(t, e)
	})
	if aerr != nil {
		return nil, aerr
	}
	return &visibilityBatchOutput{Successful: out.Successful, Failed: out.Failed}, nil
}
