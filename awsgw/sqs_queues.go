package awsgw

import (
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/junctionmq/junction/core"
)

// deletedGrace is how long a deleted queue's name stays unusable
// (QueueDeletedRecently) and how often a queue may be purged.
const deletedGrace = 60 * time.Second

type createQueueInput struct {
	QueueName  string            `json:"QueueName"`
	Attributes map[string]string `json:"Attributes"`
	Tags       map[string]string `json:"tags"`
	QueryTags  map[string]string `json:"Tags"` // Query: Tag.N.Key/Value
}

type queueURLOutput struct {
	QueueUrl string `json:"QueueUrl"`
}

func (s *sqsService) createQueue(req *request) (any, *apiError) {
	var in createQueueInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	if in.QueueName == "" {
		return nil, errMissingParameter("QueueName")
	}
	fifo := strings.HasSuffix(in.QueueName, ".fifo")
	if !validQueueName(in.QueueName) {
		if fifo {
			return nil, errInvalidParameterValue("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
		}
		return nil, errInvalidParameterValue("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	if fifo && in.Attributes["FifoQueue"] == "" {
		return nil, errInvalidParameterValue("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
	}
	attrs, aerr := checkAttrs(in.Attributes, fifo, true)
	if aerr != nil {
		return nil, aerr
	}
	full := cloneMap(standardDefaults)
	if fifo {
		for k, v := range fifoDefaults {
			full[k] = v
		}
	}
	for k, v := range attrs {
		full[k] = v
	}
	tags := in.Tags
	if tags == nil {
		tags = in.QueryTags
	}
	account := s.accountFor(req)
	v, aerr := s.vhostFor(req, account)
	if aerr != nil {
		return nil, aerr
	}
	if !req.id4.anyKey && s.b.Users().CheckConfigure(req.id4.user, v.Name(), "queue", in.QueueName) != nil {
		return nil, errAccessDenied(queueURL(req, account, in.QueueName))
	}
	if aerr := s.declare(v, in.QueueName, full, tags, fifo); aerr != nil {
		return nil, aerr
	}
	return &queueURLOutput{QueueUrl: queueURL(req, account, in.QueueName)}, nil
}

// declare creates the queue or checks an existing one's attributes.
func (s *sqsService) declare(v *core.Vhost, name string, attrs, tags map[string]string, fifo bool) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := qkey{v.Name(), name}
	if q, err := v.Queue(name); err == nil {
		m := s.metaFor(v.Name(), q)
		for _, a := range sortedKeys(attrs) {
			if m.Attrs[a] != attrs[a] {
				return errQueueNameExists(a)
			}
		}
		for a := range m.Attrs {
			if _, ok := attrs[a]; !ok && a != "Policy" {
				return errQueueNameExists(a)
			}
		}
		return nil
	}
	if t, ok := s.deleted[k]; ok && s.now().Sub(t) < deletedGrace {
		return errQueueDeletedRecently()
	}
	delete(s.metas, k) // stale: the queue was deleted by another face
	now := s.now().Unix()
	m := &queueMeta{Vhost: v.Name(), Name: name, Attrs: attrs, Tags: tags, Created: now, Modified: now}
	if err := s.saveMeta(m); err != nil {
		return toAPIError(err)
	}
	_, _, err := v.DeclareQueue(core.QueueDecl{Name: name, Durable: true, Options: queueOptions(attrs, fifo)})
	if err != nil {
		s.dropMeta(k)
		return toAPIError(err)
	}
	s.metas[k] = m
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type getQueueURLInput struct {
	QueueName              string `json:"QueueName"`
	QueueOwnerAWSAccountId string `json:"QueueOwnerAWSAccountId"`
}

func (s *sqsService) getQueueURL(req *request) (any, *apiError) {
	var in getQueueURLInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	if in.QueueName == "" {
		return nil, errMissingParameter("QueueName")
	}
	account := in.QueueOwnerAWSAccountId
	if account == "" {
		account = s.accountFor(req)
	}
	t, aerr := s.resolve(req, queueURL(req, account, in.QueueName), 0)
	if aerr != nil {
		return nil, aerr
	}
	return &queueURLOutput{QueueUrl: t.url}, nil
}

type listQueuesInput struct {
	QueueNamePrefix string `json:"QueueNamePrefix"`
	MaxResults      optInt `json:"MaxResults"`
	NextToken       string `json:"NextToken"`
}

type listQueuesOutput struct {
	QueueUrls []string `json:"QueueUrls,omitempty" xml:"QueueUrl"`
	NextToken string   `json:"NextToken,omitempty"`
}

func (s *sqsService) listQueues(req *request) (any, *apiError) {
	var in listQueuesInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	limit := 1000
	if in.MaxResults.Set {
		if in.MaxResults.Bad != "" || in.MaxResults.Value < 1 || in.MaxResults.Value > 1000 {
			return nil, errInvalidParam(in.MaxResults.Value, "MaxResults", "MaxResults must be an integer between 1 and 1000.")
		}
		limit = int(in.MaxResults.Value)
	}
	after := ""
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil {
			return nil, errInvalidParameterValue("Invalid NextToken value.")
		}
		after = string(b)
	}
	account := s.accountFor(req)
	v, aerr := s.vhostFor(req, account)
	if aerr != nil {
		return nil, aerr
	}
	var names, omitted []string
	for _, q := range v.Queues() {
		n := q.Name()
		if !strings.HasPrefix(n, in.QueueNamePrefix) || n <= after {
			continue
		}
		if !validQueueName(n) {
			omitted = append(omitted, n)
			continue
		}
		names = append(names, n)
	}
	if len(omitted) > 0 {
		// Queues of other faces whose names SQS cannot show (amq.gen-x.y,
		// names with dots or spaces) are left out and named here, rather
		// than failing the listing.
		req.header.Set(OmittedHeader, omittedReason(omitted))
	}
	sort.Strings(names)
	out := &listQueuesOutput{}
	if len(names) > limit {
		names = names[:limit]
		if in.MaxResults.Set {
			out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(names[limit-1]))
		}
	}
	for _, n := range names {
		out.QueueUrls = append(out.QueueUrls, queueURL(req, account, n))
	}
	return out, nil
}

type queueURLInput struct {
	QueueUrl string `json:"QueueUrl"`
}

func (s *sqsService) deleteQueue(req *request) (any, *apiError) {
	var in queueURLInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.resolve(req, in.QueueUrl, 'c')
	if aerr != nil {
		return nil, aerr
	}
	if _, err := t.vhost.DeleteQueue(t.q.Name(), false, false, nil); err != nil && !errIsNotFound(err) {
		return nil, toAPIError(err)
	}
	s.mu.Lock()
	k := qkey{t.vhost.Name(), t.q.Name()}
	s.dropMeta(k)
	s.deleted[k] = s.now()
	delete(s.purged, k)
	s.mu.Unlock()
	return nil, nil
}

type getQueueAttributesInput struct {
	QueueUrl       string   `json:"QueueUrl"`
	AttributeNames []string `json:"AttributeNames"`
}

type attributesOutput struct {
	Attributes map[string]string `json:"Attributes,omitempty" xml:"Attribute"`
}

func (s *sqsService) getQueueAttributes(req *request) (any, *apiError) {
	var in getQueueAttributesInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.resolve(req, in.QueueUrl, 0)
	if aerr != nil {
		return nil, aerr
	}
	all := s.allAttributes(req, t)
	out := &attributesOutput{Attributes: map[string]string{}}
	for _, n := range in.AttributeNames {
		if n == "All" {
			out.Attributes = all
			break
		}
		v, ok := all[n]
		if !ok {
			if !knownAttribute(n) {
				return nil, errInvalidAttributeName("Unknown Attribute %s.", n)
			}
			continue
		}
		out.Attributes[n] = v
	}
	if len(out.Attributes) == 0 {
		out.Attributes = nil
	}
	return out, nil
}

func knownAttribute(n string) bool {
	if settable[n] || fifoOnly[n] || n == "FifoQueue" {
		return true
	}
	for _, r := range readOnly {
		if r == n {
			return true
		}
	}
	return false
}

// allAttributes computes every attribute of a queue.
func (s *sqsService) allAttributes(req *request, t *target) map[string]string {
	out := cloneMap(t.meta.Attrs)
	if out["RedrivePolicy"] == "" || out["RedrivePolicy"] == "{}" {
		delete(out, "RedrivePolicy")
	}
	if out["Policy"] == "" {
		delete(out, "Policy")
	}
	st := t.q.Stats()
	out["ApproximateNumberOfMessages"] = strconv.Itoa(st.Ready)
	out["ApproximateNumberOfMessagesNotVisible"] = strconv.Itoa(st.Leased + st.Unacked)
	out["ApproximateNumberOfMessagesDelayed"] = strconv.Itoa(st.Delayed)
	out["CreatedTimestamp"] = strconv.FormatInt(t.meta.Created, 10)
	out["LastModifiedTimestamp"] = strconv.FormatInt(t.meta.Modified, 10)
	out["QueueArn"] = queueArn(req, t.account, t.q.Name())
	return out
}

type setQueueAttributesInput struct {
	QueueUrl   string            `json:"QueueUrl"`
	Attributes map[string]string `json:"Attributes"`
}

func (s *sqsService) setQueueAttributes(req *request) (any, *apiError) {
	var in setQueueAttributesInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.resolve(req, in.QueueUrl, 'c')
	if aerr != nil {
		return nil, aerr
	}
	attrs, aerr := checkAttrs(in.Attributes, t.meta.fifo(), false)
	if aerr != nil {
		return nil, aerr
	}
	return nil, s.updateMeta(t, func(m *queueMeta) *apiError {
		for k, v := range attrs {
			if (k == "KmsMasterKeyId" || k == "KmsDataKeyReusePeriodSeconds") && v != "" {
				m.Attrs["SqsManagedSseEnabled"] = "false"
			}
			if v == "" && !intAttrsHas(k) {
				delete(m.Attrs, k)
				continue
			}
			m.Attrs[k] = v
		}
		m.Modified = s.now().Unix()
		// The queue applies delay, retention and redrive from now on.
		if err := t.vhost.SetQueueOptions(t.q.Name(), queueOptions(m.Attrs, m.fifo())); err != nil {
			return toAPIError(err)
		}
		return nil
	})
}

func intAttrsHas(k string) bool { _, ok := intAttrs[k]; return ok }

func (s *sqsService) purgeQueue(req *request) (any, *apiError) {
	var in queueURLInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.resolve(req, in.QueueUrl, 'r')
	if aerr != nil {
		return nil, aerr
	}
	k := qkey{t.vhost.Name(), t.q.Name()}
	s.mu.Lock()
	if last, ok := s.purged[k]; ok && s.now().Sub(last) < deletedGrace {
		s.mu.Unlock()
		return nil, errPurgeInProgress(t.q.Name())
	}
	s.purged[k] = s.now()
	s.mu.Unlock()
	if _, err := t.q.PurgeAll(); err != nil { // in-flight messages too, unlike AMQP's queue.purge
		return nil, toAPIError(err)
	}
	return nil, nil
}

// OmittedHeader is the response header of ListQueues that names the
// queues of the vhost left out because their names are not valid SQS
// queue names.
const OmittedHeader = "X-Junction-Omitted"

// omittedReason renders the omitted names for OmittedHeader.
func omittedReason(names []string) string {
	sort.Strings(names)
	for i, n := range names {
		names[i] = strconv.Quote(n)
	}
	return strings.Join(names, ", ") + ": not valid SQS queue names (1 to 80 characters of letters, digits, '-' and '_', '.fifo' at the end of FIFO queues)"
}
