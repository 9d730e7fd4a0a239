package mgmt

import (
	"net"
	"net/http"
	"strings"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
)

// handler is an endpoint that runs for an authenticated user.
type handler func(w http.ResponseWriter, r *http.Request, u *auth.User)

// auth checks HTTP basic auth against the core's user store, the
// loopback-only rule and the management tags (any of management,
// policymaker, monitoring, administrator), as RabbitMQ does, then runs
// h. The password is never logged.
func (s *Server) auth(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		restoreSlashes(r)
		name, pass, ok := r.BasicAuth()
		if !ok {
			s.notAuthorized(w, "Not_Authorized")
			return
		}
		u, err := s.users.CheckPassword(name, pass)
		if err != nil {
			s.log.Info("management login failed", "user", name, "remote", r.RemoteAddr)
			s.notAuthorized(w, "Login failed")
			return
		}
		if !s.users.AllowedFrom(name, remoteAddr(r)) {
			s.notAuthorized(w, "User can only log in via localhost")
			return
		}
		if !isManagement(u) {
			s.notAuthorized(w, "Not management user")
			return
		}
		h(w, r, u)
	}
}

// remoteAddr parses the request's peer address for the loopback check.
func remoteAddr(r *http.Request) net.Addr {
	addr, err := net.ResolveTCPAddr("tcp", r.RemoteAddr)
	if err != nil {
		return nil
	}
	return addr
}

// isManagement: the user may use the management API at all.
func isManagement(u *auth.User) bool {
	return u.HasTag(auth.TagManagement) || u.HasTag(auth.TagPolicymaker) || isMonitor(u)
}

// isMonitor: the user sees every user's connections.
func isMonitor(u *auth.User) bool {
	return u.HasTag(auth.TagMonitoring) || u.IsAdmin()
}

// mayAccess applies RabbitMQ's is_authorized_user to one object owned by
// owner: reading needs monitoring (or ownership), deleting administrator
// (or ownership).
func mayAccess(u *auth.User, owner, method string) bool {
	if u.Name == owner {
		return true
	}
	if method == http.MethodDelete {
		return u.IsAdmin()
	}
	return isMonitor(u)
}

// requireAdmin writes RabbitMQ's 401 unless u is an administrator.
func (s *Server) requireAdmin(w http.ResponseWriter, u *auth.User) bool {
	if !u.IsAdmin() {
		s.notAuthorized(w, "Not administrator user")
		return false
	}
	return true
}

// requireMonitor writes RabbitMQ's 401 unless u may read everything
// (monitoring or administrator).
func (s *Server) requireMonitor(w http.ResponseWriter, u *auth.User) bool {
	if !isMonitor(u) {
		s.notAuthorized(w, "Not monitor user")
		return false
	}
	return true
}

// isPolicymaker: the user may manage policies in its vhosts.
func isPolicymaker(u *auth.User) bool {
	return u.HasTag(auth.TagPolicymaker) || u.IsAdmin()
}

// seesVhost: u may see the objects of vhost (rabbit_mgmt_util's
// is_authorized_vhost for reads): monitoring and administrator users see
// every vhost, the others those they have permissions in.
func (s *Server) seesVhost(u *auth.User, vhost string) bool {
	if isMonitor(u) {
		return s.users.VhostExists(vhost)
	}
	return s.users.CheckVhostAccess(u.Name, vhost) == nil
}

// usesVhost: u may change objects in vhost: it needs permissions there
// (administrators may too, as RabbitMQ 3.7+ lets them).
func (s *Server) usesVhost(u *auth.User, vhost string) bool {
	if u.IsAdmin() {
		return s.users.VhostExists(vhost)
	}
	return s.users.CheckVhostAccess(u.Name, vhost) == nil
}

// vhostFor returns the {vhost} of the path when u may see it (writing
// RabbitMQ's 404 for a missing vhost or 401 for one it may not see);
// write asks for the right to change things there.
func (s *Server) vhostFor(w http.ResponseWriter, r *http.Request, u *auth.User, write bool) (*core.Vhost, bool) {
	name := r.PathValue("vhost")
	if !s.users.VhostExists(name) {
		s.notFound(w, r, u)
		return nil, false
	}
	ok := s.seesVhost(u, name)
	if write {
		ok = s.usesVhost(u, name)
	}
	if !ok {
		s.notAuthorized(w, "Not authorised to access virtual host")
		return nil, false
	}
	v, err := s.b.Vhost(name)
	if err != nil {
		s.notFound(w, r, u)
		return nil, false
	}
	return v, true
}

// visibleVhosts lists the vhosts u may see, by name; vhost "" means all,
// else only that one (the {vhost} of a per-vhost listing).
func (s *Server) visibleVhosts(u *auth.User) []*core.Vhost {
	var out []*core.Vhost
	for _, v := range s.b.Vhosts() {
		if s.seesVhost(u, v.Name()) {
			out = append(out, v)
		}
	}
	return out
}

// listVhosts returns the vhosts a listing covers: all u may see, or the
// path's {vhost} only when the pattern has one. ok is false when an error
// was written.
func (s *Server) listVhosts(w http.ResponseWriter, r *http.Request, u *auth.User) ([]*core.Vhost, bool) {
	if r.PathValue("vhost") == "" && !hasVhostParam(r) {
		return s.visibleVhosts(u), true
	}
	v, ok := s.vhostFor(w, r, u, false)
	if !ok {
		return nil, false
	}
	return []*core.Vhost{v}, true
}

// hasVhostParam reports whether the matched pattern names {vhost}.
func hasVhostParam(r *http.Request) bool { return strings.Contains(r.Pattern, "{vhost}") }

// checkPerm runs one of the store's permission checks for u, writing
// RabbitMQ's 401 with the refusal text when it fails.
func (s *Server) checkPerm(w http.ResponseWriter, err error) bool {
	if err != nil {
		s.notAuthorized(w, err.Error())
		return false
	}
	return true
}
