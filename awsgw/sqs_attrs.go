package awsgw

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/junctionmq/junction/core/queue"
)

// SQS limits.
const (
	maxMessageSize     = 1 << 20 // 1 MiB (AWS raised it from 256 KiB in 2025)
	maxBatchEntries    = 10
	maxWaitSeconds     = 20
	maxVisibility      = 43200
	maxDelaySeconds    = 900
	defaultVisibility  = 30
	defaultRetention   = 345600 // 4 days
	fifoDedupWindow    = 5 * time.Minute
	maxQueueNameLen    = 80
	maxReceiveCountMax = 1000
)

// intRange is the valid range of an integer queue attribute.
type intRange struct{ min, max int64 }

var intAttrs = map[string]intRange{
	"DelaySeconds":                  {0, maxDelaySeconds},
	"MaximumMessageSize":            {1024, maxMessageSize},
	"MessageRetentionPeriod":        {60, 1209600},
	"ReceiveMessageWaitTimeSeconds": {0, maxWaitSeconds},
	"VisibilityTimeout":             {0, maxVisibility},
	"KmsDataKeyReusePeriodSeconds":  {60, 86400},
}

// standardDefaults are the attributes every queue reports.
var standardDefaults = map[string]string{
	"DelaySeconds":                  "0",
	"MaximumMessageSize":            strconv.Itoa(maxMessageSize),
	"MessageRetentionPeriod":        strconv.Itoa(defaultRetention),
	"ReceiveMessageWaitTimeSeconds": "0",
	"VisibilityTimeout":             strconv.Itoa(defaultVisibility),
	"SqsManagedSseEnabled":          "true",
}

// fifoDefaults are added for FIFO queues.
var fifoDefaults = map[string]string{
	"FifoQueue":                 "true",
	"ContentBasedDeduplication": "false",
	"DeduplicationScope":        "queue",
	"FifoThroughputLimit":       "perQueue",
}

// fifoOnly are attributes a standard queue does not know.
var fifoOnly = map[string]bool{"ContentBasedDeduplication": true, "DeduplicationScope": true, "FifoThroughputLimit": true}

// settable are the attributes CreateQueue and SetQueueAttributes accept
// (besides the FIFO ones).
var settable = map[string]bool{
	"DelaySeconds": true, "MaximumMessageSize": true, "MessageRetentionPeriod": true,
	"ReceiveMessageWaitTimeSeconds": true, "VisibilityTimeout": true, "RedrivePolicy": true,
	"RedriveAllowPolicy": true, "Policy": true, "KmsMasterKeyId": true,
	"KmsDataKeyReusePeriodSeconds": true, "SqsManagedSseEnabled": true,
}

// readOnly are the computed attributes GetQueueAttributes reports.
var readOnly = []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
	"ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp", "QueueArn"}

// validQueueName reports whether name is a valid SQS queue name.
func validQueueName(name string) bool {
	base := strings.TrimSuffix(name, ".fifo")
	if len(name) > maxQueueNameLen || base == "" {
		return false
	}
	for i := 0; i < len(base); i++ {
		c := base[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// redrivePolicy is the RedrivePolicy attribute.
type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     optInt `json:"maxReceiveCount"`
}

// parseRedrive parses a RedrivePolicy value.
func parseRedrive(v string) (redrivePolicy, *apiError) {
	var p redrivePolicy
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return p, errInvalidAttributeValue("RedrivePolicy", "Redrive policy is not a valid JSON map")
	}
	if p.DeadLetterTargetArn == "" {
		return p, errInvalidAttributeValue("RedrivePolicy", "Redrive policy does not contain mandatory attribute: deadLetterTargetArn")
	}
	if !p.MaxReceiveCount.Set {
		return p, errInvalidAttributeValue("RedrivePolicy", "Redrive policy does not contain mandatory attribute: maxReceiveCount")
	}
	if p.MaxReceiveCount.Bad != "" || p.MaxReceiveCount.Value < 1 || p.MaxReceiveCount.Value > maxReceiveCountMax {
		return p, errInvalidAttributeValue("RedrivePolicy",
			"Invalid value for maxReceiveCount: "+strconv.FormatInt(p.MaxReceiveCount.Value, 10)+", valid values are from 1 to 1000 both inclusive")
	}
	if _, err := parseArn(p.DeadLetterTargetArn); err != nil {
		return p, errInvalidAttributeValue("RedrivePolicy", "Invalid value for deadLetterTargetArn")
	}
	return p, nil
}

// arn is a parsed SQS queue ARN.
type arn struct{ region, account, name string }

func parseArn(s string) (arn, error) {
	p := strings.Split(s, ":")
	if len(p) != 6 || p[0] != "arn" || p[2] != "sqs" || p[5] == "" {
		return arn{}, errMalformedAuth
	}
	return arn{region: p[3], account: p[4], name: p[5]}, nil
}

// checkAttrs validates attributes for CreateQueue (create=true) or
// SetQueueAttributes on a queue of the given type, returning them
// normalised.
func checkAttrs(in map[string]string, fifo, create bool) (map[string]string, *apiError) {
	out := make(map[string]string, len(in))
	for k, v := range in {
		switch {
		case k == "FifoQueue":
			if !create {
				if !fifo {
					return nil, errUnknownAttribute(k)
				}
				return nil, errInvalidAttributeValue(k, "Modifying queue type is not supported")
			}
			if b, ok := parseBool(v); !ok || b != fifo {
				if fifo || (ok && b) {
					return nil, errInvalidParameterValue("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
				}
				return nil, errInvalidAttributeValue(k, "")
			}
			if !fifo {
				continue // FifoQueue=false on a standard queue is accepted and not kept
			}
			out[k] = "true"
		case fifoOnly[k]:
			if !fifo {
				if k == "ContentBasedDeduplication" {
					return nil, errUnknownAttribute(k)
				}
				return nil, errInvalidAttributeName("You can specify the %s only when FifoQueue is set to true.", k)
			}
			nv, aerr := checkFifoAttr(k, v)
			if aerr != nil {
				return nil, aerr
			}
			out[k] = nv
		case intAttrs[k] != intRange{}:
			r := intAttrs[k]
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n < r.min || n > r.max {
				return nil, errInvalidAttributeValue(k, "")
			}
			out[k] = strconv.FormatInt(n, 10)
		case k == "RedrivePolicy":
			if v != "" && v != "{}" {
				if _, aerr := parseRedrive(v); aerr != nil {
					return nil, aerr
				}
			}
			out[k] = v
		case k == "SqsManagedSseEnabled":
			b, ok := parseBool(v)
			if !ok {
				return nil, errInvalidAttributeValue(k, "")
			}
			out[k] = strconv.FormatBool(b)
		case settable[k]:
			out[k] = v
		default:
			return nil, errUnknownAttribute(k)
		}
	}
	return out, nil
}

func checkFifoAttr(k, v string) (string, *apiError) {
	switch k {
	case "ContentBasedDeduplication":
		b, ok := parseBool(v)
		if !ok {
			return "", errInvalidAttributeValue(k, "")
		}
		return strconv.FormatBool(b), nil
	case "DeduplicationScope":
		if v != "queue" && v != "messageGroup" {
			return "", errInvalidAttributeValue(k, "")
		}
	case "FifoThroughputLimit":
		if v != "perQueue" && v != "perMessageGroupId" {
			return "", errInvalidAttributeValue(k, "")
		}
	}
	return v, nil
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// queueOptions derives the core queue options from a queue's attributes:
// the queue applies DelaySeconds (to messages of every face), retention
// and redrive (the dead-letter ARN names a queue in the same vhost).
func queueOptions(attrs map[string]string, fifo bool) queue.Options {
	o := queue.Options{FIFO: fifo}
	if fifo {
		o.DedupWindow = fifoDedupWindow
	}
	if n, _ := strconv.Atoi(attrs["DelaySeconds"]); n > 0 {
		o.DefaultDelay = time.Duration(n) * time.Second
	}
	if n, _ := strconv.Atoi(attrs["MessageRetentionPeriod"]); n > 0 {
		o.Retention = time.Duration(n) * time.Second
	}
	if v := attrs["RedrivePolicy"]; v != "" && v != "{}" {
		if p, aerr := parseRedrive(v); aerr == nil {
			a, _ := parseArn(p.DeadLetterTargetArn)
			o.MaxReceiveCount = uint32(p.MaxReceiveCount.Value)
			o.RedriveTarget = a.name
		}
	}
	return o
}
