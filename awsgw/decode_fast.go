package awsgw

import (
	"cmp"
	"net/url"
	"slices"
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
	return decodeQueryView(formView{m: form}, in)
}

// formView is a parsed form: its map, or its pairs in the order sent
// (parseFormPairs, a key may repeat: the decoder declines such a form),
// or both.
type formView struct {
	m          url.Values // nil: only the pairs
	keys, vals []string   // nil: only the map
}

// decodeQueryView is decodeQueryFast over a formView: with the order
// sent, the list parameters of a batch usually come already sorted.
func decodeQueryView(form formView, in any) (ok bool) {
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
				func(head string, items []listParam) bool { return receiveList(y, head, items) })
		})
	case *entriesInput:
		return fillFresh(x, func(y *entriesInput) bool {
			return fillFlat(form, func(k, v string) bool { return setQueueURL(&y.QueueUrl, k, v) }, queueURLNames,
				func(head string, items []listParam) bool {
					return fillEntries(head, items, &y.Entries, setDelete, deleteNames)
				})
		})
	case *sendBatchInput:
		return fillFresh(x, func(y *sendBatchInput) bool {
			return fillFlat(form, func(k, v string) bool { return setQueueURL(&y.QueueUrl, k, v) }, queueURLNames,
				func(head string, items []listParam) bool {
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
	// Each pointer takes its own copy of v, declared in its case: taking
	// &v would move v to the heap on every call, the Id's too.
	case "MessageBody":
		b := v
		x.MessageBody = &b
	case "DelaySeconds":
		x.DelaySeconds = queryInt(v)
	case "MessageDeduplicationId":
		d := v
		x.MessageDeduplicationId = &d
	case "MessageGroupId":
		g := v
		x.MessageGroupId = &g
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

// listParam is one list parameter "Head.N" or "Head.N.Member".
type listParam struct {
	head   string
	n      int
	member string
	v      string
}

// compareListParams orders list parameters by head, index and member.
func compareListParams(a, b listParam) int {
	if c := strings.Compare(a.head, b.head); c != 0 {
		return c
	}
	if c := cmp.Compare(a.n, b.n); c != 0 {
		return c
	}
	return strings.Compare(a.member, b.member)
}

// fillFlat sets the flat parameters through fields and hands each list
// (a parameter "Head.N" or "Head.N.Member") to list, its parameters
// ordered by index, then member. Parameters the generic path ignores are
// ignored.
func fillFlat(form formView, set func(k, v string) bool, names []string, list func(head string, items []listParam) bool) bool {
	var params []listParam
	var flat [16]string // the flat keys seen, for repeats in pairs
	nflat := 0
	param := func(k, v string) bool {
		if !utf8.ValidString(v) {
			return false
		}
		head, rest, nested := strings.Cut(k, ".")
		if !nested {
			if form.keys != nil {
				if nflat == len(flat) || slices.Contains(flat[:nflat], k) {
					return false // a repeated key, or more flat ones than an action has
				}
				flat[nflat] = k
				nflat++
			}
			return set(k, v) || !foldsInto(k, names)
		}
		if list == nil {
			return false
		}
		idx, member, _ := strings.Cut(rest, ".")
		n, ok := listIndex(idx)
		if !ok || strings.Contains(member, ".") {
			return false
		}
		if params == nil {
			params = make([]listParam, 0, max(len(form.m), len(form.keys)))
		}
		params = append(params, listParam{head: head, n: n, member: member, v: v})
		return true
	}
	if form.keys != nil {
		for i, k := range form.keys {
			if !param(k, form.vals[i]) {
				return false
			}
		}
	} else {
		for k, vs := range form.m {
			if !param(k, vs[0]) {
				return false
			}
		}
	}
	if len(params) == 0 {
		return true
	}
	// Each key is sent once (a repeat in pairs is declined below), so no
	// two parameters compare equal and the order is the same whether
	// sorted here or already sent in order.
	if !slices.IsSortedFunc(params, compareListParams) {
		slices.SortFunc(params, compareListParams)
	}
	if form.keys != nil {
		for i := 1; i < len(params); i++ {
			if compareListParams(params[i-1], params[i]) == 0 {
				return false // a repeated key
			}
		}
	}
	if !distinctLists(params) {
		return false
	}
	for i := 0; i < len(params); {
		j := i + 1
		for j < len(params) && params[j].head == params[i].head {
			j++
		}
		if !list(params[i].head, params[i:j]) {
			return false
		}
		i = j
	}
	return true
}

// nextItem returns the end of the item that starts at items[i] (the
// parameters of the same index).
func nextItem(items []listParam, i int) int {
	j := i + 1
	for j < len(items) && items[j].n == items[i].n {
		j++
	}
	return j
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

// distinctLists reports whether the lists (sorted by head) fill
// different members: the three batch entry names all fill Entries.
func distinctLists(params []listParam) bool {
	entries := 0
	for i, p := range params {
		if (i == 0 || params[i-1].head != p.head) && strings.HasSuffix(p.head, "BatchRequestEntry") {
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

// receiveList fills one of ReceiveMessage's name lists.
func receiveList(x *receiveInput, head string, items []listParam) bool {
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
	for i := 0; i < len(items); {
		j := nextItem(items, i)
		if j != i+1 || items[i].member != "" {
			return false
		}
		out = append(out, items[i].v)
		i = j
	}
	*dst = out
	return true
}

// fillEntries fills a batch's entries through set.
func fillEntries[E any](head string, items []listParam, dst *[]E, set func(*E, string, string) bool, names []string) bool {
	if !strings.HasSuffix(head, "BatchRequestEntry") || queryList[head] != "Entries" {
		return false
	}
	n := 0
	for i := 0; i < len(items); i = nextItem(items, i) {
		n++
	}
	out := make([]E, n)
	k := 0
	for i := 0; i < len(items); k++ {
		j := nextItem(items, i)
		for _, p := range items[i:j] {
			if !set(&out[k], p.member, p.v) && (p.member == "" || foldsInto(p.member, names)) {
				return false
			}
		}
		i = j
	}
	*dst = out
	return true
}
