package mgmt

import (
	"encoding/base64"
	"net/http"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/route"
)

// exchangeRoutes registers /api/exchanges and publishing.
func (s *Server) exchangeRoutes(r router) {
	r.list("GET /api/exchanges", s.listExchanges)
	r.list("GET /api/exchanges/{vhost}", s.listExchanges)
	r.handle("GET /api/exchanges/{vhost}/{name}", s.getExchange)
	r.handle("PUT /api/exchanges/{vhost}/{name}", s.putExchange)
	r.handle("DELETE /api/exchanges/{vhost}/{name}", s.deleteExchange)
	r.handle("POST /api/exchanges/{vhost}/{name}/publish", s.publish)
}

// exchangeJSON is an exchange in RabbitMQ's shape.
type exchangeJSON struct {
	Name                   string         `json:"name"`
	Vhost                  string         `json:"vhost"`
	Type                   string         `json:"type"`
	Durable                bool           `json:"durable"`
	AutoDelete             bool           `json:"auto_delete"`
	Internal               bool           `json:"internal"`
	Arguments              map[string]any `json:"arguments"`
	Policy                 *string        `json:"policy"`
	UserWhoPerformedAction string         `json:"user_who_performed_action"`
	Incoming               []any          `json:"incoming,omitempty"`
	Outgoing               []any          `json:"outgoing,omitempty"`
}

// exchangeName maps RabbitMQ's path name of the default exchange,
// amq.default, to "".
func exchangeName(name string) string {
	if name == "amq.default" {
		return ""
	}
	return name
}

// formatExchange builds an exchange's JSON.
func (s *Server) formatExchange(v *core.Vhost, x route.Exchange) exchangeJSON {
	out := exchangeJSON{Name: x.Name, Vhost: v.Name(), Type: x.Kind.String(), Durable: x.Durable,
		AutoDelete: x.AutoDelete, Internal: x.Internal, Arguments: tableJSON(x.Args)}
	if x.Name != "" {
		if p := s.users.EffectivePolicy(v.Name(), x.Name, auth.KindExchange); p != nil {
			out.Policy = &p.Name
		}
	}
	return out
}

// listExchanges serves GET /api/exchanges and /api/exchanges/{vhost}: the
// default exchange first, then the others by name.
func (s *Server) listExchanges(w http.ResponseWriter, r *http.Request, u *auth.User) {
	vhosts, ok := s.listVhosts(w, r, u)
	if !ok {
		return
	}
	out := []exchangeJSON{}
	for _, v := range vhosts {
		out = append(out, s.formatExchange(v, route.DefaultExchange))
		for _, x := range v.Routes().Exchanges() {
			out = append(out, s.formatExchange(v, x))
		}
	}
	s.writeList(w, r, out)
}

// getExchange serves GET /api/exchanges/{vhost}/{name}.
func (s *Server) getExchange(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, false)
	if !ok {
		return
	}
	x, err := v.Exchange(exchangeName(r.PathValue("name")))
	if err != nil {
		s.notFound(w, r, u)
		return
	}
	out := s.formatExchange(v, x)
	out.Incoming, out.Outgoing = []any{}, []any{}
	s.writeJSON(w, http.StatusOK, out)
}

// exchangeBody is the body of PUT /api/exchanges/{vhost}/{name}.
type exchangeBody struct {
	Type       string         `json:"type"`
	Durable    *bool          `json:"durable"`
	AutoDelete bool           `json:"auto_delete"`
	Internal   bool           `json:"internal"`
	Arguments  map[string]any `json:"arguments"`
}

// putExchange serves PUT /api/exchanges/{vhost}/{name}: declares the
// exchange (durable unless told otherwise); 201, 204 for an equivalent
// redeclare, 400 for an inequivalent one or an unknown type. The user
// needs configure permission on it.
func (s *Server) putExchange(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, true)
	if !ok {
		return
	}
	var body exchangeBody
	if !s.decode(w, r, &body) {
		return
	}
	name := exchangeName(r.PathValue("name"))
	if !s.checkPerm(w, s.users.CheckConfigure(u.Name, v.Name(), auth.ResourceExchange, name)) {
		return
	}
	kind, err := route.ParseKind(body.Type)
	if err != nil {
		s.badRequest(w, err.Error())
		return
	}
	_, lookErr := v.Exchange(name)
	x := route.Exchange{Name: name, Kind: kind, Durable: body.Durable == nil || *body.Durable,
		AutoDelete: body.AutoDelete, Internal: body.Internal, Args: message.TableFromJSON(body.Arguments)}
	if err := v.DeclareExchange(x, false); err != nil {
		s.fail(w, r, err)
		return
	}
	created(w, lookErr != nil)
}

// deleteExchange serves DELETE /api/exchanges/{vhost}/{name} (if-unused
// as a query parameter); 204, 404 when there is none.
func (s *Server) deleteExchange(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, true)
	if !ok {
		return
	}
	name := exchangeName(r.PathValue("name"))
	if !s.checkPerm(w, s.users.CheckConfigure(u.Name, v.Name(), auth.ResourceExchange, name)) {
		return
	}
	if _, err := v.Exchange(name); err != nil {
		s.notFound(w, r, u)
		return
	}
	if err := v.DeleteExchange(name, boolParam(r.URL.Query().Get("if-unused"))); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// publishBody is the body of POST /api/exchanges/{vhost}/{name}/publish.
type publishBody struct {
	Properties      map[string]any `json:"properties"`
	RoutingKey      string         `json:"routing_key"`
	Payload         string         `json:"payload"`
	PayloadEncoding string         `json:"payload_encoding"`
}

// publish serves POST /api/exchanges/{vhost}/{name}/publish and answers
// {"routed": bool}, as RabbitMQ does. The user needs write permission on
// the exchange and, where topic permissions are set, on the routing key.
func (s *Server) publish(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, true)
	if !ok {
		return
	}
	var body publishBody
	if !s.decode(w, r, &body) {
		return
	}
	name := exchangeName(r.PathValue("name"))
	if !s.checkPerm(w, s.users.CheckWrite(u.Name, v.Name(), auth.ResourceExchange, name)) ||
		!s.checkPerm(w, s.users.CheckTopic(u.Name, v.Name(), name, body.RoutingKey, true, nil)) {
		return
	}
	payload := []byte(body.Payload)
	switch body.PayloadEncoding {
	case "string", "":
	case "base64":
		var err error
		if payload, err = base64.StdEncoding.DecodeString(body.Payload); err != nil {
			s.badRequest(w, "payload is not valid base64")
			return
		}
	default:
		s.badRequest(w, "payload_encoding must be string or base64")
		return
	}
	props, err := parseProperties(body.Properties)
	if err != nil {
		s.badRequest(w, "invalid properties: "+err.Error())
		return
	}
	m := &message.Message{Exchange: name, RoutingKey: body.RoutingKey, Props: props, Body: payload, Origin: message.FaceCore}
	routed, err := v.Publish(m, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]bool{"routed": routed})
}
