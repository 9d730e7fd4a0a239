package mgmt

import (
	"net/http"
	"strings"

	"github.com/junctionmq/junction/core/auth"
)

// policyRoutes registers /api/policies (policymaker and administrator
// users, in the vhosts they may use) and /api/operator-policies
// (administrator). Policies are applied by the core to existing and new
// queues and exchanges, as RabbitMQ applies them.
func (s *Server) policyRoutes(r router) {
	for _, base := range []string{"/api/policies", "/api/operator-policies"} {
		r.list("GET "+base, s.listPolicies)
		r.list("GET "+base+"/{vhost}", s.listPolicies)
		r.handle("GET "+base+"/{vhost}/{name}", s.getPolicy)
		r.handle("PUT "+base+"/{vhost}/{name}", s.putPolicy)
		r.handle("DELETE "+base+"/{vhost}/{name}", s.deletePolicy)
	}
}

// operator reports whether the request is about operator policies.
func operator(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/operator-policies") }

// mayPolicies: u may manage policies of this kind at all.
func (s *Server) mayPolicies(w http.ResponseWriter, r *http.Request, u *auth.User) bool {
	if operator(r) {
		return s.requireAdmin(w, u)
	}
	if !isPolicymaker(u) {
		s.notAuthorized(w, "User not authorised to access object")
		return false
	}
	return true
}

// policies lists the policies (or operator policies) of vhost ("" = all).
func (s *Server) policies(r *http.Request, vhost string) []*auth.Policy {
	if operator(r) {
		return s.users.OperatorPolicies(vhost)
	}
	return s.users.Policies(vhost)
}

// listPolicies serves GET /api/policies and /api/policies/{vhost}.
func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.mayPolicies(w, r, u) {
		return
	}
	vhosts, ok := s.listVhosts(w, r, u)
	if !ok {
		return
	}
	out := []*auth.Policy{}
	for _, v := range vhosts {
		if s.usesVhost(u, v.Name()) || u.IsAdmin() {
			out = append(out, s.policies(r, v.Name())...)
		}
	}
	s.writeList(w, r, out)
}

// findPolicy returns the path's policy, or nil.
func (s *Server) findPolicy(r *http.Request) *auth.Policy {
	for _, p := range s.policies(r, r.PathValue("vhost")) {
		if p.Name == r.PathValue("name") {
			return p
		}
	}
	return nil
}

// getPolicy serves GET /api/policies/{vhost}/{name}.
func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.mayPolicies(w, r, u) {
		return
	}
	if _, ok := s.vhostFor(w, r, u, true); !ok {
		return
	}
	p := s.findPolicy(r)
	if p == nil {
		s.notFound(w, r, u)
		return
	}
	s.writeJSON(w, http.StatusOK, p)
}

// policyBody is the body of PUT /api/policies/{vhost}/{name}.
type policyBody struct {
	Pattern    string         `json:"pattern"`
	Definition map[string]any `json:"definition"`
	Priority   int            `json:"priority"`
	ApplyTo    string         `json:"apply-to"`
}

// putPolicy serves PUT /api/policies/{vhost}/{name}: 201 or 204; 400 for
// an invalid pattern, apply-to or definition key.
func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.mayPolicies(w, r, u) {
		return
	}
	v, ok := s.vhostFor(w, r, u, true)
	if !ok {
		return
	}
	var body policyBody
	if !s.decode(w, r, &body) {
		return
	}
	if body.ApplyTo == "" {
		body.ApplyTo = auth.ApplyAll
	}
	p := auth.Policy{Vhost: v.Name(), Name: r.PathValue("name"), Pattern: body.Pattern, ApplyTo: body.ApplyTo,
		Priority: body.Priority, Definition: normalizeMap(body.Definition)}
	isNew := s.findPolicy(r) == nil
	put := s.b.PutPolicy
	if operator(r) {
		put = s.b.PutOperatorPolicy
	}
	if err := put(p); err != nil {
		s.fail(w, r, err)
		return
	}
	created(w, isNew)
}

// deletePolicy serves DELETE /api/policies/{vhost}/{name}.
func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.mayPolicies(w, r, u) {
		return
	}
	v, ok := s.vhostFor(w, r, u, true)
	if !ok {
		return
	}
	del := s.b.DeletePolicy
	if operator(r) {
		del = s.b.DeleteOperatorPolicy
	}
	if err := del(v.Name(), r.PathValue("name")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
