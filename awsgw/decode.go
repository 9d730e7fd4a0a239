package awsgw

import (
	"bytes"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// optInt is an optional integer parameter. It decodes from a JSON number
// (AWS JSON) or a string (Query); a value that is not an integer is kept
// as its text so the handler can report it as AWS does.
type optInt struct {
	Set   bool
	Value int64
	Bad   string // set when the value was given but is not an integer
}

// UnmarshalJSON accepts 5, "5" and null.
func (o *optInt) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	o.Set = true
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		o.Bad = s
		if o.Bad == "" {
			o.Bad = " "
		}
		return nil
	}
	o.Value = v
	return nil
}

// decodeInput decodes a request's parameters into in (a pointer to the
// action's input struct, with AWS JSON member names as json tags).
func decodeInput(req *request, in any) *apiError {
	var data []byte
	if req.proto == protoJSON {
		data = req.body
		if len(bytes.TrimSpace(data)) == 0 {
			data = []byte("{}")
		}
	} else {
		if tooDeep(req.form) || req.form == nil && tooDeepKeys(req.formKeys) {
			return errSerialization("parameter name nested deeper than " + strconv.Itoa(maxQueryDepth) + " levels")
		}
		if decodeQueryView(formView{m: req.form, keys: req.formKeys, vals: req.formVals}, in) {
			return nil
		}
		if req.form == nil { // a hot SQS action the fast path declined: the map now
			req.form = pairsForm(req.formKeys, req.formVals)
		}
		tree := formTree(req.form)
		var err error
		if data, err = json.Marshal(tree); err != nil {
			return errSerialization("malformed parameters")
		}
	}
	if err := json.Unmarshal(data, in); err != nil {
		return errSerialization("Start of structure or map found where not expected.")
	}
	return nil
}

// maxQueryDepth bounds the dots in a Query parameter name. AWS's deepest
// (SendMessageBatchRequestEntry.N.MessageAttribute.N.Value.StringListValue.N)
// has 6; formTree's time grows with the square of a name's depth, so a
// name nested thousands deep (an 8 MiB body holds one two million deep)
// would hold a core for minutes.
const maxQueryDepth = 16

// tooDeep reports whether a parameter name is nested past maxQueryDepth.
func tooDeep(form url.Values) bool {
	for k := range form {
		if strings.Count(k, ".") > maxQueryDepth {
			return true
		}
	}
	return false
}

// tooDeepKeys is tooDeep over a form's keys.
func tooDeepKeys(keys []string) bool {
	for _, k := range keys {
		if strings.Count(k, ".") > maxQueryDepth {
			return true
		}
	}
	return false
}

// queryList maps a flattened Query list prefix to its JSON member.
var queryList = map[string]string{
	"AttributeName":                            "AttributeNames",
	"MessageAttributeName":                     "MessageAttributeNames",
	"MessageSystemAttributeName":               "MessageSystemAttributeNames",
	"TagKey":                                   "TagKeys",
	"AWSAccountId":                             "AWSAccountIds",
	"ActionName":                               "Actions",
	"StringListValue":                          "StringListValues",
	"BinaryListValue":                          "BinaryListValues",
	"SendMessageBatchRequestEntry":             "Entries",
	"DeleteMessageBatchRequestEntry":           "Entries",
	"ChangeMessageVisibilityBatchRequestEntry": "Entries",
}

// queryMap maps a flattened Query map prefix to its JSON member and the
// names of its key and value fields.
var queryMap = map[string][3]string{
	"Attribute":              {"Attributes", "Name", "Value"},
	"MessageAttribute":       {"MessageAttributes", "Name", "Value"},
	"MessageSystemAttribute": {"MessageSystemAttributes", "Name", "Value"},
	"Tag":                    {"Tags", "Key", "Value"},
}

// formTree turns flattened Query parameters ("Attribute.1.Name",
// "SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.StringValue")
// into the nested shape of the AWS JSON protocol. Values stay strings.
func formTree(form url.Values) map[string]any {
	flat := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) > 0 {
			flat[k] = v[0]
		}
	}
	return buildTree(flat)
}

func buildTree(flat map[string]string) map[string]any {
	out := map[string]any{}
	groups := map[string]map[string]string{} // prefix → rest → value
	for k, v := range flat {
		head, rest, nested := strings.Cut(k, ".")
		_, isList := queryList[head]
		_, isMap := queryMap[head]
		if !nested || (!isList && !isMap) {
			if nested {
				// A structure member ("Value.StringValue").
				g := groups["."+head]
				if g == nil {
					g = map[string]string{}
					groups["."+head] = g
				}
				g[rest] = v
				continue
			}
			out[k] = v
			continue
		}
		g := groups[head]
		if g == nil {
			g = map[string]string{}
			groups[head] = g
		}
		g[rest] = v
	}
	for head, g := range groups {
		switch {
		case strings.HasPrefix(head, "."):
			out[head[1:]] = buildTree(g)
		case queryList[head] != "":
			out[queryList[head]] = buildList(g)
		default:
			spec := queryMap[head]
			out[spec[0]] = buildMap(g, spec[1], spec[2])
		}
	}
	return out
}

// indexed groups "N.rest" entries by their index N, in index order.
func indexed(g map[string]string) ([]int, map[int]map[string]string) {
	items := map[int]map[string]string{}
	for k, v := range g {
		idx, rest, _ := strings.Cut(k, ".")
		n, err := strconv.Atoi(idx)
		if err != nil || n < 1 {
			continue
		}
		if items[n] == nil {
			items[n] = map[string]string{}
		}
		items[n][rest] = v
	}
	keys := make([]int, 0, len(items))
	for n := range items {
		keys = append(keys, n)
	}
	sort.Ints(keys)
	return keys, items
}

func buildList(g map[string]string) []any {
	keys, items := indexed(g)
	out := make([]any, 0, len(keys))
	for _, n := range keys {
		it := items[n]
		if v, ok := it[""]; ok && len(it) == 1 {
			out = append(out, v)
			continue
		}
		out = append(out, buildTree(it))
	}
	return out
}

func buildMap(g map[string]string, keyName, valName string) map[string]any {
	keys, items := indexed(g)
	out := make(map[string]any, len(keys))
	for _, n := range keys {
		it := items[n]
		k, ok := it[keyName]
		if !ok {
			continue
		}
		if v, ok := it[valName]; ok {
			out[k] = v
			continue
		}
		sub := map[string]string{}
		for rk, rv := range it {
			if r, ok := strings.CutPrefix(rk, valName+"."); ok {
				sub[r] = rv
			}
		}
		out[k] = buildTree(sub)
	}
	return out
}
