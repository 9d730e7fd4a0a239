package awsgw

import (
	"sort"
	"strconv"
)

type tagQueueInput struct {
	QueueUrl string            `json:"QueueUrl"`
	Tags     map[string]string `json:"Tags"`
}

const maxTags = 50

func (s *sqsService) tagQueue(req *request) (any, *apiError) {
	var in tagQueueInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.resolve(req, in.QueueUrl, 'c')
	if aerr != nil {
		return nil, aerr
	}
	if len(in.Tags) == 0 {
		return nil, errMissingParameter("Tags")
	}
	return nil, s.updateMeta(t, func(m *queueMeta) *apiError {
		if m.Tags == nil {
			m.Tags = map[string]string{}
		}
		for k, v := range in.Tags {
			m.Tags[k] = v
		}
		if len(m.Tags) > maxTags {
			return errInvalidParameterValue("Too many tags added for queue %s.", m.Name)
		}
		return nil
	})
}

type untagQueueInput struct {
	QueueUrl string   `json:"QueueUrl"`
	TagKeys  []string `json:"TagKeys"`
}

func (s *sqsService) untagQueue(req *request) (any, *apiError) {
	var in untagQueueInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.resolve(req, in.QueueUrl, 'c')
	if aerr != nil {
		return nil, aerr
	}
	if len(in.TagKeys) == 0 {
		return nil, errMissingParameter("TagKeys")
	}
	return nil, s.updateMeta(t, func(m *queueMeta) *apiError {
		for _, k := range in.TagKeys {
			delete(m.Tags, k)
		}
		return nil
	})
}

type listQueueTagsOutput struct {
	Tags map[string]string `json:"Tags,omitempty" xml:"Tag,Key,Value"`
}

func (s *sqsService) listQueueTags(req *request) (any, *apiError) {
	var in queueURLInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.resolve(req, in.QueueUrl, 0)
	if aerr != nil {
		return nil, aerr
	}
	out := &listQueueTagsOutput{}
	if len(t.meta.Tags) > 0 {
		out.Tags = t.meta.Tags
	}
	return out, nil
}

type addPermissionInput struct {
	QueueUrl      string   `json:"QueueUrl"`
	Label         string   `json:"Label"`
	AWSAccountIds []string `json:"AWSAccountIds"`
	Actions       []string `json:"Actions"`
}

func (s *sqsService) addPermission(req *request) (any, *apiError) {
	var in addPermissionInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.resolve(req, in.QueueUrl, 'c')
	if aerr != nil {
		return nil, aerr
	}
	switch {
	case in.Label == "":
		return nil, errMissingParameter("Label")
	case len(in.AWSAccountIds) == 0:
		return nil, errMissingParameter("AWSAccountIds")
	case len(in.Actions) == 0:
		return nil, errMissingParameter("Actions")
	}
	return nil, s.updateMeta(t, func(m *queueMeta) *apiError {
		if _, ok := m.Permissions[in.Label]; ok {
			return errInvalidParam(in.Label, "Label", "Already exists.")
		}
		if m.Permissions == nil {
			m.Permissions = map[string]permission{}
		}
		m.Permissions[in.Label] = permission{Accounts: in.AWSAccountIds, Actions: in.Actions}
		m.Attrs["Policy"] = policyJSON(queueArn(req, t.account, m.Name), m.Permissions)
		return nil
	})
}

type removePermissionInput struct {
	QueueUrl string `json:"QueueUrl"`
	Label    string `json:"Label"`
}

func (s *sqsService) removePermission(req *request) (any, *apiError) {
	var in removePermissionInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.resolve(req, in.QueueUrl, 'c')
	if aerr != nil {
		return nil, aerr
	}
	if in.Label == "" {
		return nil, errMissingParameter("Label")
	}
	return nil, s.updateMeta(t, func(m *queueMeta) *apiError {
		if _, ok := m.Permissions[in.Label]; !ok {
			return errInvalidParam(in.Label, "Label", "can't find label.")
		}
		delete(m.Permissions, in.Label)
		if len(m.Permissions) == 0 {
			delete(m.Attrs, "Policy")
		} else {
			m.Attrs["Policy"] = policyJSON(queueArn(req, t.account, m.Name), m.Permissions)
		}
		return nil
	})
}

// policyJSON renders the permissions as the IAM policy AWS reports in the
// Policy attribute.
func policyJSON(resource string, perms map[string]permission) string {
	labels := make([]string, 0, len(perms))
	for l := range perms {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	b := []byte(`{"Version":"2012-10-17","Id":"` + resource + `/SQSDefaultPolicy","Statement":[`)
	for i, l := range labels {
		p := perms[l]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Sid":`...)
		b = strconv.AppendQuote(b, l)
		b = append(b, `,"Effect":"Allow","Principal":{"AWS":[`...)
		for j, a := range p.Accounts {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, "arn:aws:iam::"+a+":root")
		}
		b = append(b, `]},"Action":[`...)
		for j, a := range p.Actions {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, "SQS:"+a)
		}
		b = append(b, `],"Resource":`...)
		b = strconv.AppendQuote(b, resource)
		b = append(b, '}')
	}
	return string(append(b, "]}"...))
}

type listDLQSourcesInput struct {
	QueueUrl   string `json:"QueueUrl"`
	MaxResults optInt `json:"MaxResults"`
	NextToken  string `json:"NextToken"`
}

type listDLQSourcesOutput struct {
	QueueUrls []string `json:"queueUrls" xml:"QueueUrl"`
	NextToken string   `json:"NextToken,omitempty"`
}

func (s *sqsService) listDeadLetterSourceQueues(req *request) (any, *apiError) {
	var in listDLQSourcesInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.resolve(req, in.QueueUrl, 0)
	if aerr != nil {
		return nil, aerr
	}
	out := &listDLQSourcesOutput{QueueUrls: []string{}}
	var names []string
	s.mu.Lock()
	for k, m := range s.metas {
		if k.vhost != t.vhost.Name() {
			continue
		}
		if v := m.Attrs["RedrivePolicy"]; v != "" && v != "{}" {
			if p, aerr := parseRedrive(v); aerr == nil {
				if a, _ := parseArn(p.DeadLetterTargetArn); a.name == t.q.Name() {
					names = append(names, k.name)
				}
			}
		}
	}
	s.mu.Unlock()
	sort.Strings(names)
	for _, n := range names {
		if _, err := t.vhost.Queue(n); err == nil {
			out.QueueUrls = append(out.QueueUrls, queueURL(req, t.account, n))
		}
	}
	return out, nil
}
