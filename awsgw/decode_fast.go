package awsgw

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The SQS Query hot path (SendMessage, SendMessageBatch, ReceiveMessage,
// DeleteMessage, DeleteMessageBatch, ChangeMessageVisibility[Batch])
// decodes its form straight into the input struct instead of building
// formTree, encoding it as JSON and decoding that. decodeQueryFast takes
// only forms whose every parameter it can place exactly as the generic
// path would; anything else (message attributes, unusual indexes, names
// that differ only in case, values that are not valid UTF-8) is left to
// decodeInput's generic path.

// decodeQueryFast decodes form into in when in is one of the hot inputs
// and the form is plain; ok=false leaves it to the generic path (and in
// untouched).
func decodeQueryFast(form url.Values, in any) (ok bool) {
	switch x := in.(type) {
	case *deleteInput:
		return fillFresh(x, func(y *deleteInput) bool {
			return fillFlat(form, func(k, v string) bool { return setDelete(y, k, v) }, deleteNames, nil)
		})
	case *sendInput:
		return fillFresh(x, func(y *sendInput) bool {
			return fillFlat(form, func(k, v string) bool { return setSend(y, k, v) }, sendNames, nil)
		})
	case *receiveInput:
		return fillFresh(x, func(y *receiveInput) bool {
			return fillFlat(form, func(k, v string) bool { return setReceive(y, k, v) }, receiveNames,
				func(head string, items map[int]map[string]string) bool { return receiveList(y, head, items) })
		})
	case *entriesInput:
		return fillFresh(x, func(y *entriesInput) bool {
			return fillFlat(form, func(k, v string) bool { return setQueueURL(&y.QueueUrl, k, v) }, queueURLNames,
				func(head string, items map[int]map[string]string) bool {
					return fillEntries(head, items, &y.Entries, setDelete, deleteNames)
				})
		})
	case *sendBatchInput:
		return fillFresh(x, func(y *sendBatchInput) bool {
			return fillFlat(form, func(k, v string) bool { return setQueueURL(&y.QueueUrl, k, v) }, queueURLNames,
				func(head string, items map[int]map[string]string) bool {
					return fillEntries(head, items, &y.Entries, setSend, sendNames)
				})
		})
	}
	return false
}

// fillFresh fills a zero T and, if fill succeeds, stores it in x.
func fillFresh[T any](x *T, fill func(*T) bool) bool {
	var y T
	if !fill(&y) {
		return false
	}
	*x = y
	return true
}

// Member names of the fast inputs (the json tags), for the generic
// path's case-insensitive matching.
var (
	queueURLNames = []string{"QueueUrl"}
	deleteNames   = []string{"QueueUrl", "Id", "ReceiptHandle", "VisibilityTimeout"}
	sendNames     = []string{"QueueUrl", "Id", "MessageBody", "DelaySeconds", "MessageDeduplicationId", "MessageGroupId"}
	receiveNames  = []string{"QueueUrl", "MaxNumberOfMessages", "VisibilityTimeout", "WaitTimeSeconds", "ReceiveRequestAttemptId"}
)

func setQueueURL(dst *string, k, v string) bool {
	if k != "QueueUrl" {
		return false
	}
	*dst = v
	return true
}

func setDelete(x *deleteInput, k, v string) bool {
	switch k {
	case "QueueUrl":
		x.QueueUrl = v
	case "Id":
		x.Id = v
	case "ReceiptHandle":
		x.ReceiptHandle = v
	case "VisibilityTimeout":
		x.VisibilityTimeout = queryInt(v)
	default:
		return false
	}
	return true
}

func setSend(x *sendInput, k, v string) bool {
	switch k {
	case "QueueUrl":
		x.QueueUrl = v
	case "Id":
		x.Id = v
	case "MessageBody":
		x.MessageBody = &v
	case "DelaySeconds":
		x.DelaySeconds = queryInt(v)
	case "MessageDeduplicationId":
		x.MessageDeduplicationId = &v
	case "MessageGroupId":
		x.MessageGroupId = &v
	default:
		return false
	}
	return true
}

func setReceive(x *receiveInput, k, v string) bool {
	switch k {
	case "QueueUrl":
		x.QueueUrl = v
	case "MaxNumberOfMessages":
		x.MaxNumberOfMessages = queryInt(v)
	case "VisibilityTimeout":
		x.VisibilityTimeout = queryInt(v)
	case "WaitTimeSeconds":
		x.WaitTimeSeconds = queryInt(v)
	case "ReceiveRequestAttemptId":
		x.ReceiveRequestAttemptId = v
	default:
		return false
	}
	return true
}

// queryInt decodes an integer parameter as optInt.UnmarshalJSON decodes
// the JSON string the generic path makes of it.
func queryInt(v string) optInt {
	o := optInt{Set: true}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		o.Bad = v
		if o.Bad == "" {
			o.Bad = " "
		}
		return o
	}
	o.Value = n
	return o
}

// jsonNames are the json member names of the fast inputs' list fields
// and of the generic tree's lists, which a flat parameter must not match
// (ignoring case) for the generic path to ignore it as well.
var jsonNames = []string{"AttributeNames", "MessageAttributeNames", "MessageSystemAttributeNames",
	"Entries", "MessageAttributes", "MessageSystemAttributes"}

// fillFlat sets the flat parameters through fields and hands each list
// (a parameter "Head.N" or "Head.N.Member") to list, grouped by index.
// Parameters the generic path ignores are ignored.
func fillFlat(form url.Values, set func(k, v string) bool, names []string, list func(head string, items map[int]map[string]string) bool) bool {
	var lists map[string]map[int]map[string]string
	for k, vs := range form {
		v := vs[0]
		if !utf8.ValidString(v) {
			return false
		}
		head, rest, nested := strings.Cut(k, ".")
		if !nested {
			if !set(k, v) && foldsInto(k, names) {
				return false
			}
			continue
		}
		if list == nil {
			return false
		}
		idx, member, _ := strings.Cut(rest, ".")
		n, ok := listIndex(idx)
		if !ok || strings.Contains(member, ".") {
			return false
		}
		if lists == nil {
			lists = map[string]map[int]map[string]string{}
		}
		items := lists[head]
		if items == nil {
			items = map[int]map[string]string{}
			lists[head] = items
		}
		if items[n] == nil {
			items[n] = map[string]string{}
		}
		items[n][member] = v
	}
	if len(lists) > 1 && !distinctLists(lists) {
		return false
	}
	for head, items := range lists {
		if !list(head, items) {
			return false
		}
	}
	return true
}

// foldsInto reports whether k names a field or a list member ignoring
// case (json.Unmarshal would then fill it).
func foldsInto(k string, names []string) bool {
	for _, name := range names {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	for _, name := range jsonNames {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// distinctLists reports whether the lists fill different members: the
// three batch entry names all fill Entries.
func distinctLists(lists map[string]map[int]map[string]string) bool {
	entries := 0
	for head := range lists {
		if strings.HasSuffix(head, "BatchRequestEntry") {
			entries++
		}
	}
	return entries <= 1
}

// listIndex parses a list index as the generic path would use it: a
// positive decimal without sign or leading zeros.
func listIndex(s string) (int, bool) {
	if s == "" || s[0] == '0' || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// sortedIndexes returns the indexes of items in order.
func sortedIndexes(items map[int]map[string]string) []int {
	keys := make([]int, 0, len(items))
	for n := range items {
		keys = append(keys, n)
	}
	sort.Ints(keys)
	return keys
}

// receiveList fills one of ReceiveMessage's name lists.
func receiveList(x *receiveInput, head string, items map[int]map[string]string) bool {
	var dst *[]string
	switch head {
	case "AttributeName":
		dst = &x.AttributeNames
	case "MessageAttributeName":
		dst = &x.MessageAttributeNames
	case "MessageSystemAttributeName":
		dst = &x.MessageSystemAttributeNames
	default:
		return false
	}
	out := make([]string, 0, len(items))
	for _, n := range sortedIndexes(items) {
		v, ok := items[n][""]
		if !ok || len(items[n]) != 1 {
			return false
		}
		out = append(out, v)
	}
	*dst = out
	return true
}

// fillEntries fills a batch's entries through set.
func fillEntries[E any](head string, items map[int]map[string]string, dst *[]E, set func(*E, string, string) bool, names []string) bool {
	if !strings.HasSuffix(head, "BatchRequestEntry") || queryList[head] != "Entries" {
		return false
	}
	keys := sortedIndexes(items)
	out := make([]E, len(keys))
	for i, n := range keys {
		for member, v := range items[n] {
			if !set(&out[i], member, v) && (member == "" || foldsInto(member, names)) {
				return false
			}
		}
	}
	*dst = out
	return true
}
