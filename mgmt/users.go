package mgmt

import (
	"net/http"

	"github.com/junctionmq/junction/core/auth"
)

// userRoutes registers users, permissions and topic permissions; all
// administrator-only, as in RabbitMQ.
func (s *Server) userRoutes(r router) {
	r.list("GET /api/users", s.listUsers)
	r.handle("GET /api/users/{user}", s.getUser)
	r.handle("PUT /api/users/{user}", s.putUser)
	r.handle("DELETE /api/users/{user}", s.deleteUser)
	r.list("GET /api/users/{user}/permissions", s.listUserPermissions)
	r.list("GET /api/users/{user}/topic-permissions", s.listUserTopicPermissions)
	r.list("GET /api/permissions", s.listPermissions)
	r.handle("GET /api/permissions/{vhost}/{user}", s.getPermission)
	r.handle("PUT /api/permissions/{vhost}/{user}", s.putPermission)
	r.handle("DELETE /api/permissions/{vhost}/{user}", s.deletePermission)
	r.list("GET /api/topic-permissions", s.listTopicPermissions)
	r.handle("GET /api/topic-permissions/{vhost}/{user}", s.getTopicPermission)
	r.handle("PUT /api/topic-permissions/{vhost}/{user}", s.putTopicPermission)
	r.handle("DELETE /api/topic-permissions/{vhost}/{user}", s.deleteTopicPermission)
	r.handle("DELETE /api/topic-permissions/{vhost}/{user}/{exchange}", s.deleteTopicPermission)
}

// userJSON is a user in RabbitMQ's shape. The password hash is what
// RabbitMQ shows administrators; the password itself is never kept.
type userJSON struct {
	Name             string             `json:"name"`
	PasswordHash     string             `json:"password_hash"`
	HashingAlgorithm auth.HashAlgorithm `json:"hashing_algorithm"`
	Tags             []string           `json:"tags"`
	Limits           map[string]int64   `json:"limits"`
}

func formatUser(u *auth.User) userJSON {
	limits := u.Limits
	if limits == nil {
		limits = map[string]int64{}
	}
	return userJSON{Name: u.Name, PasswordHash: u.PasswordHash(), HashingAlgorithm: u.HashingAlgorithm(),
		Tags: tagList(u.Tags), Limits: limits}
}

// listUsers serves GET /api/users.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	out := []userJSON{}
	for _, x := range s.users.Users() {
		out = append(out, formatUser(x))
	}
	s.writeList(w, r, out)
}

// getUser serves GET /api/users/{user}.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	x, ok := s.users.User(r.PathValue("user"))
	if !ok {
		s.notFound(w, r, u)
		return
	}
	s.writeJSON(w, http.StatusOK, formatUser(x))
}

// userBody is the body of PUT /api/users/{user}. Pointers tell an absent
// key from an empty one.
type userBody struct {
	Password         *string            `json:"password"`
	PasswordHash     *string            `json:"password_hash"`
	HashingAlgorithm auth.HashAlgorithm `json:"hashing_algorithm"`
	Tags             auth.TagList       `json:"tags"`
}

// putUser serves PUT /api/users/{user}: with password (hashed here), or
// password_hash and hashing_algorithm (as exported), and tags (a list or
// RabbitMQ's comma-separated string). Without either an existing user
// keeps its password and gets the tags; a new one is refused.
func (s *Server) putUser(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	var body userBody
	if !s.decode(w, r, &body) {
		return
	}
	name := r.PathValue("user")
	_, exists := s.users.User(name)
	tags := []string(body.Tags)
	var err error
	switch {
	case body.Password != nil:
		err = s.users.PutUser(name, *body.Password, tags)
	case body.PasswordHash != nil:
		err = s.users.PutUserHash(name, *body.PasswordHash, body.HashingAlgorithm, tags)
	case exists:
		err = s.users.SetTags(name, tags)
	default:
		s.badRequest(w, "password or password_hash must be set")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	created(w, !exists)
}

// deleteUser serves DELETE /api/users/{user}.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	if err := s.users.DeleteUser(r.PathValue("user")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// permissionsJSON never returns nil, so JSON shows [].
func permissionsJSON(p []auth.Permission) []auth.Permission {
	if p == nil {
		return []auth.Permission{}
	}
	return p
}

// topicPermissionsJSON never returns nil.
func topicPermissionsJSON(p []auth.TopicPermission) []auth.TopicPermission {
	if p == nil {
		return []auth.TopicPermission{}
	}
	return p
}

// listUserPermissions serves GET /api/users/{user}/permissions.
func (s *Server) listUserPermissions(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	if _, ok := s.users.User(r.PathValue("user")); !ok {
		s.notFound(w, r, u)
		return
	}
	s.writeJSON(w, http.StatusOK, permissionsJSON(s.users.ListPermissions(r.PathValue("user"), "")))
}

// listUserTopicPermissions serves GET /api/users/{user}/topic-permissions.
func (s *Server) listUserTopicPermissions(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	if _, ok := s.users.User(r.PathValue("user")); !ok {
		s.notFound(w, r, u)
		return
	}
	s.writeJSON(w, http.StatusOK, topicPermissionsJSON(s.users.ListTopicPermissions(r.PathValue("user"), "")))
}

// listPermissions serves GET /api/permissions.
func (s *Server) listPermissions(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	s.writeList(w, r, permissionsJSON(s.users.ListPermissions("", "")))
}

// userVhost checks that the path's {user} and {vhost} exist, writing 404
// when one does not.
func (s *Server) userVhost(w http.ResponseWriter, r *http.Request, u *auth.User) (user, vhost string, ok bool) {
	user, vhost = r.PathValue("user"), r.PathValue("vhost")
	_, userOK := s.users.User(user)
	if !userOK || !s.users.VhostExists(vhost) {
		s.notFound(w, r, u)
		return "", "", false
	}
	return user, vhost, true
}

// getPermission serves GET /api/permissions/{vhost}/{user}.
func (s *Server) getPermission(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	p, ok := s.users.Permissions(r.PathValue("user"), r.PathValue("vhost"))
	if !ok {
		s.notFound(w, r, u)
		return
	}
	s.writeJSON(w, http.StatusOK, p)
}

// permissionBody is the body of PUT /api/permissions/{vhost}/{user}.
type permissionBody struct {
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`
}

// putPermission serves PUT /api/permissions/{vhost}/{user}.
func (s *Server) putPermission(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	var body permissionBody
	if !s.decode(w, r, &body) {
		return
	}
	user, vhost, ok := s.userVhost(w, r, u)
	if !ok {
		return
	}
	_, existed := s.users.Permissions(user, vhost)
	if err := s.users.SetPermissions(user, vhost, body.Configure, body.Write, body.Read); err != nil {
		s.fail(w, r, err)
		return
	}
	created(w, !existed)
}

// deletePermission serves DELETE /api/permissions/{vhost}/{user}.
func (s *Server) deletePermission(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	user, vhost := r.PathValue("user"), r.PathValue("vhost")
	if _, ok := s.users.Permissions(user, vhost); !ok {
		s.notFound(w, r, u)
		return
	}
	if err := s.users.ClearPermissions(user, vhost); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listTopicPermissions serves GET /api/topic-permissions.
func (s *Server) listTopicPermissions(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	s.writeList(w, r, topicPermissionsJSON(s.users.ListTopicPermissions("", "")))
}

// getTopicPermission serves GET /api/topic-permissions/{vhost}/{user}: the
// user's topic permissions on every exchange of the vhost.
func (s *Server) getTopicPermission(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	list := s.users.ListTopicPermissions(r.PathValue("user"), r.PathValue("vhost"))
	if len(list) == 0 {
		s.notFound(w, r, u)
		return
	}
	s.writeJSON(w, http.StatusOK, list)
}

// topicPermissionBody is the body of PUT /api/topic-permissions/{vhost}/{user}.
type topicPermissionBody struct {
	Exchange string `json:"exchange"`
	Write    string `json:"write"`
	Read     string `json:"read"`
}

// putTopicPermission serves PUT /api/topic-permissions/{vhost}/{user}.
func (s *Server) putTopicPermission(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	var body topicPermissionBody
	if !s.decode(w, r, &body) {
		return
	}
	user, vhost, ok := s.userVhost(w, r, u)
	if !ok {
		return
	}
	if body.Exchange == "" {
		s.badRequest(w, "exchange must be set")
		return
	}
	existed := false
	for _, p := range s.users.ListTopicPermissions(user, vhost) {
		existed = existed || p.Exchange == body.Exchange
	}
	if err := s.users.SetTopicPermissions(user, vhost, body.Exchange, body.Write, body.Read); err != nil {
		s.fail(w, r, err)
		return
	}
	created(w, !existed)
}

// deleteTopicPermission serves DELETE /api/topic-permissions/{vhost}/{user}
// and .../{exchange}.
func (s *Server) deleteTopicPermission(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	user, vhost, exchange := r.PathValue("user"), r.PathValue("vhost"), r.PathValue("exchange")
	found := false
	for _, p := range s.users.ListTopicPermissions(user, vhost) {
		found = found || exchange == "" || p.Exchange == exchange
	}
	if !found {
		s.notFound(w, r, u)
		return
	}
	if err := s.users.ClearTopicPermissions(user, vhost, exchange); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
