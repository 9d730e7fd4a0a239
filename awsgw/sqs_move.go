package awsgw

import (
	"encoding/base64"
	"time"

	"github.com/junctionmq/junction/core/message"
)

// moveTask is a message move task (DLQ redrive back to a source). Junction
// moves the messages synchronously inside StartMessageMoveTask, so a task
// is always finished when its handle is returned.
type moveTask struct {
	Handle       string `json:"TaskHandle,omitempty"`
	Status       string `json:"Status"`
	SourceArn    string `json:"SourceArn"`
	DestArn      string `json:"DestinationArn,omitempty"`
	Moved        int64  `json:"ApproximateNumberOfMessagesMoved"`
	ToMove       int64  `json:"ApproximateNumberOfMessagesToMove"`
	MaxPerSecond *int64 `json:"MaxNumberOfMessagesPerSecond,omitempty"`
	Started      int64  `json:"StartedTimestamp"`
}

type startMoveInput struct {
	SourceArn                    string `json:"SourceArn"`
	DestinationArn               string `json:"DestinationArn"`
	MaxNumberOfMessagesPerSecond optInt `json:"MaxNumberOfMessagesPerSecond"`
}

type startMoveOutput struct {
	TaskHandle string `json:"TaskHandle"`
}

// moveBatch is how many messages one lease of a move takes.
const moveBatch = 10

func (s *sqsService) startMessageMoveTask(req *request) (any, *apiError) {
	var in startMoveInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	if in.SourceArn == "" {
		return nil, errMissingParameter("SourceArn")
	}
	src, aerr := s.resolveArn(req, in.SourceArn, 'r')
	if aerr != nil {
		return nil, aerr
	}
	destName := ""
	if in.DestinationArn != "" {
		a, err := parseArn(in.DestinationArn)
		if err != nil {
			return nil, errInvalidParameterValue("You must use this format to specify the DestinationArn: arn:<partition>:<service>:<region>:<account-id>:<resource-id>")
		}
		destName = a.name
	} else if destName = s.onlySource(src); destName == "" {
		return nil, errInvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
	}
	dest, aerr := s.resolveArn(req, queueArn(req, src.account, destName), 'w')
	if aerr != nil {
		return nil, aerr
	}
	task := &moveTask{Handle: base64.RawURLEncoding.EncodeToString([]byte(newUUID() + "|" + in.SourceArn)),
		Status: "COMPLETED", SourceArn: in.SourceArn, DestArn: in.DestinationArn, Started: s.now().UnixMilli()}
	if in.MaxNumberOfMessagesPerSecond.Set {
		v := in.MaxNumberOfMessagesPerSecond.Value
		task.MaxPerSecond = &v
	}
	task.ToMove = int64(src.q.Stats().Ready)
	for {
		ds := src.q.Lease(moveBatch, time.Minute)
		if len(ds) == 0 {
			break
		}
		msgs := make([]*message.Message, len(ds))
		for i, d := range ds {
			c := *d.Msg
			c.ID, c.Exchange, c.RoutingKey, c.DelayUntil, c.DedupID = 0, "", dest.q.Name(), 0, ""
			msgs[i] = &c
		}
		if aerr := s.publish(req.ctx, dest, msgs); aerr != nil {
			for _, d := range ds {
				_ = src.q.ChangeLease(d.Seq, time.Time{})
			}
			task.Status = "FAILED"
			break
		}
		for _, d := range ds {
			_ = src.q.Ack(d.Seq)
		}
		task.Moved += int64(len(ds))
	}
	s.mu.Lock()
	s.moveTasks[in.SourceArn] = task
	s.mu.Unlock()
	return &startMoveOutput{TaskHandle: task.Handle}, nil
}

// onlySource returns the one queue whose redrive policy targets t, or "".
func (s *sqsService) onlySource(t *target) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := ""
	for k, m := range s.metas {
		if k.vhost != t.vhost.Name() {
			continue
		}
		if p, aerr := parseRedrive(m.Attrs["RedrivePolicy"]); aerr == nil {
			if a, _ := parseArn(p.DeadLetterTargetArn); a.name == t.q.Name() {
				if found != "" {
					return ""
				}
				found = k.name
			}
		}
	}
	return found
}

// resolveArn resolves a queue by ARN.
func (s *sqsService) resolveArn(req *request, arnStr string, perm byte) (*target, *apiError) {
	a, err := parseArn(arnStr)
	if err != nil {
		return nil, errInvalidParameterValue("You must use this format to specify the SourceArn: arn:<partition>:<service>:<region>:<account-id>:<resource-id>")
	}
	t, aerr := s.resolve(req, queueURL(req, a.account, a.name), perm)
	if aerr != nil && aerr.Code == errNonExistentQueue().Code {
		return nil, errResourceNotFound("The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	return t, aerr
}

type cancelMoveInput struct {
	TaskHandle string `json:"TaskHandle"`
}

func (s *sqsService) cancelMessageMoveTask(req *request) (any, *apiError) {
	var in cancelMoveInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	if in.TaskHandle == "" {
		return nil, errMissingParameter("TaskHandle")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.moveTasks {
		if t.Handle == in.TaskHandle {
			return nil, errUnsupportedOperation("The task is already %s.", t.Status)
		}
	}
	return nil, errResourceNotFound("Task does not exist.")
}

type listMoveInput struct {
	SourceArn  string `json:"SourceArn"`
	MaxResults optInt `json:"MaxResults"`
}

type listMoveOutput struct {
	Results []moveTask `json:"Results" xml:"ListMessageMoveTasksResultEntry"`
}

func (s *sqsService) listMessageMoveTasks(req *request) (any, *apiError) {
	var in listMoveInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	if in.SourceArn == "" {
		return nil, errMissingParameter("SourceArn")
	}
	if _, aerr := s.resolveArn(req, in.SourceArn, 0); aerr != nil {
		return nil, aerr
	}
	out := &listMoveOutput{Results: []moveTask{}}
	s.mu.Lock()
	if t := s.moveTasks[in.SourceArn]; t != nil {
		c := *t
		c.Handle = "" // only running tasks report their handle
		out.Results = append(out.Results, c)
	}
	s.mu.Unlock()
	return out, nil
}
