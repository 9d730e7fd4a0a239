package mgmt

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"

	"github.com/junctionmq/junction/core/auth"
)

// vhostLimitNames and userLimitNames are the limits RabbitMQ knows.
var (
	vhostLimitNames = []string{"max-connections", "max-queues"}
	userLimitNames  = []string{"max-connections", "max-channels"}
)

// limitRoutes registers RabbitMQ's /api/vhost-limits and /api/user-limits
// (administrators only). The core enforces max-connections (user and
// vhost, AMQP and MQTT together) and max-queues; max-channels is kept and
// exported but not yet enforced.
func (s *Server) limitRoutes(r router) {
	r.handle("GET /api/vhost-limits", s.listVhostLimits)
	r.handle("GET /api/vhost-limits/{vhost}", s.listVhostLimits)
	r.handle("PUT /api/vhost-limits/{vhost}/{name}", s.putVhostLimit)
	r.handle("DELETE /api/vhost-limits/{vhost}/{name}", s.deleteVhostLimit)
	r.handle("GET /api/user-limits", s.listUserLimits)
	r.handle("GET /api/user-limits/{user}", s.listUserLimits)
	r.handle("PUT /api/user-limits/{user}/{name}", s.putUserLimit)
	r.handle("DELETE /api/user-limits/{user}/{name}", s.deleteUserLimit)
}

// limitBody is the body of a limit PUT: {"value": N}, N an integer
// (negative: no limit, as RabbitMQ).
type limitBody struct {
	Value *json.Number `json:"value"`
}

// limitValue decodes a limit PUT, answering 400 as RabbitMQ's validation
// does for an unknown limit or a value that is not an integer.
func (s *Server) limitValue(w http.ResponseWriter, r *http.Request, known []string) (string, int64, bool) {
	name := r.PathValue("name")
	if !slices.Contains(known, name) {
		s.badRequest(w, "Validation failed\n\n["+name+"] are not recognised limit names")
		return "", 0, false
	}
	var body limitBody
	if !s.decode(w, r, &body) {
		return "", 0, false
	}
	if body.Value == nil {
		s.badRequest(w, "Validation failed\n\nvalue is missing")
		return "", 0, false
	}
	n, err := body.Value.Int64()
	if err != nil {
		s.badRequest(w, "Validation failed\n\n"+name+" should be a number, actually was "+body.Value.String())
		return "", 0, false
	}
	return name, n, true
}

// listVhostLimits serves GET /api/vhost-limits[/{vhost}]: vhosts with
// limits set.
func (s *Server) listVhostLimits(w http.ResponseWriter, r *http.Request, u *auth.User) {
	s.listLimits(w, r, u, vhostLimits)
}

// putVhostLimit serves PUT /api/vhost-limits/{vhost}/{name}.
func (s *Server) putVhostLimit(w http.ResponseWriter, r *http.Request, u *auth.User) {
	s.editLimits(w, r, u, vhostLimits, true)
}

// deleteVhostLimit serves DELETE /api/vhost-limits/{vhost}/{name}.
func (s *Server) deleteVhostLimit(w http.ResponseWriter, r *http.Request, u *auth.User) {
	s.editLimits(w, r, u, vhostLimits, false)
}

// listUserLimits serves GET /api/user-limits[/{user}]: users with limits
// set.
func (s *Server) listUserLimits(w http.ResponseWriter, r *http.Request, u *auth.User) {
	s.listLimits(w, r, u, userLimits)
}

// putUserLimit serves PUT /api/user-limits/{user}/{name}.
func (s *Server) putUserLimit(w http.ResponseWriter, r *http.Request, u *auth.User) {
	s.editLimits(w, r, u, userLimits, true)
}

// deleteUserLimit serves DELETE /api/user-limits/{user}/{name}.
func (s *Server) deleteUserLimit(w http.ResponseWriter, r *http.Request, u *auth.User) {
	s.editLimits(w, r, u, userLimits, false)
}

// limitKind is what a vhost's and a user's limits differ in.
type limitKind struct {
	param string   // the path parameter naming the vhost or user
	names []string // the limits RabbitMQ knows for it
	get   func(users *auth.Store, name string) (map[string]int64, bool)
	set   func(users *auth.Store, name string, limits map[string]int64) error
	all   func(users *auth.Store) []string // every vhost or user, sorted
}

var (
	vhostLimits = limitKind{param: "vhost", names: vhostLimitNames,
		get: func(users *auth.Store, name string) (map[string]int64, bool) {
			v, ok := users.Vhost(name)
			if !ok {
				return nil, false
			}
			return v.Limits, true
		},
		set: (*auth.Store).SetVhostLimits,
		all: func(users *auth.Store) []string {
			var out []string
			for _, v := range users.Vhosts() {
				out = append(out, v.Name)
			}
			return out
		}}
	userLimits = limitKind{param: "user", names: userLimitNames,
		get: func(users *auth.Store, name string) (map[string]int64, bool) {
			x, ok := users.User(name)
			if !ok {
				return nil, false
			}
			return x.Limits, true
		},
		set: (*auth.Store).SetUserLimits,
		all: func(users *auth.Store) []string {
			var out []string
			for _, x := range users.Users() {
				out = append(out, x.Name)
			}
			return out
		}}
)

// listLimits answers RabbitMQ's list of the vhosts' or users' limits,
// [{"vhost" or "user": name, "value": {limit: n}}], of every one with
// limits set or of the one the path names (404 if it does not exist).
func (s *Server) listLimits(w http.ResponseWriter, r *http.Request, u *auth.User, k limitKind) {
	if !s.requireAdmin(w, u) {
		return
	}
	names := k.all(s.users)
	if one := r.PathValue(k.param); one != "" {
		if _, ok := k.get(s.users, one); !ok {
			s.notFound(w, r, u)
			return
		}
		names = []string{one}
	}
	out := []map[string]any{}
	for _, name := range names {
		if limits, _ := k.get(s.users, name); len(limits) > 0 {
			out = append(out, map[string]any{k.param: name, "value": limits})
		}
	}
	s.writeJSON(w, http.StatusOK, out)
}

// editLimits sets (PUT) or clears (DELETE) one limit of a vhost or user:
// 204, as RabbitMQ answers both.
func (s *Server) editLimits(w http.ResponseWriter, r *http.Request, u *auth.User, k limitKind, set bool) {
	if !s.requireAdmin(w, u) {
		return
	}
	owner := r.PathValue(k.param)
	cur, ok := k.get(s.users, owner)
	if !ok {
		s.notFound(w, r, u)
		return
	}
	limits := maps.Clone(cur)
	if set {
		name, n, ok := s.limitValue(w, r, k.names)
		if !ok {
			return
		}
		if limits == nil {
			limits = map[string]int64{}
		}
		limits[name] = n
	} else {
		delete(limits, r.PathValue("name"))
	}
	if err := k.set(s.users, owner, limits); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
