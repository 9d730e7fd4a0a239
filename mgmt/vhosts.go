package mgmt

import (
	"net/http"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
)

// vhostRoutes registers /api/vhosts.
func (s *Server) vhostRoutes(r router) {
	r.list("GET /api/vhosts", s.listVhostsJSON)
	r.handle("GET /api/vhosts/{vhost}", s.getVhost)
	r.handle("PUT /api/vhosts/{vhost}", s.putVhost)
	r.handle("DELETE /api/vhosts/{vhost}", s.deleteVhost)
	r.list("GET /api/vhosts/{vhost}/permissions", s.listVhostPermissions)
	r.list("GET /api/vhosts/{vhost}/topic-permissions", s.listVhostTopicPermissions)
}

// vhostJSON is a vhost in RabbitMQ's shape (rabbit_mgmt_wm_vhosts).
type vhostJSON struct {
	Name             string            `json:"name"`
	Description      string            `json:"description"`
	Tags             []string          `json:"tags"`
	DefaultQueueType string            `json:"default_queue_type"`
	Metadata         vhostMetadata     `json:"metadata"`
	Tracing          bool              `json:"tracing"`
	ClusterState     map[string]string `json:"cluster_state"`
	queueTotals
}

// vhostMetadata is a vhost's metadata object (RabbitMQ 3.11+).
type vhostMetadata struct {
	Description      string   `json:"description"`
	Tags             []string `json:"tags"`
	DefaultQueueType string   `json:"default_queue_type,omitempty"`
}

// formatVhost builds a vhost's JSON with its message counts.
func formatVhost(vh *auth.Vhost, v *core.Vhost) vhostJSON {
	qt := "classic"
	if vh.DefaultQueueType != "" {
		qt = vh.DefaultQueueType
	}
	out := vhostJSON{Name: vh.Name, Description: vh.Description, Tags: tagList(vh.Tags), DefaultQueueType: qt,
		Metadata:     vhostMetadata{Description: vh.Description, Tags: tagList(vh.Tags), DefaultQueueType: qt},
		ClusterState: map[string]string{nodeName: "running"}}
	if v != nil {
		for _, q := range v.Queues() {
			st := q.Stats()
			out.MessagesReady += st.Ready
			out.MessagesUnacked += st.Unacked + st.Leased
		}
		out.Messages = out.MessagesReady + out.MessagesUnacked
	}
	return out
}

// listVhostsJSON serves GET /api/vhosts: the vhosts u may see.
func (s *Server) listVhostsJSON(w http.ResponseWriter, r *http.Request, u *auth.User) {
	out := []vhostJSON{}
	for _, vh := range s.users.Vhosts() {
		if !s.seesVhost(u, vh.Name) {
			continue
		}
		v, _ := s.b.Vhost(vh.Name)
		out = append(out, formatVhost(vh, v))
	}
	s.writeList(w, r, out)
}

// getVhost serves GET /api/vhosts/{vhost}.
func (s *Server) getVhost(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, false)
	if !ok {
		return
	}
	vh, ok := s.users.Vhost(v.Name())
	if !ok {
		s.notFound(w, r, u)
		return
	}
	s.writeJSON(w, http.StatusOK, formatVhost(vh, v))
}

// vhostBody is the body of PUT /api/vhosts/{vhost}.
type vhostBody struct {
	Description      string       `json:"description"`
	Tags             auth.TagList `json:"tags"`
	DefaultQueueType string       `json:"default_queue_type"`
	Tracing          bool         `json:"tracing"`
	Metadata         *vhostMetaIn `json:"metadata"`
}

// vhostMetaIn is the metadata object a PUT may carry instead.
type vhostMetaIn struct {
	Description      string       `json:"description"`
	Tags             auth.TagList `json:"tags"`
	DefaultQueueType string       `json:"default_queue_type"`
}

// putVhost serves PUT /api/vhosts/{vhost} (administrator): creates the
// vhost or updates its metadata; 201 or 204.
func (s *Server) putVhost(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	var body vhostBody
	if !s.decode(w, r, &body) {
		return
	}
	if m := body.Metadata; m != nil {
		body.Description, body.Tags, body.DefaultQueueType = m.Description, m.Tags, m.DefaultQueueType
	}
	name := r.PathValue("vhost")
	isNew := !s.users.VhostExists(name)
	if _, err := s.b.AddVhost(name); err != nil {
		s.fail(w, r, err)
		return
	}
	meta := auth.Vhost{Name: name, Description: body.Description, Tags: body.Tags, DefaultQueueType: body.DefaultQueueType}
	if old, ok := s.users.Vhost(name); ok {
		meta.Limits = old.Limits
	}
	if err := s.users.PutVhost(meta); err != nil {
		s.fail(w, r, err)
		return
	}
	created(w, isNew)
}

// deleteVhost serves DELETE /api/vhosts/{vhost} (administrator).
func (s *Server) deleteVhost(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	if err := s.b.DeleteVhost(r.PathValue("vhost")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listVhostPermissions serves GET /api/vhosts/{vhost}/permissions.
func (s *Server) listVhostPermissions(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	if _, ok := s.vhostFor(w, r, u, false); !ok {
		return
	}
	s.writeJSON(w, http.StatusOK, permissionsJSON(s.users.ListPermissions("", r.PathValue("vhost"))))
}

// listVhostTopicPermissions serves GET /api/vhosts/{vhost}/topic-permissions.
func (s *Server) listVhostTopicPermissions(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	if _, ok := s.vhostFor(w, r, u, false); !ok {
		return
	}
	s.writeJSON(w, http.StatusOK, topicPermissionsJSON(s.users.ListTopicPermissions("", r.PathValue("vhost"))))
}
