package topic

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		miss    []string
	}{
		{"a.b.c", []string{"a.b.c"}, []string{"a.b", "a.b.c.d", "", "a.b.c."}},
		{"*", []string{"a", ""[:0] + "x"}, []string{"", "a.b", "."}},
		{"#", []string{"", "a", "a.b.c", ".", ".."}, nil},
		{"#.#", []string{"", "a", "a.b"}, nil},
		{"a.#", []string{"a", "a.b", "a.b.c", "a."}, []string{"", "b", "b.a"}},
		{"#.a", []string{"a", "b.a", "b.c.a"}, []string{"", "a.b"}},
		{"a.*.c", []string{"a.b.c", "a..c"}, []string{"a.c", "a.b.b.c"}},
		{"*.*", []string{"a.b", ".", "a."}, []string{"a", "", "a.b.c"}},
		{"", []string{""}, []string{"a", "."}},
		{"a.", []string{"a."}, []string{"a"}},
		{".a", []string{".a"}, []string{"a"}},
		{"a..b", []string{"a..b"}, []string{"a.b"}},
		{"a.*", []string{"a.", "a.b"}, []string{"a", "a.b.c"}},
		{"#.a.#", []string{"a", "a.a", "b.a.c", "a.b.a"}, []string{"b", ""}},
		{"*.#.*", []string{"a.b", "a.b.c"}, []string{"a", ""}},
		{"a.#.b.#.c", []string{"a.b.c", "a.x.b.y.c", "a.b.b.c.c"}, []string{"a.c", "a.b"}},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			var tr Trie[int]
			tr.Insert(tt.pattern, 1)
			for _, k := range tt.match {
				if got := tr.Match(k, nil); len(got) != 1 {
					t.Errorf("key %q: got %v, want one match", k, got)
				}
			}
			for _, k := range tt.miss {
				if got := tr.Match(k, nil); len(got) != 0 {
					t.Errorf("key %q: got %v, want none", k, got)
				}
			}
		})
	}
}

func TestInsertRemove(t *testing.T) {
	var tr Trie[int]
	if !tr.Insert("a.*.#", 1) || tr.Insert("a.*.#", 1) || !tr.Insert("a.*.#", 2) {
		t.Fatal("insert idempotence")
	}
	if !tr.Insert("#.#.x", 3) || tr.Insert("#.x", 3) {
		t.Fatal("'#.#' must collapse to '#'")
	}
	if tr.Len() != 3 {
		t.Fatalf("Len = %d", tr.Len())
	}
	if tr.Remove("a.*.#", 9) || tr.Remove("b", 1) || !tr.Remove("a.*.#", 1) || tr.Remove("a.*.#", 1) {
		t.Fatal("remove")
	}
	if got := tr.Match("a.b.x", nil); !sameSet(got, []int{2, 3}) {
		t.Fatalf("got %v", got)
	}
	tr.Remove("a.*.#", 2)
	tr.Remove("#.x", 3)
	if !tr.root.empty() || tr.Len() != 0 {
		t.Fatalf("trie not pruned: %+v", tr.root)
	}
}

// refWords splits as RabbitMQ does: "" has no words.
func refWords(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ".")
}

func refMatch(key, pat []string) bool {
	if len(pat) == 0 {
		return len(key) == 0
	}
	switch pat[0] {
	case "#":
		for i := 0; i <= len(key); i++ {
			if refMatch(key[i:], pat[1:]) {
				return true
			}
		}
		return false
	case "*":
		return len(key) > 0 && refMatch(key[1:], pat[1:])
	default:
		return len(key) > 0 && key[0] == pat[0] && refMatch(key[1:], pat[1:])
	}
}

func randString(r *rand.Rand, alphabet []string) string {
	n := r.IntN(5)
	ws := make([]string, n)
	for i := range ws {
		ws[i] = alphabet[r.IntN(len(alphabet))]
	}
	return strings.Join(ws, ".")
}

func sameSet(a, b []int) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestMatchProperty compares the trie with the reference matcher on random
// keys and patterns, including the multiplicity of results.
func TestMatchProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	keyWords := []string{"a", "b", "", "c"}
	patWords := []string{"a", "b", "", "*", "#", "#"}
	for round := 0; round < 200; round++ {
		var tr Trie[int]
		pats := make([]string, 30)
		for i := range pats {
			pats[i] = randString(r, patWords)
			tr.Insert(pats[i], i)
		}
		for range 50 {
			key := randString(r, keyWords)
			var want []int
			for i, p := range pats {
				if refMatch(refWords(key), refWords(p)) {
					want = append(want, i)
				}
			}
			got := tr.Match(key, nil)
			if !sameSet(got, want) {
				t.Fatalf("key %q patterns %q: got %v want %v", key, pats, got, want)
			}
		}
	}
}

func TestMatchAllocs(t *testing.T) {
	tr := build100k()
	out := make([]int, 0, 16)
	n := testing.AllocsPerRun(100, func() { out = tr.Match("sensor.4242.temp", out[:0]) })
	if n != 0 || len(out) != 2 {
		t.Fatalf("allocs %v, matches %v", n, out)
	}
}

// build100k builds 100,000 bindings: for 50,000 ids, "sensor.<id>.temp"
// and "*.<id>.#".
func build100k() *Trie[int] {
	var tr Trie[int]
	for i := range 50000 {
		tr.Insert(fmt.Sprintf("sensor.%d.temp", i), 2*i)
		tr.Insert(fmt.Sprintf("*.%d.#", i), 2*i+1)
	}
	return &tr
}

func BenchmarkTopicMatch100k(b *testing.B) {
	tr := build100k()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("sensor.%d.temp", (i*7919)%50000)
	}
	out := make([]int, 0, 16)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		out = tr.Match(keys[i&1023], out[:0])
	}
	if len(out) != 2 {
		b.Fatal(out)
	}
}
