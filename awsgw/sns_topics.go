package awsgw

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/junctionmq/junction/core/route"
)

// topicNameRE is AWS's rule for topic names (a FIFO name ends in .fifo).
var topicNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// topicAttrs are the attributes CreateTopic and SetTopicAttributes accept.
var topicAttrs = map[string]bool{
	"DeliveryPolicy": true, "DisplayName": true, "FifoTopic": true, "Policy": true, "SignatureVersion": true,
	"TracingConfig": true, "KmsMasterKeyId": true, "ContentBasedDeduplication": true, "ArchivePolicy": true,
	"FifoThroughputScope": true, "DataProtectionPolicy": true,
	"HTTPSuccessFeedbackRoleArn": true, "HTTPFailureFeedbackRoleArn": true, "HTTPSuccessFeedbackSampleRate": true,
	"SQSSuccessFeedbackRoleArn": true, "SQSFailureFeedbackRoleArn": true, "SQSSuccessFeedbackSampleRate": true,
}

type createTopicOutput struct {
	TopicArn string `json:"TopicArn"`
}

// createTopic declares the topic's fanout exchange and records its
// metadata. A repeated CreateTopic with the same attributes and tags
// returns the same ARN.
func (s *snsService) createTopic(req *request) (any, *apiError) {
	name := req.form.Get("Name")
	attrs := formMap(req.form, "Attributes")
	tags := formTags(req.form, "Tags")
	fifo := attrs["FifoTopic"] == "true"
	base := strings.TrimSuffix(name, ".fifo")
	if !topicNameRE.MatchString(base) || fifo != strings.HasSuffix(name, ".fifo") {
		return nil, errSNSParam("Topic Name")
	}
	for k, v := range attrs {
		if !topicAttrs[k] {
			return nil, errSNSParam("Attributes Reason: Unknown attribute %s", k)
		}
		if aerr := checkTopicAttr(k, v); aerr != nil {
			return nil, aerr
		}
	}
	tagMap, aerr := tagsToMap(tags)
	if aerr != nil {
		return nil, aerr
	}
	account := s.accountOf(req)
	v, aerr := s.vhostOf(req, account, "")
	if aerr != nil {
		return nil, aerr
	}
	t := &snsTopic{Vhost: v.Name(), Name: name, Account: account, Region: req.id4.region, Attrs: attrs,
		Tags: tagMap, Created: s.now().Unix()}
	if aerr := s.checkTopicPerm(req, t, 'c'); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.topics[qkey{v.Name(), name}]; old != nil {
		for k, val := range attrs {
			if old.Attrs[k] != val {
				return nil, errSNSParam("Attributes Reason: Topic already exists with different attributes")
			}
		}
		if len(tags) > 0 && !maps.Equal(old.Tags, tagMap) {
			return nil, errSNSParam("Tags Reason: Topic already exists with different tags")
		}
		return &createTopicOutput{TopicArn: old.arn()}, nil
	}
	// The exchange is declared under s.mu so that two concurrent creates
	// agree; no publish path takes s.mu.
	if err := v.DeclareExchange(route.Exchange{Name: name, Kind: route.Fanout, Durable: true}, false); err != nil {
		return nil, errSNSParam("Name Reason: %s", coreText(err))
	}
	if err := s.saveTopic(t); err != nil {
		return nil, snsAPIError(err)
	}
	s.topics[qkey{v.Name(), name}] = t
	return &createTopicOutput{TopicArn: t.arn()}, nil
}

// checkTopicAttr validates one topic attribute value.
func checkTopicAttr(name, val string) *apiError {
	switch name {
	case "FifoTopic", "ContentBasedDeduplication":
		if val != "true" && val != "false" {
			return errSNSParam("Attributes Reason: Invalid value for %s", name)
		}
	case "SignatureVersion":
		if val != "1" && val != "2" {
			return errSNSParam("Attributes Reason: SignatureVersion: Invalid value [%s]. Must be 1 or 2.", val)
		}
	case "Policy", "DeliveryPolicy":
		if !json.Valid([]byte(val)) {
			return errSNSParam("Attributes Reason: %s: failed to parse JSON", name)
		}
	}
	return nil
}

// tagsToMap checks a tag list (unique keys, at most 50).
func tagsToMap(tags []tagPair) (map[string]string, *apiError) {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		if _, dup := m[t.Key]; dup {
			return nil, errSNSParam("Duplicated keys are not allowed.")
		}
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return nil, errSNSParam("Tags Reason: Invalid tag")
		}
		m[t.Key] = t.Value
	}
	if len(m) > 50 {
		return nil, snsErr(400, "TagLimitExceeded", "Could not complete request: tag quota of per resource exceeded")
	}
	return m, nil
}

// deleteTopic removes the topic's subscriptions, its exchange and its
// metadata. Deleting a missing topic succeeds, as on AWS.
func (s *snsService) deleteTopic(req *request) (any, *apiError) {
	v, t, aerr := s.topicByArn(req, req.form.Get("TopicArn"), "TopicArn")
	if aerr != nil {
		if aerr.Code == "NotFound" {
			return nil, nil
		}
		return nil, aerr
	}
	if aerr := s.checkTopicPerm(req, t, 'c'); aerr != nil {
		return nil, aerr
	}
	for _, sub := range s.subsOf(t) {
		s.removeSub(sub)
	}
	if err := v.DeleteExchange(t.Name, false); err != nil {
		return nil, snsAPIError(err)
	}
	s.mu.Lock()
	delete(s.topics, qkey{t.Vhost, t.Name})
	s.mu.Unlock()
	_ = s.b.Store().DeleteDef(defKindTopic, t.Vhost+"\x00"+t.Name)
	return nil, nil
}

type topicMember struct {
	TopicArn string `json:"TopicArn"`
}

type listTopicsOutput struct {
	Topics struct {
		Member []topicMember `json:"member"`
	} `json:"Topics"`
	NextToken string `json:"NextToken,omitempty"`
}

// snsPageSize is AWS's page size for ListTopics and ListSubscriptions.
const snsPageSize = 100

// listTopics lists the account's topics by ARN, 100 per page.
func (s *snsService) listTopics(req *request) (any, *apiError) {
	account := s.accountOf(req)
	v, aerr := s.vhostOf(req, account, "")
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	var arns []string
	for k, t := range s.topics {
		if k.vhost == v.Name() {
			arns = append(arns, t.arn())
		}
	}
	s.mu.Unlock()
	sort.Strings(arns)
	page, next, aerr := paginate(arns, req.form.Get("NextToken"))
	if aerr != nil {
		return nil, aerr
	}
	out := &listTopicsOutput{NextToken: next}
	for _, a := range page {
		out.Topics.Member = append(out.Topics.Member, topicMember{a})
	}
	return out, nil
}

// paginate returns the page of sorted items after the token and the next
// token ("" on the last page). A token is the base64 of the page's start.
func paginate(items []string, token string) ([]string, string, *apiError) {
	start := 0
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return nil, "", errSNSParam("NextToken")
		}
		start = sort.SearchStrings(items, string(raw))
	}
	end := min(start+snsPageSize, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(items[end]))
	}
	return items[start:end], next, nil
}

type snsAttributesOutput struct {
	Attributes xmlEntries `json:"Attributes"`
}

// getTopicAttributes returns the stored attributes with AWS's computed ones.
func (s *snsService) getTopicAttributes(req *request) (any, *apiError) {
	_, t, aerr := s.topicByArn(req, req.form.Get("TopicArn"), "TopicArn")
	if aerr != nil {
		return nil, aerr
	}
	attrs := cloneMap(t.Attrs)
	attrs["TopicArn"] = t.arn()
	attrs["Owner"] = t.Account
	if _, ok := attrs["DisplayName"]; !ok {
		attrs["DisplayName"] = ""
	}
	if _, ok := attrs["Policy"]; !ok {
		attrs["Policy"] = defaultTopicPolicy(t)
	}
	attrs["EffectiveDeliveryPolicy"] = `{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,` +
		`"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,` +
		`"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,` +
		`"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}`
	confirmed, pending := 0, 0
	for _, sub := range s.subsOf(t) {
		if sub.Pending {
			pending++
		} else {
			confirmed++
		}
	}
	attrs["SubscriptionsConfirmed"] = strconv.Itoa(confirmed)
	attrs["SubscriptionsPending"] = strconv.Itoa(pending)
	attrs["SubscriptionsDeleted"] = "0"
	if t.fifo() {
		if _, ok := attrs["ContentBasedDeduplication"]; !ok {
			attrs["ContentBasedDeduplication"] = "false"
		}
	}
	return &snsAttributesOutput{Attributes: xmlEntries{Entry: attrs}}, nil
}

// defaultTopicPolicy is the policy AWS gives a new topic, with the
// AddPermission statements.
func defaultTopicPolicy(t *snsTopic) string {
	stmts := []any{map[string]any{
		"Sid": "__default_statement_ID", "Effect": "Allow", "Principal": map[string]string{"AWS": "*"},
		"Action": []string{"SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
			"SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"},
		"Resource":  t.arn(),
		"Condition": map[string]any{"StringEquals": map[string]string{"AWS:SourceOwner": t.Account}},
	}}
	labels := make([]string, 0, len(t.Permissions))
	for l := range t.Permissions {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, l := range labels {
		p := t.Permissions[l]
		principals := make([]string, len(p.Accounts))
		for i, a := range p.Accounts {
			principals[i] = "arn:aws:iam::" + a + ":root"
		}
		actions := make([]string, len(p.Actions))
		for i, a := range p.Actions {
			actions[i] = "SNS:" + a
		}
		stmts = append(stmts, map[string]any{"Sid": l, "Effect": "Allow",
			"Principal": map[string]any{"AWS": principals}, "Action": actions, "Resource": t.arn()})
	}
	b, _ := json.Marshal(map[string]any{"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": stmts})
	return string(b)
}

// setTopicAttributes changes one attribute.
func (s *snsService) setTopicAttributes(req *request) (any, *apiError) {
	name, val := req.form.Get("AttributeName"), req.form.Get("AttributeValue")
	_, t, aerr := s.topicByArn(req, req.form.Get("TopicArn"), "TopicArn")
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkTopicPerm(req, t, 'c'); aerr != nil {
		return nil, aerr
	}
	if !topicAttrs[name] || name == "FifoTopic" {
		return nil, errSNSParam("AttributeName")
	}
	if aerr := checkTopicAttr(name, val); aerr != nil {
		return nil, aerr
	}
	return nil, s.updateTopic(t, func(t *snsTopic) *apiError {
		t.Attrs[name] = val
		return nil
	})
}

// updateTopic applies fn to the current metadata of t and persists it.
func (s *snsService) updateTopic(t *snsTopic, fn func(t *snsTopic) *apiError) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.topics[qkey{t.Vhost, t.Name}]
	if cur == nil {
		return errTopicNotFound()
	}
	c := cur.clone()
	if aerr := fn(c); aerr != nil {
		return aerr
	}
	if err := s.saveTopic(c); err != nil {
		return snsAPIError(err)
	}
	s.topics[qkey{t.Vhost, t.Name}] = c
	return nil
}

// tagTarget resolves the topic of a tagging call.
func (s *snsService) tagTarget(req *request) (*snsTopic, *apiError) {
	_, t, aerr := s.topicByArn(req, req.form.Get("ResourceArn"), "ResourceArn")
	if aerr != nil {
		if aerr.Code == "NotFound" {
			return nil, snsErr(404, "ResourceNotFound", "Resource does not exist")
		}
		return nil, aerr
	}
	return t, s.checkTopicPerm(req, t, 'c')
}

func (s *snsService) tagResource(req *request) (any, *apiError) {
	t, aerr := s.tagTarget(req)
	if aerr != nil {
		return nil, aerr
	}
	tags, aerr := tagsToMap(formTags(req.form, "Tags"))
	if aerr != nil {
		return nil, aerr
	}
	return emptyResult(s.updateTopic(t, func(t *snsTopic) *apiError {
		if t.Tags == nil {
			t.Tags = map[string]string{}
		}
		maps.Copy(t.Tags, tags)
		if len(t.Tags) > 50 {
			return snsErr(400, "TagLimitExceeded", "Could not complete request: tag quota of per resource exceeded")
		}
		return nil
	}))
}

func (s *snsService) untagResource(req *request) (any, *apiError) {
	t, aerr := s.tagTarget(req)
	if aerr != nil {
		return nil, aerr
	}
	keys := formList(req.form, "TagKeys")
	return emptyResult(s.updateTopic(t, func(t *snsTopic) *apiError {
		for _, k := range keys {
			delete(t.Tags, k)
		}
		return nil
	}))
}

// emptyResult answers an action whose output shape has no members: the
// SDKs expect its empty <ActionResult/> element.
func emptyResult(aerr *apiError) (any, *apiError) {
	if aerr != nil {
		return nil, aerr
	}
	return &struct{}{}, nil
}

type listTagsOutput struct {
	Tags xmlTags `json:"Tags"`
}

func (s *snsService) listTagsForResource(req *request) (any, *apiError) {
	t, aerr := s.tagTarget(req)
	if aerr != nil {
		return nil, aerr
	}
	out := &listTagsOutput{}
	for _, k := range sortedKeys(t.Tags) {
		out.Tags.Member = append(out.Tags.Member, xmlTag{k, t.Tags[k]})
	}
	return out, nil
}

// snsActionNames are the actions AddPermission may grant.
var snsActionNames = map[string]bool{"Publish": true, "Subscribe": true, "Receive": true, "GetTopicAttributes": true,
	"SetTopicAttributes": true, "AddPermission": true, "RemovePermission": true, "DeleteTopic": true,
	"ListSubscriptionsByTopic": true, "*": true}

// addPermission records a policy statement (stored and shown in the
// Policy attribute, not enforced: RabbitMQ permissions govern access).
func (s *snsService) addPermission(req *request) (any, *apiError) {
	_, t, aerr := s.topicByArn(req, req.form.Get("TopicArn"), "TopicArn")
	if aerr != nil {
		return nil, aerr
	}
	label := req.form.Get("Label")
	accounts, actions := formList(req.form, "AWSAccountId"), formList(req.form, "ActionName")
	if label == "" || len(accounts) == 0 || len(actions) == 0 {
		return nil, errSNSParam("Label")
	}
	for _, a := range actions {
		if !snsActionNames[a] {
			return nil, errSNSParam("Policy statement action out of service scope!")
		}
	}
	return nil, s.updateTopic(t, func(t *snsTopic) *apiError {
		if _, ok := t.Permissions[label]; ok {
			return errSNSParam("Statement already exists")
		}
		if t.Permissions == nil {
			t.Permissions = map[string]permission{}
		}
		t.Permissions[label] = permission{Accounts: accounts, Actions: actions}
		return nil
	})
}

func (s *snsService) removePermission(req *request) (any, *apiError) {
	_, t, aerr := s.topicByArn(req, req.form.Get("TopicArn"), "TopicArn")
	if aerr != nil {
		return nil, aerr
	}
	label := req.form.Get("Label")
	return nil, s.updateTopic(t, func(t *snsTopic) *apiError {
		delete(t.Permissions, label)
		return nil
	})
}
