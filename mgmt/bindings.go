package mgmt

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/route"
)

// bindingRoutes registers /api/bindings and the per-queue and
// per-exchange binding listings.
func (s *Server) bindingRoutes(r router) {
	r.list("GET /api/bindings", s.listBindings)
	r.list("GET /api/bindings/{vhost}", s.listBindings)
	for _, d := range []string{"q", "e"} {
		base := "/api/bindings/{vhost}/e/{source}/" + d + "/{dest}"
		r.list("GET "+base, s.listBindingsBetween)
		r.handle("POST "+base, s.postBinding)
		r.handle("GET "+base+"/{props}", s.getBinding)
		r.handle("DELETE "+base+"/{props}", s.deleteBinding)
	}
	r.list("GET /api/queues/{vhost}/{name}/bindings", s.listQueueBindings)
	r.list("GET /api/exchanges/{vhost}/{name}/bindings/source", s.listExchangeBindings)
	r.list("GET /api/exchanges/{vhost}/{name}/bindings/destination", s.listExchangeBindings)
}

// bindingJSON is a binding in RabbitMQ's shape.
type bindingJSON struct {
	Source          string         `json:"source"`
	Vhost           string         `json:"vhost"`
	Destination     string         `json:"destination"`
	DestinationType string         `json:"destination_type"`
	RoutingKey      string         `json:"routing_key"`
	Arguments       map[string]any `json:"arguments"`
	PropertiesKey   string         `json:"properties_key"`
}

// propsKey is a binding's properties key, the last segment of its path:
// the routing key quoted as RabbitMQ quotes it ("~" when empty), followed
// by "~" and a hash of the arguments when it has any. Clients read it from
// listings and hand it back; it is opaque to them.
func propsKey(key string, args message.Table) string {
	q := strings.ReplaceAll(url.QueryEscape(key), "~", "%7E")
	if len(args) == 0 {
		if key == "" {
			return "~"
		}
		return q
	}
	sum := sha256.Sum256([]byte(canonicalArgs(args)))
	return q + "~" + base64.RawURLEncoding.EncodeToString(sum[:4])
}

// canonicalArgs renders arguments independently of their order.
func canonicalArgs(args message.Table) string {
	b, _ := jsonMarshalSorted(tableJSON(args))
	return string(b)
}

// formatBinding builds a binding's JSON.
func formatBinding(vhost string, b route.Binding) bindingJSON {
	dt := "queue"
	if b.Dest.Kind == route.DestExchange {
		dt = "exchange"
	}
	return bindingJSON{Source: b.Source, Vhost: vhost, Destination: b.Dest.Name, DestinationType: dt,
		RoutingKey: b.Key, Arguments: tableJSON(b.Args), PropertiesKey: propsKey(b.Key, b.Args)}
}

// defaultBinding is the implicit binding of the default exchange to a
// queue, which RabbitMQ lists.
func defaultBinding(vhost, queue string) bindingJSON {
	return bindingJSON{Vhost: vhost, Destination: queue, DestinationType: "queue", RoutingKey: queue,
		Arguments: map[string]any{}, PropertiesKey: propsKey(queue, nil)}
}

// vhostBindings lists a vhost's bindings: the default exchange's implicit
// ones first, as RabbitMQ lists them, then the others in creation order.
func vhostBindings(v *core.Vhost) []bindingJSON {
	var out []bindingJSON
	for _, d := range v.Routes().Dests() {
		out = append(out, defaultBinding(v.Name(), d.Name))
	}
	for _, b := range v.Routes().Bindings() {
		out = append(out, formatBinding(v.Name(), b))
	}
	return out
}

// listBindings serves GET /api/bindings and /api/bindings/{vhost}.
func (s *Server) listBindings(w http.ResponseWriter, r *http.Request, u *auth.User) {
	vhosts, ok := s.listVhosts(w, r, u)
	if !ok {
		return
	}
	out := []bindingJSON{}
	for _, v := range vhosts {
		out = append(out, vhostBindings(v)...)
	}
	s.writeList(w, r, out)
}

// filterBindings lists v's bindings that keep returns true for.
func filterBindings(v *core.Vhost, keep func(bindingJSON) bool) []bindingJSON {
	out := []bindingJSON{}
	for _, b := range vhostBindings(v) {
		if keep(b) {
			out = append(out, b)
		}
	}
	return out
}

// destType is the destination type a binding path names ("q" or "e").
func destType(r *http.Request) string {
	if strings.Contains(r.Pattern, "/q/") {
		return "queue"
	}
	return "exchange"
}

// between selects the bindings of the path's source and destination.
func between(r *http.Request) func(bindingJSON) bool {
	src, dst, dt := exchangeName(r.PathValue("source")), r.PathValue("dest"), destType(r)
	return func(b bindingJSON) bool {
		return b.Source == src && b.Destination == dst && b.DestinationType == dt
	}
}

// listBindingsBetween serves GET /api/bindings/{vhost}/e/{source}/q|e/{dest}.
func (s *Server) listBindingsBetween(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, false)
	if !ok {
		return
	}
	s.writeJSON(w, http.StatusOK, filterBindings(v, between(r)))
}

// getBinding serves GET /api/bindings/{vhost}/e/{source}/q|e/{dest}/{props}.
func (s *Server) getBinding(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, false)
	if !ok {
		return
	}
	match := between(r)
	for _, b := range filterBindings(v, match) {
		if b.PropertiesKey == r.PathValue("props") {
			s.writeJSON(w, http.StatusOK, b)
			return
		}
	}
	s.notFound(w, r, u)
}

// bindingBody is the body of a binding POST.
type bindingBody struct {
	RoutingKey string         `json:"routing_key"`
	Arguments  map[string]any `json:"arguments"`
}

// bindingOf builds the core binding a path and body name.
func bindingOf(v *core.Vhost, r *http.Request, key string, args message.Table) route.Binding {
	dest := route.Dest{Kind: route.DestExchange, Name: r.PathValue("dest")}
	if destType(r) == "queue" {
		dest.Kind = route.DestQueue
		if _, err := v.Stream(dest.Name); err == nil {
			dest.Kind = route.DestStream
		}
	}
	return route.Binding{Source: exchangeName(r.PathValue("source")), Dest: dest, Key: key, Args: args}
}

// checkBind applies queue.bind's permission checks: write on the
// destination, read on the source, and the topic read permission on a
// topic exchange's routing key.
func (s *Server) checkBind(w http.ResponseWriter, u *auth.User, v *core.Vhost, b route.Binding) bool {
	kind := auth.ResourceQueue
	if b.Dest.Kind == route.DestExchange {
		kind = auth.ResourceExchange
	}
	if !s.checkPerm(w, s.users.CheckWrite(u.Name, v.Name(), kind, b.Dest.Name)) ||
		!s.checkPerm(w, s.users.CheckRead(u.Name, v.Name(), auth.ResourceExchange, b.Source)) {
		return false
	}
	if x, err := v.Exchange(b.Source); err == nil && x.Kind == route.Topic {
		return s.checkPerm(w, s.users.CheckTopic(u.Name, v.Name(), b.Source, b.Key, false, nil))
	}
	return true
}

// postBinding serves POST /api/bindings/{vhost}/e/{source}/q|e/{dest}:
// 201 with the new binding's path in Location, as RabbitMQ answers.
func (s *Server) postBinding(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, true)
	if !ok {
		return
	}
	var body bindingBody
	if !s.decode(w, r, &body) {
		return
	}
	b := bindingOf(v, r, body.RoutingKey, message.TableFromJSON(body.Arguments))
	if !s.checkBind(w, u, v, b) {
		return
	}
	if err := v.Bind(b); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", propsKey(b.Key, b.Args))
	w.WriteHeader(http.StatusCreated)
}

// deleteBinding serves DELETE /api/bindings/{vhost}/e/{source}/q|e/{dest}/{props}.
func (s *Server) deleteBinding(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, true)
	if !ok {
		return
	}
	want := bindingOf(v, r, "", nil)
	for _, b := range v.Routes().Bindings() {
		if b.Source != want.Source || b.Dest != want.Dest || propsKey(b.Key, b.Args) != r.PathValue("props") {
			continue
		}
		if !s.checkBind(w, u, v, b) {
			return
		}
		if err := v.Unbind(b); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.notFound(w, r, u)
}

// listQueueBindings serves GET /api/queues/{vhost}/{name}/bindings.
func (s *Server) listQueueBindings(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, false)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if _, err := v.Queue(name); err != nil {
		if _, err := v.Stream(name); err != nil {
			s.notFound(w, r, u)
			return
		}
	}
	s.writeJSON(w, http.StatusOK, filterBindings(v, func(b bindingJSON) bool {
		return b.DestinationType == "queue" && b.Destination == name
	}))
}

// listExchangeBindings serves GET /api/exchanges/{vhost}/{name}/bindings/source
// and .../destination.
func (s *Server) listExchangeBindings(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, false)
	if !ok {
		return
	}
	name := exchangeName(r.PathValue("name"))
	if _, err := v.Exchange(name); err != nil {
		s.notFound(w, r, u)
		return
	}
	asSource := strings.HasSuffix(r.Pattern, "/source")
	s.writeJSON(w, http.StatusOK, filterBindings(v, func(b bindingJSON) bool {
		if asSource {
			return b.Source == name
		}
		return b.DestinationType == "exchange" && b.Destination == name
	}))
}
