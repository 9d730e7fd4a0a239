package awsgw

import (
	"regexp"
	"strconv"

	"github.com/junctionmq/junction/core/message"
)

var batchIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]*$`)

type batchOK struct {
	Id             string `json:"Id"`        //nolint:revive // AWS's name
	MessageId      string `json:"MessageId"` //nolint:revive // AWS's name
	SequenceNumber string `json:"SequenceNumber,omitempty"`
}

type batchFailed struct {
	Id          string `json:"Id"` //nolint:revive // AWS's name
	Code        string `json:"Code"`
	Message     string `json:"Message"`
	SenderFault bool   `json:"SenderFault"`
}

type publishBatchOutput struct {
	Successful struct {
		Member []batchOK `json:"member"`
	} `json:"Successful"`
	Failed struct {
		Member []batchFailed `json:"member"`
	} `json:"Failed"`
}

// publishBatch publishes up to 10 messages; each entry succeeds or fails
// on its own, and the answer comes once every stored copy is durable.
func (s *snsService) publishBatch(req *request) (any, *apiError) {
	v, t, aerr := s.topicByArn(req, req.form.Get("TopicArn"), "TopicArn")
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkTopicPerm(req, t, 'w'); aerr != nil {
		return nil, aerr
	}
	entries := formIndexedFlat(req, "PublishBatchRequestEntries.member")
	if aerr := checkBatchEntries(entries); aerr != nil {
		return nil, aerr
	}
	out := &publishBatchOutput{}
	msgs := make([]*message.Message, len(entries))
	for i, e := range entries {
		in := snsPublishIn{Message: e["Message"], Subject: e["Subject"], Structure: e["MessageStructure"],
			GroupID: e["MessageGroupId"], DedupID: e["MessageDeduplicationId"], Attrs: formMessageAttrs(e, "")}
		path := "publishBatchRequestEntries." + strconv.Itoa(i+1) + ".member.messageAttributes"
		m, aerr := s.buildMessage(t, &in, path)
		if aerr != nil {
			if aerr.Code == "ValidationError" || aerr.Code == "InvalidParameter" && t.fifo() {
				return nil, aerr
			}
			out.Failed.Member = append(out.Failed.Member, batchFailed{Id: e["Id"], Code: aerr.Code,
				Message: aerr.Message, SenderFault: true})
			continue
		}
		msgs[i] = m
	}
	for i, m := range msgs {
		if m == nil {
			continue
		}
		if aerr := s.publishAndWait(req, v, m); aerr != nil {
			out.Failed.Member = append(out.Failed.Member, batchFailed{Id: entries[i]["Id"], Code: aerr.Code,
				Message: aerr.Message, SenderFault: false})
			continue
		}
		out.Successful.Member = append(out.Successful.Member, batchOK{Id: entries[i]["Id"],
			MessageId: m.Props.MessageID, SequenceNumber: sequenceNumber(t, m)})
	}
	return out, nil
}

// formIndexedFlat returns each batch entry's parameters, keyed relative
// to the entry ("Message", "MessageAttributes.entry.1.Name", ...).
func formIndexedFlat(req *request, prefix string) []map[string]string {
	return formIndexed(req.form, prefix)
}

// checkBatchEntries applies the batch-wide rules with AWS's texts.
func checkBatchEntries(entries []map[string]string) *apiError {
	if len(entries) == 0 {
		return snsErr(400, "EmptyBatchRequest", "The batch request doesn't contain any entries.")
	}
	if len(entries) > 10 {
		return snsErr(400, "TooManyEntriesInBatchRequest", "The batch request contains more entries than permissible.")
	}
	seen := map[string]bool{}
	total := 0
	for _, e := range entries {
		id := e["Id"]
		if len(id) > 80 {
			return snsErr(400, "InvalidBatchEntryId", "The Id of a batch entry in the batch request is too long: %s", id)
		}
		if id == "" || !batchIDRE.MatchString(id) {
			return snsErr(400, "InvalidBatchEntryId",
				"The Id of a batch entry in the batch request contains an impermissible character: %s", id)
		}
		if seen[id] {
			return snsErr(400, "BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.")
		}
		seen[id] = true
		total += len(e["Message"])
	}
	if total > maxSNSMessage {
		return snsErr(400, "BatchRequestTooLong", "The length of all the messages put together is more than the limit.")
	}
	return nil
}
