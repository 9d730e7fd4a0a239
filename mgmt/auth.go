package mgmt

import (
	"net"
	"net/http"

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
