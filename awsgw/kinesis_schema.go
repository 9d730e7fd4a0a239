package awsgw

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The Kinesis input shapes and their constraints, in the member and
// constraint order the service checks them, so that a request breaking
// several gets AWS's "n validation errors detected: …" text verbatim.

type checkOp uint8

const (
	opNotNull     checkOp = iota
	opNotNullName         // not null unless StreamARN is given
	opRegex
	opMinLen
	opMaxLen
	opGE
	opLE
	opEnum
	opChildLens
	opKeyLens
	opValueLens
)

// check is one constraint of a member.
type check struct {
	op   checkOp
	n, m int64
	re   *regexp.Regexp
	pat  string
	enum []string
}

// field is a member of an input shape.
type field struct {
	name      string
	typ       kinesisType
	checks    []check
	members   []field // tStruct
	elem      *field  // tList, tMap
	memberStr string  // how a list shows its items in a message
}

func notNull() check       { return check{op: opNotNull} }
func minLen(n int64) check { return check{op: opMinLen, n: n} }
func maxLen(n int64) check { return check{op: opMaxLen, n: n} }
func ge(n int64) check     { return check{op: opGE, n: n} }
func le(n int64) check     { return check{op: opLE, n: n} }
func enum(v ...string) check {
	return check{op: opEnum, enum: v}
}
func regex(p string) check {
	return check{op: opRegex, pat: p, re: regexp.MustCompile("^(?:" + p + ")$")}
}

const (
	nameRe     = `[a-zA-Z0-9_.-]+`
	seqRe      = `0|([1-9]\d{0,128})`
	hashKeyRe  = `0|([1-9]\d{0,38})`
	streamARNe = `arn:aws.*:kinesis:.*:\d{12}:stream/\S+`
	consARNRe  = `^(arn):aws.*:kinesis:.*:\d{12}:.*stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:[0-9]+`
)

var (
	fStreamName = field{name: "StreamName", typ: tString,
		checks: []check{{op: opNotNullName}, regex(nameRe), minLen(1), maxLen(128)}}
	fStreamNameOpt = field{name: "StreamName", typ: tString, checks: []check{regex(nameRe), minLen(1), maxLen(128)}}
	fStreamARN     = field{name: "StreamARN", typ: tString, checks: []check{regex(streamARNe), minLen(1), maxLen(2048)}}
	fStreamARNReq  = field{name: "StreamARN", typ: tString, checks: []check{notNull(), regex(streamARNe), minLen(1), maxLen(2048)}}
	fStreamMode    = field{name: "StreamModeDetails", typ: tStruct, members: []field{
		{name: "StreamMode", typ: tString, checks: []check{notNull(), enum("PROVISIONED", "ON_DEMAND")}}}}
	fConsumerName = field{name: "ConsumerName", typ: tString, checks: []check{regex(nameRe), minLen(1), maxLen(128)}}
	fConsumerARN  = field{name: "ConsumerARN", typ: tString, checks: []check{regex(consARNRe), minLen(1), maxLen(2048)}}
	fNextToken    = field{name: "NextToken", typ: tString, checks: []check{minLen(1), maxLen(1048576)}}
	fCreationTime = field{name: "StreamCreationTimestamp", typ: tTimestamp}
	fMetrics      = field{name: "ShardLevelMetrics", typ: tList, checks: []check{notNull(), minLen(1), maxLen(7)},
		elem: &field{typ: tString, checks: []check{enum("IncomingBytes", "IncomingRecords", "OutgoingBytes",
			"OutgoingRecords", "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded",
			"IteratorAgeMilliseconds", "ALL")}}}
	fEncryption = []field{fStreamName,
		{name: "EncryptionType", typ: tString, checks: []check{notNull(), enum("NONE", "KMS")}},
		{name: "KeyId", typ: tString, checks: []check{notNull(), minLen(1), maxLen(2048)}}, fStreamARN}
	fRetention = []field{{name: "RetentionPeriodHours", typ: tInteger, checks: []check{notNull(), ge(1), le(8760)}},
		fStreamName, fStreamARN}
)

func shardField(name string, required bool) field {
	f := field{name: name, typ: tString, checks: []check{regex(nameRe), minLen(1), maxLen(128)}}
	if required {
		f.checks = append([]check{notNull()}, f.checks...)
	}
	return f
}

func intField(name string, lo, hi int64, required bool) field {
	f := field{name: name, typ: tInteger, checks: []check{ge(lo), le(hi)}}
	if required {
		f.checks = append([]check{notNull()}, f.checks...)
	}
	return f
}

// kinesisSchemas are the input shapes by action.
var kinesisSchemas = map[string][]field{
	"CreateStream": {intField("ShardCount", 1, 100000, false), fStreamName, fStreamMode,
		{name: "Tags", typ: tMap, elem: &field{typ: tString}, checks: []check{minLen(1), maxLen(50),
			{op: opKeyLens, n: 1, m: 128}, {op: opValueLens, n: 0, m: 256}}}},
	"DeleteStream": {fStreamName, {name: "EnforceConsumerDeletion", typ: tBoolean}, fStreamARN},
	"DescribeStream": {intField("Limit", 1, 10000, false), shardField("ExclusiveStartShardId", false),
		fStreamName, fStreamARN},
	"DescribeStreamSummary": {fStreamName, fStreamARN},
	"ListStreams": {intField("Limit", 1, 10000, false),
		{name: "ExclusiveStartStreamName", typ: tString, checks: []check{regex(nameRe), minLen(1), maxLen(128)}},
		fNextToken},
	"ListShards": {shardField("ExclusiveStartShardId", false), intField("MaxResults", 1, 10000, false),
		fNextToken, fCreationTime, fStreamNameOpt, fStreamARN,
		{name: "ShardFilter", typ: tStruct, members: []field{
			{name: "Type", typ: tString, checks: []check{notNull(), enum("AFTER_SHARD_ID", "AT_TRIM_HORIZON",
				"FROM_TRIM_HORIZON", "AT_LATEST", "AT_TIMESTAMP", "FROM_TIMESTAMP")}},
			shardField("ShardId", false), {name: "Timestamp", typ: tTimestamp}}}},
	"PutRecord": {{name: "SequenceNumberForOrdering", typ: tString, checks: []check{regex(seqRe)}},
		fPartitionKey, fExplicitHashKey, fData, fStreamName, fStreamARN},
	"PutRecords": {{name: "Records", typ: tList, checks: []check{notNull(), minLen(1), maxLen(500)},
		memberStr: "com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310",
		elem:      &field{typ: tStruct, members: []field{fPartitionKey, fExplicitHashKey, fData}}},
		fStreamName, fStreamARN},
	"GetShardIterator": {shardField("ShardId", true),
		{name: "ShardIteratorType", typ: tString, checks: []check{notNull(), enum("AFTER_SEQUENCE_NUMBER",
			"LATEST", "AT_TIMESTAMP", "AT_SEQUENCE_NUMBER", "TRIM_HORIZON")}},
		{name: "StartingSequenceNumber", typ: tString, checks: []check{regex(seqRe)}},
		fStreamName, {name: "Timestamp", typ: tTimestamp}, fStreamARN},
	"GetRecords": {intField("Limit", 1, 10000, false),
		{name: "ShardIterator", typ: tString, checks: []check{notNull(), minLen(1), maxLen(512)}}, fStreamARN},
	"SplitShard": {{name: "NewStartingHashKey", typ: tString, checks: []check{notNull(), regex(hashKeyRe)}},
		fStreamName, shardField("ShardToSplit", true), fStreamARN},
	"MergeShards": {shardField("ShardToMerge", true), shardField("AdjacentShardToMerge", true),
		fStreamName, fStreamARN},
	"UpdateShardCount": {fStreamName, intField("TargetShardCount", 1, 100000, true),
		{name: "ScalingType", typ: tString, checks: []check{notNull(), enum("UNIFORM_SCALING")}}, fStreamARN},
	"IncreaseStreamRetentionPeriod": fRetention,
	"DecreaseStreamRetentionPeriod": fRetention,
	"AddTagsToStream": {{name: "Tags", typ: tMap, elem: &field{typ: tString}, checks: []check{notNull(),
		minLen(1), maxLen(50), {op: opKeyLens, n: 1, m: 128}, {op: opValueLens, n: 0, m: 256}}},
		fStreamName, fStreamARN},
	"RemoveTagsFromStream": {{name: "TagKeys", typ: tList, elem: &field{typ: tString}, checks: []check{notNull(),
		minLen(1), maxLen(50), {op: opChildLens, n: 1, m: 128}}}, fStreamName, fStreamARN},
	"ListTagsForStream": {intField("Limit", 1, 50, false),
		{name: "ExclusiveStartTagKey", typ: tString, checks: []check{minLen(1), maxLen(128)}},
		fStreamName, fStreamARN},
	"StartStreamEncryption":     fEncryption,
	"StopStreamEncryption":      fEncryption,
	"EnableEnhancedMonitoring":  {fStreamName, fMetrics, fStreamARN},
	"DisableEnhancedMonitoring": {fStreamName, fMetrics, fStreamARN},
	"UpdateStreamMode": {fStreamARNReq, {name: "StreamModeDetails", typ: tStruct, checks: []check{notNull()},
		members: fStreamMode.members}},
	"DescribeLimits": {},
	"RegisterStreamConsumer": {fStreamARNReq,
		{name: "ConsumerName", typ: tString, checks: []check{notNull(), regex(nameRe), minLen(1), maxLen(128)}}},
	"DeregisterStreamConsumer": {fStreamARN, fConsumerName, fConsumerARN},
	"DescribeStreamConsumer":   {fStreamARN, fConsumerName, fConsumerARN},
	"ListStreamConsumers":      {fStreamARNReq, fNextToken, intField("MaxResults", 1, 10000, false), fCreationTime},
}

var (
	fPartitionKey    = field{name: "PartitionKey", typ: tString, checks: []check{notNull(), minLen(1), maxLen(256)}}
	fExplicitHashKey = field{name: "ExplicitHashKey", typ: tString, checks: []check{regex(hashKeyRe)}}
	fData            = field{name: "Data", typ: tBlob, checks: []check{notNull(), maxLen(maxRecordData)}}
)

// validateKinesis checks p (already converted by checkMembers) against
// the constraints of members, collecting at most 10 messages as AWS does.
func validateKinesis(p map[string]any, members []field) *apiError {
	var errs []string
	_, hasARN := p["StreamARN"]
	validateMembers(p, members, "", hasARN, &errs)
	if len(errs) == 0 {
		return nil
	}
	s := ""
	if len(errs) > 1 {
		s = "s"
	}
	return errValidation("%d validation error%s detected: %s", len(errs), s, strings.Join(errs, "; "))
}

func validateMembers(p map[string]any, members []field, parent string, hasARN bool, errs *[]string) {
	for i := range members {
		validateField(&members[i], p[members[i].name], parent, members[i].name, hasARN, errs)
	}
}

func validateField(f *field, v any, parent, name string, hasARN bool, errs *[]string) {
	path := lowerFirst(name)
	if parent != "" {
		path = parent + "." + path
	}
	for _, c := range f.checks {
		if len(*errs) >= 10 {
			return
		}
		if v == nil && c.op != opNotNull && c.op != opNotNullName {
			continue
		}
		if msg := c.failure(v, hasARN); msg != "" {
			*errs = append(*errs, "Value "+valueStr(v, f)+" at '"+path+"' failed to satisfy constraint: "+msg)
		}
	}
	switch {
	case v == nil:
	case f.typ == tList && f.elem != nil:
		for i, item := range v.([]any) {
			itemPath := path + "." + strconv.Itoa(i+1)
			if f.elem.typ == tStruct {
				m, _ := item.(map[string]any)
				validateMembers(m, f.elem.members, itemPath+".member", hasARN, errs)
				continue
			}
			validateField(f.elem, item, "", itemPath+".member", hasARN, errs)
		}
	case f.typ == tStruct:
		m, _ := v.(map[string]any)
		validateMembers(m, f.members, path, hasARN, errs)
	}
}

// failure returns the constraint text when v breaks c, else "".
func (c check) failure(v any, hasARN bool) string {
	switch c.op {
	case opNotNull, opNotNullName:
		if v == nil && !(c.op == opNotNullName && hasARN) {
			return "Member must not be null"
		}
	case opRegex:
		if s, _ := v.(string); !c.re.MatchString(s) {
			return "Member must satisfy regular expression pattern: " + c.pat
		}
	case opMinLen:
		if int64(length(v)) < c.n {
			return "Member must have length greater than or equal to " + strconv.FormatInt(c.n, 10)
		}
	case opMaxLen:
		if int64(length(v)) > c.n {
			return "Member must have length less than or equal to " + strconv.FormatInt(c.n, 10)
		}
	case opGE:
		if n, _ := v.(int64); n < c.n {
			return "Member must have value greater than or equal to " + strconv.FormatInt(c.n, 10)
		}
	case opLE:
		if n, _ := v.(int64); n > c.n {
			return "Member must have value less than or equal to " + strconv.FormatInt(c.n, 10)
		}
	case opEnum:
		s, _ := v.(string)
		for _, e := range c.enum {
			if s == e {
				return ""
			}
		}
		return "Member must satisfy enum value set: [" + strings.Join(c.enum, ", ") + "]"
	default:
		return c.childFailure(v)
	}
	return ""
}

// childFailure checks the lengths of list items or map keys and values.
func (c check) childFailure(v any) string {
	bounds := "[Member must have length less than or equal to " + strconv.FormatInt(c.m, 10) +
		", Member must have length greater than or equal to " + strconv.FormatInt(c.n, 10) + "]"
	in := func(s string) bool { return int64(len(s)) >= c.n && int64(len(s)) <= c.m }
	switch c.op {
	case opChildLens:
		for _, item := range v.([]any) {
			if s, _ := item.(string); !in(s) {
				return "Member must satisfy constraint: " + bounds
			}
		}
	case opKeyLens:
		for k := range v.(map[string]any) {
			if !in(k) {
				return "Map keys must satisfy constraint: " + bounds
			}
		}
	case opValueLens:
		for _, item := range v.(map[string]any) {
			if s, _ := item.(string); !in(s) {
				return "Map value must satisfy constraint: " + bounds
			}
		}
	}
	return ""
}

func length(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case []byte:
		return len(x)
	case []any:
		return len(x)
	case map[string]any:
		return len(x)
	}
	return 0
}

// valueStr shows a value as Coral does in a validation message.
func valueStr(v any, f *field) string {
	if v == nil {
		return "null"
	}
	var s string
	switch x := v.(type) {
	case []byte:
		n := strconv.Itoa(len(x))
		s = "java.nio.HeapByteBuffer[pos=0 lim=" + n + " cap=" + n + "]"
	case []any:
		items := make([]string, len(x))
		for i, item := range x {
			items[i] = f.memberStr
			if f.memberStr == "" {
				items[i] = valueStr(item, &field{})
				items[i] = strings.Trim(items[i], "'")
			}
		}
		s = "[" + strings.Join(items, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = k + "=" + strings.Trim(valueStr(x[k], &field{}), "'")
		}
		s = "{" + strings.Join(keys, ", ") + "}"
	case string:
		s = x
	case int64:
		s = strconv.FormatInt(x, 10)
	case bool:
		s = strconv.FormatBool(x)
	default:
		s = "?"
	}
	return "'" + s + "'"
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
