package awsgw

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// SNS Query parameters use "member" lists and "entry" maps:
// Tags.member.1.Key, Attributes.entry.1.key, MessageAttributes.entry.1.Name
// with .Value.DataType. These helpers read them from the form.

// formIndexed groups the parameters under prefix+".N." by N, in order.
func formIndexed(form url.Values, prefix string) []map[string]string {
	byIdx := map[int]map[string]string{}
	for k, v := range form {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok || len(v) == 0 {
			continue
		}
		idx, field, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(idx)
		if err != nil || n < 1 {
			continue
		}
		if byIdx[n] == nil {
			byIdx[n] = map[string]string{}
		}
		byIdx[n][field] = v[0]
	}
	keys := make([]int, 0, len(byIdx))
	for n := range byIdx {
		keys = append(keys, n)
	}
	sort.Ints(keys)
	out := make([]map[string]string, 0, len(keys))
	for _, n := range keys {
		out = append(out, byIdx[n])
	}
	return out
}

// formList reads a member list of strings (TagKeys.member.N).
func formList(form url.Values, prefix string) []string {
	var out []string
	for _, it := range formIndexed(form, prefix+".member") {
		out = append(out, it[""])
	}
	return out
}

// formMap reads an entry map with lowercase key/value (Attributes).
func formMap(form url.Values, prefix string) map[string]string {
	out := map[string]string{}
	for _, it := range formIndexed(form, prefix+".entry") {
		if k, ok := it["key"]; ok {
			out[k] = it["value"]
		}
	}
	return out
}

// tagPair is one tag of a request.
type tagPair struct{ Key, Value string }

// formTags reads Tags.member.N.Key/Value, keeping duplicates.
func formTags(form url.Values, prefix string) []tagPair {
	var out []tagPair
	for _, it := range formIndexed(form, prefix+".member") {
		out = append(out, tagPair{it["Key"], it["Value"]})
	}
	return out
}

// snsAttrIn is one message attribute of a Publish.
type snsAttrIn struct {
	Name        string
	DataType    *string
	StringValue *string
	BinaryValue *string
}

// formMessageAttrs reads MessageAttributes.entry.N.Name/Value.* from
// a form whose keys are relative to the entry (prefix may name a batch
// entry).
func formMessageAttrs(items map[string]string, prefix string) []snsAttrIn {
	sub := url.Values{}
	for k, v := range items {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			sub.Set(rest, v)
		}
	}
	var out []snsAttrIn
	for _, it := range formIndexed(sub, "MessageAttributes.entry") {
		a := snsAttrIn{Name: it["Name"]}
		if v, ok := it["Value.DataType"]; ok {
			a.DataType = &v
		}
		if v, ok := it["Value.StringValue"]; ok {
			a.StringValue = &v
		}
		if v, ok := it["Value.BinaryValue"]; ok {
			a.BinaryValue = &v
		}
		out = append(out, a)
	}
	return out
}

// flatForm is a form's first values as a plain map.
func flatForm(form url.Values) map[string]string {
	out := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// Response shapes (Query XML): SNS wraps lists in <member> and maps in
// <entry><key/><value/></entry>.

// xmlEntries is an SNS attribute map.
type xmlEntries struct {
	Entry map[string]string `json:"entry" xml:"entry,key,value"`
}

// xmlTag is one tag.
type xmlTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// xmlTags is a tag list.
type xmlTags struct {
	Member []xmlTag `json:"member"`
}
