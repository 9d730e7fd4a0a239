package route

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junctionmq/junction/core/message"
)

func q(name string) Dest  { return Dest{DestQueue, name} }
func ex(name string) Dest { return Dest{DestExchange, name} }

func msg(key string, h message.Table) *message.Message {
	return &message.Message{RoutingKey: key, Props: message.Properties{Headers: h}}
}

// newTestTable returns a table with queues q1..q5 registered.
func newTestTable(t testing.TB) *Table {
	t.Helper()
	tb := NewTable("/")
	for i := 1; i <= 5; i++ {
		tb.AddDest(q(fmt.Sprintf("q%d", i)))
	}
	return tb
}

// must checks the error of a two-value call: must(f())(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func declare(t testing.TB, tb *Table, name string, k Kind, args ...message.Field) {
	t.Helper()
	must(tb.Declare(Exchange{Name: name, Kind: k, Args: args}))(t)
}

func bind(t testing.TB, tb *Table, b Binding) {
	t.Helper()
	must(tb.Bind(b))(t)
}

// names routes and returns the sorted destination names.
func names(t testing.TB, tb *Table, exchange string, m *message.Message) []string {
	t.Helper()
	out, _, err := tb.Route(exchange, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, o := range out {
		s = append(s, o.Dest.Name)
	}
	sort.Strings(s)
	return s
}

func TestExchangeTypes(t *testing.T) {
	tests := []struct {
		name     string
		kind     Kind
		bindings []Binding
		msg      *message.Message
		want     []string
	}{
		{"direct", Direct, []Binding{{Dest: q("q1"), Key: "a"}, {Dest: q("q2"), Key: "b"}}, msg("a", nil), []string{"q1"}},
		{"direct none", Direct, []Binding{{Dest: q("q1"), Key: "a"}}, msg("b", nil), nil},
		{"direct two keys one queue", Direct, []Binding{{Dest: q("q1"), Key: "a"}, {Dest: q("q1"), Key: "b"}},
			msg("a", message.Table{{Key: "CC", Value: []any{"b"}}}), []string{"q1"}},
		{"fanout", Fanout, []Binding{{Dest: q("q1"), Key: "x"}, {Dest: q("q2")}}, msg("zzz", nil), []string{"q1", "q2"}},
		{"topic", Topic, []Binding{{Dest: q("q1"), Key: "a.*"}, {Dest: q("q2"), Key: "#"}, {Dest: q("q3"), Key: "b.#"}},
			msg("a.x", nil), []string{"q1", "q2"}},
		{"topic empty key", Topic, []Binding{{Dest: q("q1"), Key: "*"}, {Dest: q("q2"), Key: "#"}, {Dest: q("q3"), Key: ""}},
			msg("", nil), []string{"q2", "q3"}},
		{"headers all", Headers, []Binding{{Dest: q("q1"), Args: message.Table{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}}},
			msg("", message.Table{{Key: "b", Value: "2"}, {Key: "a", Value: "1"}}), []string{"q1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestTable(t)
			declare(t, tb, "x", tt.kind)
			for _, b := range tt.bindings {
				b.Source = "x"
				bind(t, tb, b)
			}
			if got := names(t, tb, "x", tt.msg); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v want %v", got, tt.want)
			}
		})
	}
}

func TestDefaultExchange(t *testing.T) {
	tb := newTestTable(t)
	tb.AddDest(Dest{DestStream, "s1"})
	if tb.AddDest(q("q1")) {
		t.Fatal("AddDest twice reported new")
	}
	if got := names(t, tb, "", msg("q1", nil)); !slices.Equal(got, []string{"q1"}) {
		t.Fatal(got)
	}
	if got := names(t, tb, "", msg("s1", message.Table{{Key: "CC", Value: []any{"q2", "nope"}}})); !slices.Equal(got, []string{"q2", "s1"}) {
		t.Fatal(got)
	}
	if got := names(t, tb, "", msg("nope", nil)); got != nil {
		t.Fatal(got)
	}
	if _, err := tb.Bind(Binding{Source: "", Dest: q("q1")}); !errors.Is(err, ErrDefaultExchange) {
		t.Fatal(err)
	}
	if _, err := tb.Delete("", false); !errors.Is(err, ErrDefaultExchange) {
		t.Fatal(err)
	}
	if x := must(tb.Lookup(""))(t); x.Kind != Direct {
		t.Fatal(x)
	}
}

func TestDeclareErrors(t *testing.T) {
	tb := newTestTable(t)
	declare(t, tb, "x", Direct, message.Field{Key: ArgAlternateExchange, Value: "ae"})
	tests := []struct {
		name string
		x    Exchange
		err  error
		text string
	}{
		{"type", Exchange{Name: "x", Kind: Fanout, Args: message.Table{{Key: ArgAlternateExchange, Value: "ae"}}}, ErrInequivalent,
			"inequivalent arg 'type' for exchange 'x' in vhost '/': received 'fanout' but current is 'direct'"},
		{"durable", Exchange{Name: "x", Kind: Direct, Durable: true}, ErrInequivalent,
			"inequivalent arg 'durable' for exchange 'x' in vhost '/': received 'true' but current is 'false'"},
		{"auto-delete", Exchange{Name: "x", Kind: Direct, AutoDelete: true}, ErrInequivalent,
			"inequivalent arg 'auto_delete' for exchange 'x' in vhost '/': received 'true' but current is 'false'"},
		{"internal", Exchange{Name: "x", Kind: Direct, Internal: true}, ErrInequivalent,
			"inequivalent arg 'internal' for exchange 'x' in vhost '/': received 'true' but current is 'false'"},
		{"ae missing", Exchange{Name: "x", Kind: Direct}, ErrInequivalent,
			"inequivalent arg 'alternate-exchange' for exchange 'x' in vhost '/': received none but current is the value 'ae' of type 'longstr'"},
		{"ae differs", Exchange{Name: "x", Kind: Direct, Args: message.Table{{Key: ArgAlternateExchange, Value: "b"}}}, ErrInequivalent,
			"inequivalent arg 'alternate-exchange' for exchange 'x' in vhost '/': received the value 'b' of type 'longstr' but current is the value 'ae' of type 'longstr'"},
		{"same", Exchange{Name: "x", Kind: Direct, Args: message.Table{{Key: ArgAlternateExchange, Value: "ae"}, {Key: "other", Value: 1}}}, nil, ""},
		{"reserved", Exchange{Name: "amq.x", Kind: Direct}, ErrReserved, "exchange name 'amq.x' contains reserved prefix 'amq.*'"},
		{"predeclared redeclare", Exchange{Name: "amq.topic", Kind: Topic, Durable: true}, nil, ""},
		{"predeclared inequivalent", Exchange{Name: "amq.match", Kind: Topic, Durable: true}, ErrInequivalent,
			"inequivalent arg 'type' for exchange 'amq.match' in vhost '/': received 'topic' but current is 'headers'"},
		{"default", Exchange{Name: "", Kind: Direct}, ErrDefaultExchange, "operation not permitted on the default exchange"},
		{"bad kind", Exchange{Name: "y", Kind: 9}, ErrUnknownType, "unknown exchange type 'invalid'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			created, err := tb.Declare(tt.x)
			if created || !errors.Is(err, tt.err) {
				t.Fatalf("created %v err %v, want %v", created, err, tt.err)
			}
			if err != nil && err.Error() != tt.text {
				t.Fatalf("text %q\nwant %q", err.Error(), tt.text)
			}
		})
	}
	if _, err := ParseKind("x-delayed-message"); !errors.Is(err, ErrUnknownType) || err.Error() != "unknown exchange type 'x-delayed-message'" {
		t.Fatal(err)
	}
	if k, err := ParseKind("headers"); k != Headers || err != nil {
		t.Fatal(k, err)
	}
}

func TestDeleteAndBindErrors(t *testing.T) {
	tb := newTestTable(t)
	declare(t, tb, "x", Direct)
	bind(t, tb, Binding{Source: "x", Dest: q("q1")})
	_, err := tb.Delete("amq.direct", false)
	if !errors.Is(err, ErrReserved) || err.Error() != "deletion of system exchange 'amq.direct' in vhost '/' not allowed" {
		t.Fatal(err)
	}
	if _, err := tb.Delete("x", true); !errors.Is(err, ErrInUse) || err.Error() != "exchange 'x' in vhost '/' in use" {
		t.Fatal(err)
	}
	if rm, err := tb.Delete("missing", false); err != nil || !rm.Empty() {
		t.Fatal(rm, err)
	}
	for _, b := range []Binding{{Source: "nope", Dest: q("q1")}, {Source: "x", Dest: ex("nope")}} {
		if _, err := tb.Bind(b); !errors.Is(err, ErrNotFound) || err.Error() != "no exchange 'nope' in vhost '/'" {
			t.Fatal(err)
		}
		if _, err := tb.Unbind(b); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	}
	if _, err := tb.Bind(Binding{Source: "x", Dest: q("nq")}); !errors.Is(err, ErrNotFound) || err.Error() != "no queue 'nq' in vhost '/'" {
		t.Fatal(err)
	}
	if _, err := tb.Bind(Binding{Source: "x", Dest: ex("amq.fanout"), Transform: tag("t")}); !errors.Is(err, ErrInvalidBinding) {
		t.Fatal(err)
	}
	_, _, err = tb.Route("nope", msg("", nil), nil)
	if !errors.Is(err, ErrNotFound) || err.Error() != "no exchange 'nope' in vhost '/'" {
		t.Fatal(err)
	}
	rm := must(tb.Delete("x", false))(t)
	if len(rm.Exchanges) != 1 || len(rm.Bindings) != 1 {
		t.Fatalf("%+v", rm)
	}
}

func TestBindIdempotent(t *testing.T) {
	tb := newTestTable(t)
	declare(t, tb, "h", Headers)
	b := Binding{Source: "h", Dest: q("q1"), Args: message.Table{{Key: "a", Value: "1"}, {Key: "b", Value: int32(2)}}}
	if !must(tb.Bind(b))(t) {
		t.Fatal("first bind not new")
	}
	b2 := b
	b2.Args = message.Table{{Key: "b", Value: int32(2)}, {Key: "a", Value: "1"}}
	if must(tb.Bind(b2))(t) {
		t.Fatal("same args in another order must be the same binding")
	}
	b3 := b
	b3.Args = message.Table{{Key: "a", Value: "1"}, {Key: "b", Value: int64(2)}}
	if !must(tb.Bind(b3))(t) {
		t.Fatal("args of another type make another binding")
	}
	if n := len(tb.Bindings()); n != 2 {
		t.Fatal(n)
	}
	if rm := must(tb.Unbind(Binding{Source: "h", Dest: q("q2")}))(t); !rm.Empty() {
		t.Fatal("unbinding a missing binding removed something")
	}
	if rm := must(tb.Unbind(b2))(t); len(rm.Bindings) != 1 {
		t.Fatal(rm)
	}
}

func TestExchangeToExchange(t *testing.T) {
	tb := newTestTable(t)
	declare(t, tb, "a", Topic)
	declare(t, tb, "b", Fanout)
	declare(t, tb, "c", Direct)
	bind(t, tb, Binding{Source: "a", Dest: ex("b"), Key: "k.#"})
	bind(t, tb, Binding{Source: "a", Dest: q("q1"), Key: "#"})
	bind(t, tb, Binding{Source: "b", Dest: ex("c")})
	bind(t, tb, Binding{Source: "b", Dest: q("q1")}) // reached twice: one copy
	bind(t, tb, Binding{Source: "c", Dest: q("q2"), Key: "k.1"})
	bind(t, tb, Binding{Source: "c", Dest: ex("a"), Key: "k.1"}) // cycle a → b → c → a
	bind(t, tb, Binding{Source: "b", Dest: ex("b")})             // self cycle
	if got := names(t, tb, "a", msg("k.1", nil)); !slices.Equal(got, []string{"q1", "q2"}) {
		t.Fatal(got)
	}
	if got := names(t, tb, "c", msg("k.1", nil)); !slices.Equal(got, []string{"q1", "q2"}) {
		t.Fatal(got)
	}
	if got := names(t, tb, "a", msg("z", nil)); !slices.Equal(got, []string{"q1"}) {
		t.Fatal(got)
	}
	// Deleting b removes its bindings and those into it.
	rm := must(tb.Delete("b", false))(t)
	if len(rm.Bindings) != 4 {
		t.Fatalf("%+v", rm.Bindings)
	}
	if got := names(t, tb, "a", msg("k.1", nil)); !slices.Equal(got, []string{"q1"}) {
		t.Fatal(got)
	}
}

func TestAlternateExchange(t *testing.T) {
	tb := newTestTable(t)
	declare(t, tb, "x", Direct, message.Field{Key: ArgAlternateExchange, Value: "ae1"})
	declare(t, tb, "ae1", Direct, message.Field{Key: ArgAlternateExchange, Value: "ae2"})
	declare(t, tb, "ae2", Fanout, message.Field{Key: ArgAlternateExchange, Value: "x"}) // cycle
	must(tb.Declare(Exchange{Name: "internal-ae", Kind: Fanout, Internal: true}))(t)
	declare(t, tb, "y", Direct, message.Field{Key: ArgAlternateExchange, Value: "internal-ae"})
	declare(t, tb, "z", Direct, message.Field{Key: ArgAlternateExchange, Value: "missing"})
	bind(t, tb, Binding{Source: "x", Dest: q("q1"), Key: "a"})
	bind(t, tb, Binding{Source: "ae1", Dest: q("q2"), Key: "b"})
	bind(t, tb, Binding{Source: "internal-ae", Dest: q("q4")})
	tests := []struct {
		exchange, key string
		want          []string
	}{
		{"x", "a", []string{"q1"}},
		{"x", "b", []string{"q2"}},
		{"x", "c", nil}, // x → ae1 → ae2 (no bindings) → x: seen, stop
		{"y", "c", []string{"q4"}},
		{"z", "c", nil},
	}
	for _, tt := range tests {
		if got := names(t, tb, tt.exchange, msg(tt.key, nil)); !slices.Equal(got, tt.want) {
			t.Errorf("%s %q: got %v want %v", tt.exchange, tt.key, got, tt.want)
		}
	}
	bind(t, tb, Binding{Source: "ae2", Dest: q("q3")})
	if got := names(t, tb, "x", msg("c", nil)); !slices.Equal(got, []string{"q3"}) {
		t.Fatal(got)
	}
}

func TestAEAfterE2E(t *testing.T) {
	// An e2e match counts as a match: the AE is not used even if the
	// downstream exchange routes nowhere (RabbitMQ route1).
	tb := newTestTable(t)
	declare(t, tb, "x", Fanout, message.Field{Key: ArgAlternateExchange, Value: "ae"})
	declare(t, tb, "down", Direct)
	declare(t, tb, "ae", Fanout)
	bind(t, tb, Binding{Source: "x", Dest: ex("down")})
	bind(t, tb, Binding{Source: "ae", Dest: q("q1")})
	if got := names(t, tb, "x", msg("k", nil)); got != nil {
		t.Fatal(got)
	}
}

func TestCCBCC(t *testing.T) {
	tb := newTestTable(t)
	declare(t, tb, "d", Direct)
	declare(t, tb, "t", Topic)
	for i, k := range []string{"a", "b", "c"} {
		bind(t, tb, Binding{Source: "d", Dest: q(fmt.Sprintf("q%d", i+1)), Key: k})
		bind(t, tb, Binding{Source: "t", Dest: q(fmt.Sprintf("q%d", i+1)), Key: k + ".#"})
	}
	tests := []struct {
		name  string
		h     message.Table
		want  []string
		strip bool
		err   bool
	}{
		{"none", nil, []string{"q1"}, false, false},
		{"cc", message.Table{{Key: "CC", Value: []any{"b", []byte("c"), int32(1)}}}, []string{"q1", "q2"}, false, false},
		{"bcc", message.Table{{Key: "BCC", Value: []any{"c"}}}, []string{"q1", "q3"}, true, false},
		{"both", message.Table{{Key: "CC", Value: []any{"b"}}, {Key: "BCC", Value: []any{"c", "a"}}}, []string{"q1", "q2", "q3"}, true, false},
		{"empty bcc", message.Table{{Key: "BCC", Value: []any{}}}, []string{"q1"}, true, false},
		{"bad", message.Table{{Key: "CC", Value: "b"}}, nil, false, true},
	}
	for _, tt := range tests {
		for _, x := range []string{"d", "t"} {
			t.Run(tt.name+"/"+x, func(t *testing.T) {
				key := "a"
				if x == "t" {
					key = "a.z"
				}
				out, strip, err := tb.Route(x, msg(key, tt.h), nil)
				if tt.err {
					if !errors.Is(err, ErrInvalidHeader) {
						t.Fatal(err)
					}
					return
				}
				var got []string
				for _, o := range out {
					got = append(got, o.Dest.Name)
				}
				sort.Strings(got)
				if err != nil || strip != tt.strip || !slices.Equal(got, tt.want) {
					t.Fatalf("got %v %v %v", got, strip, err)
				}
			})
		}
	}
	m := msg("a", message.Table{{Key: "x", Value: 1}, {Key: "BCC", Value: []any{"c"}}})
	s := StripBCC(m)
	if _, ok := s.Props.Headers.Get("BCC"); ok || len(s.Props.Headers) != 1 {
		t.Fatal(s.Props.Headers)
	}
	if _, ok := m.Props.Headers.Get("BCC"); !ok {
		t.Fatal("StripBCC modified the shared message")
	}
	if StripBCC(s) != s {
		t.Fatal("StripBCC copied a message without BCC")
	}
}

func TestAutoDelete(t *testing.T) {
	tb := newTestTable(t)
	must(tb.Declare(Exchange{Name: "ad", Kind: Fanout, AutoDelete: true}))(t)
	must(tb.Declare(Exchange{Name: "ad2", Kind: Fanout, AutoDelete: true}))(t)
	// Never bound: stays.
	if rm := must(tb.Unbind(Binding{Source: "ad", Dest: q("q1")}))(t); !rm.Empty() {
		t.Fatal(rm)
	}
	bind(t, tb, Binding{Source: "ad", Dest: q("q1")})
	bind(t, tb, Binding{Source: "ad", Dest: q("q2")})
	bind(t, tb, Binding{Source: "ad2", Dest: ex("ad")})
	if rm := must(tb.Unbind(Binding{Source: "ad", Dest: q("q1")}))(t); len(rm.Exchanges) != 0 {
		t.Fatal(rm)
	}
	// Removing q2 removes ad's last binding: ad goes, with the binding
	// ad2 → ad, so ad2 goes too.
	rm := tb.RemoveDest("q2")
	var gone []string
	for _, x := range rm.Exchanges {
		gone = append(gone, x.Name)
	}
	sort.Strings(gone)
	if !slices.Equal(gone, []string{"ad", "ad2"}) || len(rm.Bindings) != 2 {
		t.Fatalf("%+v", rm)
	}
	if _, err := tb.Lookup("ad"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if got := names(t, tb, "", msg("q2", nil)); got != nil {
		t.Fatal("q2 still routable", got)
	}
}

func TestInternal(t *testing.T) {
	tb := newTestTable(t)
	must(tb.Declare(Exchange{Name: "in", Kind: Fanout, Internal: true}))(t)
	declare(t, tb, "pub", Fanout)
	bind(t, tb, Binding{Source: "in", Dest: q("q1")})
	bind(t, tb, Binding{Source: "pub", Dest: ex("in")})
	_, _, err := tb.Route("in", msg("", nil), nil)
	if !errors.Is(err, ErrInternal) || err.Error() != "cannot publish to internal exchange 'in' in vhost '/'" {
		t.Fatal(err)
	}
	if got := names(t, tb, "pub", msg("", nil)); !slices.Equal(got, []string{"q1"}) {
		t.Fatal(got)
	}
}

type matchFunc func(m *message.Message) bool

func (f matchFunc) Match(m *message.Message) bool { return f(m) }

type tag string

func (tg tag) Transform(m *message.Message) *message.Message {
	c := *m
	c.Body = append([]byte(tg+":"), m.Body...)
	return &c
}

func TestMatchersAndTransforms(t *testing.T) {
	tb := newTestTable(t)
	declare(t, tb, "sns", Fanout)
	declare(t, tb, "t", Topic)
	only := func(v string) Matcher {
		return matchFunc(func(m *message.Message) bool { x, _ := m.Props.Headers.Get("k"); return x == v })
	}
	bind(t, tb, Binding{Source: "sns", Dest: q("q1"), Matcher: only("a"), Transform: tag("env")})
	bind(t, tb, Binding{Source: "sns", Dest: q("q2")})
	bind(t, tb, Binding{Source: "t", Dest: q("q3"), Key: "x.*", Matcher: only("b")})
	bind(t, tb, Binding{Source: "t", Dest: ex("sns"), Key: "x.#", Matcher: only("a")})

	if got := names(t, tb, "sns", msg("", message.Table{{Key: "k", Value: "a"}})); !slices.Equal(got, []string{"q1", "q2"}) {
		t.Fatal(got)
	}
	if got := names(t, tb, "sns", msg("", nil)); !slices.Equal(got, []string{"q2"}) {
		t.Fatal(got)
	}
	if got := names(t, tb, "t", msg("x.y", message.Table{{Key: "k", Value: "b"}})); !slices.Equal(got, []string{"q3"}) {
		t.Fatal(got)
	}
	out, _, _ := tb.Route("t", msg("x.y", message.Table{{Key: "k", Value: "a"}}), nil)
	for _, o := range out {
		if (o.Dest.Name == "q1") != (o.Transform != nil) {
			t.Fatalf("transform on %v: %v", o.Dest, o.Transform)
		}
	}
	if len(out) != 2 {
		t.Fatal(out)
	}
	// Rebinding replaces Matcher and Transform without a new binding.
	if must(tb.Bind(Binding{Source: "sns", Dest: q("q1"), Transform: tag("v2")}))(t) {
		t.Fatal("rebind reported new")
	}
	out, _, _ = tb.Route("sns", msg("", nil), nil)
	if len(out) != 2 {
		t.Fatal(out)
	}
}

func TestTransformOldestWins(t *testing.T) {
	tb := newTestTable(t)
	declare(t, tb, "f", Fanout)
	declare(t, tb, "g", Fanout)
	bind(t, tb, Binding{Source: "g", Dest: q("q1"), Transform: tag("old")})
	bind(t, tb, Binding{Source: "f", Dest: q("q1"), Transform: tag("new")})
	bind(t, tb, Binding{Source: "f", Dest: ex("g")})
	out, _, _ := tb.Route("f", msg("", nil), nil)
	if len(out) != 1 || out[0].Transform != tag("old") {
		t.Fatalf("%+v", out)
	}
	// Past linearMax destinations the map index keeps the same rule.
	for i := range 40 {
		n := fmt.Sprintf("m%d", i)
		tb.AddDest(q(n))
		bind(t, tb, Binding{Source: "g", Dest: q(n), Transform: tag("old")})
		bind(t, tb, Binding{Source: "f", Dest: q(n), Transform: tag("new")})
	}
	out, _, _ = tb.Route("f", msg("", nil), nil)
	if len(out) != 41 {
		t.Fatal(len(out))
	}
	for _, o := range out {
		if o.Transform != tag("old") {
			t.Fatalf("%v got %v", o.Dest, o.Transform)
		}
	}
}

func TestListings(t *testing.T) {
	tb := newTestTable(t)
	declare(t, tb, "b", Direct)
	declare(t, tb, "a", Topic)
	bind(t, tb, Binding{Source: "b", Dest: q("q1"), Key: "1"})
	bind(t, tb, Binding{Source: "a", Dest: q("q1"), Key: "2"})
	bind(t, tb, Binding{Source: "b", Dest: q("q2"), Key: "3"})
	var xs []string
	for _, x := range tb.Exchanges() {
		xs = append(xs, x.Name)
	}
	want := []string{"a", "amq.direct", "amq.fanout", "amq.headers", "amq.match", "amq.topic", "b"}
	if !slices.Equal(xs, want) {
		t.Fatal(xs)
	}
	var keys []string
	for _, b := range tb.Bindings() {
		keys = append(keys, b.Key)
	}
	if !slices.Equal(keys, []string{"1", "2", "3"}) {
		t.Fatal(keys)
	}
	if len(tb.Dests()) != 5 {
		t.Fatal(tb.Dests())
	}
}

func TestConcurrentRouteAndBind(t *testing.T) {
	tb := newTestTable(t)
	declare(t, tb, "t", Topic)
	declare(t, tb, "f", Fanout)
	bind(t, tb, Binding{Source: "t", Dest: ex("f"), Key: "#"})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			out := make([]Target, 0, 8)
			m := msg(fmt.Sprintf("k.%d", g), nil)
			for {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				if out, _, err = tb.Route("t", m, out[:0]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 300 {
		qn := fmt.Sprintf("c%d", i%7)
		tb.AddDest(q(qn))
		must(tb.Bind(Binding{Source: "t", Dest: q(qn), Key: fmt.Sprintf("k.%d", i%4)}))(t)
		must(tb.Bind(Binding{Source: "f", Dest: q(qn)}))(t)
		if i%3 == 0 {
			tb.RemoveDest(qn)
		}
		if i%50 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	close(stop)
	wg.Wait()
	if !strings.HasPrefix(tb.VHost(), "/") {
		t.Fatal(tb.VHost())
	}
}

func TestPolicyAlternate(t *testing.T) {
	tb := newTestTable(t)
	declare(t, tb, "plain", Direct)
	declare(t, tb, "declared", Direct, message.Field{Key: ArgAlternateExchange, Value: "ae1"})
	declare(t, tb, "ae1", Fanout)
	declare(t, tb, "ae2", Fanout)
	bind(t, tb, Binding{Source: "ae1", Dest: q("q1")})
	bind(t, tb, Binding{Source: "ae2", Dest: q("q2")})
	tests := []struct {
		name     string
		exchange string
		ae       string
		set      bool
		want     []string
	}{
		{"policy sets the AE", "plain", "ae2", true, []string{"q2"}},
		{"declared argument wins", "declared", "ae2", true, []string{"q1"}},
		{"policy cleared", "plain", "", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tb.SetPolicyAlternate(tt.exchange, tt.ae, tt.set); err != nil {
				t.Fatal(err)
			}
			if got := names(t, tb, tt.exchange, msg("nowhere", nil)); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v want %v", got, tt.want)
			}
			x := must(tb.Lookup(tt.exchange))(t)
			if _, ok := x.AlternateExchange(); ok != (tt.exchange == "declared") {
				t.Fatal("declared arguments changed")
			}
		})
	}
	if err := tb.SetPolicyAlternate("missing", "ae1", true); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}
