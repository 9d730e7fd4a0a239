// Package topic matches AMQP topic routing keys against binding patterns
// with a trie, as RabbitMQ's topic exchange does.
//
// Keys and patterns are split on '.' into words. A pattern word '*' matches
// exactly one word and '#' matches zero or more words. RabbitMQ's edge
// cases hold: the empty string has zero words, so "" matches only the
// patterns "" and "#" (and "#.#" ...); "a." is the two words "a" and "",
// and ".a" is "" and "a"; '*' matches an empty word too. Consecutive '#'
// words are collapsed ("#.#" is "#"), which changes nothing about what a
// pattern matches.
//
// A Trie is not safe for concurrent mutation; concurrent Match calls are
// safe while no Insert or Remove runs (the router guards it with an
// RWMutex).
package topic

import "strings"

// Trie maps topic patterns to values. A pattern may hold several values;
// each (pattern, value) pair is stored once.
type Trie[V comparable] struct {
	root node[V]
	n    int
}

type node[V comparable] struct {
	words map[string]*node[V] // literal words
	star  *node[V]            // '*'
	hash  *node[V]            // '#'
	vals  []V
	// multi is set when the path from the root holds two or more '#':
	// only then can one key reach the node along two paths, so only then
	// must Match check for duplicates.
	multi bool
}

// Len returns the number of (pattern, value) pairs stored.
func (t *Trie[V]) Len() int { return t.n }

// next splits off the first word of rest. done reports that rest held
// the last word, so nothing is left after it.
func next(rest string) (word, tail string, done bool) {
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		return rest[:i], rest[i+1:], false
	}
	return rest, "", true
}

// words calls fn for each word of a pattern, collapsing runs of '#'.
func words(pattern string, fn func(w string)) {
	if pattern == "" {
		return
	}
	prevHash := false
	for rest, done := pattern, false; !done; {
		var w string
		w, rest, done = next(rest)
		if w == "#" && prevHash {
			continue
		}
		prevHash = w == "#"
		fn(w)
	}
}

// Insert adds v under pattern and reports whether it was not there yet.
func (t *Trie[V]) Insert(pattern string, v V) bool {
	n := &t.root
	hashes := 0
	words(pattern, func(w string) {
		switch w {
		case "*":
			if n.star == nil {
				n.star = &node[V]{}
			}
			n = n.star
		case "#":
			hashes++
			if n.hash == nil {
				n.hash = &node[V]{}
			}
			n = n.hash
		default:
			c := n.words[w]
			if c == nil {
				if n.words == nil {
					n.words = make(map[string]*node[V])
				}
				c = &node[V]{}
				n.words[w] = c
			}
			n = c
		}
		n.multi = hashes >= 2
	})
	for _, x := range n.vals {
		if x == v {
			return false
		}
	}
	n.vals = append(n.vals, v)
	t.n++
	return true
}

// Remove deletes v from pattern and reports whether it was there. Nodes
// left empty are pruned.
func (t *Trie[V]) Remove(pattern string, v V) bool {
	var ws []string
	words(pattern, func(w string) { ws = append(ws, w) })
	if !remove(&t.root, ws, v) {
		return false
	}
	t.n--
	return true
}

func remove[V comparable](n *node[V], ws []string, v V) bool {
	if len(ws) == 0 {
		for i, x := range n.vals {
			if x == v {
				last := len(n.vals) - 1
				n.vals[i] = n.vals[last]
				var zero V
				n.vals[last] = zero
				n.vals = n.vals[:last]
				return true
			}
		}
		return false
	}
	var c *node[V]
	switch ws[0] {
	case "*":
		c = n.star
	case "#":
		c = n.hash
	default:
		c = n.words[ws[0]]
	}
	if c == nil || !remove(c, ws[1:], v) {
		return false
	}
	if c.empty() {
		switch ws[0] {
		case "*":
			n.star = nil
		case "#":
			n.hash = nil
		default:
			delete(n.words, ws[0])
		}
	}
	return true
}

func (n *node[V]) empty() bool {
	return len(n.vals) == 0 && len(n.words) == 0 && n.star == nil && n.hash == nil
}

// Match appends to out the values of every pattern that matches key, once
// per matching pattern, and returns the extended slice. (A value stored
// under a pattern with two or more '#' is skipped if this call already
// appended it, since such a pattern can match one key along several
// paths.) Match does not allocate when out has room.
func (t *Trie[V]) Match(key string, out []V) []V {
	m := matcher[V]{out: out, start: len(out)}
	m.match(&t.root, key, key == "")
	return m.out
}

type matcher[V comparable] struct {
	out   []V
	start int
}

// match walks n against the words left in rest; done means none are left.
func (m *matcher[V]) match(n *node[V], rest string, done bool) {
	if done {
		m.emit(n)
		if n.hash != nil {
			m.match(n.hash, rest, true) // '#' matches zero words
		}
		return
	}
	word, tail, last := next(rest)
	if c := n.words[word]; c != nil {
		m.match(c, tail, last)
	}
	if n.star != nil {
		m.match(n.star, tail, last)
	}
	if n.hash != nil {
		m.matchHash(n.hash, rest)
	}
}

// matchHash lets the '#' node h swallow zero, one, ... all of the words
// left in rest (at least one is left).
func (m *matcher[V]) matchHash(h *node[V], rest string) {
	if len(h.words) == 0 && h.star == nil && h.hash == nil {
		m.emit(h) // a trailing '#' matches whatever is left
		return
	}
	r, done := rest, false
	for {
		m.match(h, r, done)
		if done {
			return
		}
		_, r, done = next(r)
		if done {
			// the last word is consumed: nothing is left
			m.match(h, "", true)
			return
		}
	}
}

func (m *matcher[V]) emit(n *node[V]) {
	if !n.multi {
		m.out = append(m.out, n.vals...)
		return
	}
	for _, v := range n.vals {
		dup := false
		for _, x := range m.out[m.start:] {
			if x == v {
				dup = true
				break
			}
		}
		if !dup {
			m.out = append(m.out, v)
		}
	}
}
