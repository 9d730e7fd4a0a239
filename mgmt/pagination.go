package mgmt

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Listing parameters, as rabbit_mgmt_util reads them: name (filter),
// use_regex, sort, sort_reverse, columns, page and page_size. With page the
// answer is a paged object instead of a list.

const (
	defaultPageSize = 100
	maxPageSize     = 500
)

// pagedJSON is RabbitMQ's paged answer.
type pagedJSON struct {
	FilteredCount int              `json:"filtered_count"`
	ItemCount     int              `json:"item_count"`
	Items         []map[string]any `json:"items"`
	Page          int              `json:"page"`
	PageCount     int              `json:"page_count"`
	PageSize      int              `json:"page_size"`
	TotalCount    int              `json:"total_count"`
}

// writeList writes items (a slice of JSON objects) applying the listing
// parameters of r. Without any, items are written as they are.
func (s *Server) writeList(w http.ResponseWriter, r *http.Request, items any) {
	q := r.URL.Query()
	if !q.Has("name") && !q.Has("sort") && !q.Has("columns") && !q.Has("page") {
		s.writeJSON(w, http.StatusOK, items)
		return
	}
	var list []map[string]any
	if data, err := json.Marshal(items); err == nil {
		err = json.Unmarshal(data, &list)
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	total := len(list)
	list, err := filterByName(list, q.Get("name"), boolParam(q.Get("use_regex")))
	if err != nil {
		s.badRequest(w, err.Error())
		return
	}
	sortList(list, q.Get("sort"), boolParam(q.Get("sort_reverse")))
	if q.Has("page") {
		s.writePage(w, q.Get("page"), q.Get("page_size"), list, total, q.Get("columns"))
		return
	}
	s.writeJSON(w, http.StatusOK, pickColumns(list, q.Get("columns")))
}

// writePage writes one page of list.
func (s *Server) writePage(w http.ResponseWriter, pageS, sizeS string, list []map[string]any, total int, columns string) {
	page, err := strconv.Atoi(pageS)
	if err != nil || page < 1 {
		s.badRequest(w, "page must be a positive integer")
		return
	}
	size := defaultPageSize
	if sizeS != "" {
		if size, err = strconv.Atoi(sizeS); err != nil || size < 1 || size > maxPageSize {
			s.badRequest(w, fmt.Sprintf("page_size must be between 1 and %d", maxPageSize))
			return
		}
	}
	pages := (len(list) + size - 1) / size
	if page > max(pages, 1) {
		s.badRequest(w, "page out of range")
		return
	}
	lo := min((page-1)*size, len(list))
	hi := min(lo+size, len(list))
	items := pickColumns(list[lo:hi], columns)
	s.writeJSON(w, http.StatusOK, pagedJSON{FilteredCount: len(list), ItemCount: len(items), Items: items,
		Page: page, PageCount: pages, PageSize: size, TotalCount: total})
}

// filterByName keeps the items whose name contains filter (case
// insensitively) or, with useRegex, matches it as a regular expression
// (RabbitMQ matches caselessly).
func filterByName(list []map[string]any, filter string, useRegex bool) ([]map[string]any, error) {
	if filter == "" {
		return list, nil
	}
	match := func(n string) bool { return strings.Contains(strings.ToLower(n), strings.ToLower(filter)) }
	if useRegex {
		re, err := regexp.Compile("(?i)" + filter)
		if err != nil {
			return nil, fmt.Errorf("invalid regex %q: %w", filter, err)
		}
		match = re.MatchString
	}
	out := list[:0:0]
	for _, it := range list {
		if n, _ := it["name"].(string); match(n) {
			out = append(out, it)
		}
	}
	return out, nil
}

// sortList sorts by a (dotted) key such as "messages" or
// "message_stats.publish"; numbers numerically, the rest as text.
func sortList(list []map[string]any, key string, reverse bool) {
	if key == "" {
		if reverse {
			slices.Reverse(list)
		}
		return
	}
	slices.SortStableFunc(list, func(a, b map[string]any) int {
		c := compareValues(dotted(a, key), dotted(b, key))
		if reverse {
			return -c
		}
		return c
	})
}

// dotted reads a dotted key from a JSON object.
func dotted(m map[string]any, key string) any {
	var v any = m
	for part := range strings.SplitSeq(key, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[part]
	}
	return v
}

// compareValues orders JSON values: missing first, then numbers, then text.
func compareValues(a, b any) int {
	fa, aNum := a.(float64)
	fb, bNum := b.(float64)
	switch {
	case aNum && bNum:
		return cmp.Compare(fa, fb)
	case a == nil || b == nil:
		return cmp.Compare(boolInt(a != nil), boolInt(b != nil))
	}
	return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pickColumns keeps only the comma-separated (dotted) columns of each item.
func pickColumns(list []map[string]any, columns string) []map[string]any {
	if columns == "" {
		return list
	}
	cols := strings.Split(columns, ",")
	out := make([]map[string]any, len(list))
	for i, it := range list {
		o := map[string]any{}
		for _, c := range cols {
			if v := dotted(it, c); v != nil {
				setDotted(o, c, v)
			}
		}
		out[i] = o
	}
	return out
}

// setDotted sets a dotted key in a JSON object, creating inner objects.
func setDotted(m map[string]any, key string, v any) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		inner, ok := m[p].(map[string]any)
		if !ok {
			inner = map[string]any{}
			m[p] = inner
		}
		m = inner
	}
	m[parts[len(parts)-1]] = v
}
