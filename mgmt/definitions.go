package mgmt

import (
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/route"
)

// definitionRoutes registers /api/definitions (administrator): export in
// RabbitMQ's format and import through core.Broker.ImportDefinitions.
func (s *Server) definitionRoutes(r router) {
	r.list("GET /api/definitions", s.exportDefinitions)
	r.list("GET /api/definitions/{vhost}", s.exportDefinitions)
	r.list("POST /api/definitions", s.importDefinitions)
	r.list("POST /api/definitions/{vhost}", s.importDefinitions)
}

// definitions builds the export: the user store's part (users with their
// password hashes, vhosts, permissions, topic permissions, policies,
// operator policies, vhost limits) and the durable exchanges, queues and
// bindings, which are what RabbitMQ exports.
func (s *Server) definitions(only string) *auth.Definitions {
	d := s.users.Export()
	d.RabbitVersion, d.RabbitMQVersion = rabbitVersion, rabbitVersion
	d.ProductName, d.ProductVersion = "Junction", s.opts.version
	d.Queues, d.Exchanges, d.Bindings = []auth.QueueDef{}, []auth.ExchangeDef{}, []auth.BindingDef{}
	for _, v := range s.b.Vhosts() {
		if only != "" && v.Name() != only {
			continue
		}
		durable := s.exportQueues(d, v)
		exchanges := s.exportExchanges(d, v)
		for _, b := range v.Routes().Bindings() {
			dest := durable[b.Dest.Name]
			if b.Dest.Kind == route.DestExchange {
				dest = exchanges[b.Dest.Name]
			}
			if !exchanges[b.Source] || !dest {
				continue
			}
			bj := formatBinding(v.Name(), b)
			d.Bindings = append(d.Bindings, auth.BindingDef{Source: bj.Source, Vhost: bj.Vhost, Destination: bj.Destination,
				DestinationType: bj.DestinationType, RoutingKey: bj.RoutingKey, Arguments: bj.Arguments})
		}
	}
	if only != "" {
		d.Users, d.Vhosts, d.Permissions, d.TopicPermissions = nil, nil, nil, nil
		d.Policies = vhostPolicies(d.Policies, only)
		d.OperatorPolicies = vhostPolicies(d.OperatorPolicies, only)
	}
	return nonNil(d)
}

// exportQueues adds v's durable, non-exclusive queues and its plain
// streams to d and returns their names.
func (s *Server) exportQueues(d *auth.Definitions, v *core.Vhost) map[string]bool {
	names := map[string]bool{}
	for _, qj := range s.vhostQueues(v) {
		if !qj.Durable || qj.Exclusive {
			continue
		}
		names[qj.Name] = true
		d.Queues = append(d.Queues, auth.QueueDef{Name: qj.Name, Vhost: qj.Vhost, Type: qj.Type,
			Durable: true, AutoDelete: qj.AutoDelete, Arguments: qj.Arguments})
	}
	return names
}

// exportExchanges adds v's durable exchanges (not the predeclared amq.*
// ones) to d and returns the names of every durable exchange.
func (s *Server) exportExchanges(d *auth.Definitions, v *core.Vhost) map[string]bool {
	names := map[string]bool{}
	for _, x := range v.Routes().Exchanges() {
		if !x.Durable {
			continue
		}
		names[x.Name] = true
		if strings.HasPrefix(x.Name, "amq.") {
			continue
		}
		d.Exchanges = append(d.Exchanges, auth.ExchangeDef{Name: x.Name, Vhost: v.Name(), Type: x.Kind.String(),
			Durable: true, AutoDelete: x.AutoDelete, Internal: x.Internal, Arguments: tableJSON(x.Args)})
	}
	return names
}

// vhostPolicies keeps the policies of one vhost.
func vhostPolicies(ps []auth.PolicyDef, vhost string) []auth.PolicyDef {
	out := []auth.PolicyDef{}
	for _, p := range ps {
		if p.Vhost == vhost {
			out = append(out, p)
		}
	}
	return out
}

// nonNil makes the lists of d empty instead of nil, so JSON shows [].
func nonNil(d *auth.Definitions) *auth.Definitions {
	if d.Parameters == nil {
		d.Parameters = []auth.ParameterDef{}
	}
	if d.GlobalParameters == nil {
		d.GlobalParameters = []auth.GlobalParameterDef{}
	}
	if d.Policies == nil {
		d.Policies = []auth.PolicyDef{}
	}
	return d
}

// exportDefinitions serves GET /api/definitions and /api/definitions/{vhost}.
// ?download=name asks for an attachment, as the web UI does.
func (s *Server) exportDefinitions(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	only := ""
	if hasVhostParam(r) {
		v, ok := s.vhostFor(w, r, u, false)
		if !ok {
			return
		}
		only = v.Name()
	}
	if name := r.URL.Query().Get("download"); name != "" {
		w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(name, `"`, "")+`"`)
	}
	s.writeJSON(w, http.StatusOK, s.definitions(only))
}

// readDefinitions reads the uploaded file: the request body, or the
// "file" field of a multipart form (the web UI's upload).
func readDefinitions(r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(nil, r.Body, maxBody)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		r.Body = body
		f, _, err := r.FormFile("file")
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return io.ReadAll(f)
	}
	return io.ReadAll(body)
}

// importDefinitions serves POST /api/definitions (and /{vhost}, which
// loads everything into that vhost): 204 when everything was imported,
// 200 {"skipped":[...]} listing what Junction does not support and left
// out (federation and shovel parameters, ha-* policy keys, ...), 400 for
// a malformed file or an object that conflicts with an existing one.
func (s *Server) importDefinitions(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireAdmin(w, u) {
		return
	}
	data, err := readDefinitions(r)
	if err != nil {
		s.badRequest(w, "could not read the definitions: "+err.Error())
		return
	}
	d, err := auth.ParseDefinitions(data)
	if err != nil {
		s.badRequest(w, err.Error())
		return
	}
	if hasVhostParam(r) {
		v, ok := s.vhostFor(w, r, u, true)
		if !ok {
			return
		}
		intoVhost(d, v.Name())
	}
	skipped, err := s.b.ImportDefinitions(d)
	if err != nil {
		s.badRequest(w, err.Error())
		return
	}
	if err := s.restoreVhostMetadata(d); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(skipped) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.log.Warn("definitions import: skipped what Junction does not support", "by", u.Name, "skipped", strings.Join(skipped, "; "))
	s.writeJSON(w, http.StatusOK, map[string][]string{"skipped": skipped})
}

// intoVhost rewrites a (vhost) definitions file to load into vhost only.
func intoVhost(d *auth.Definitions, vhost string) {
	d.Users, d.Vhosts, d.Permissions, d.TopicPermissions = nil, nil, nil, nil
	for i := range d.Queues {
		d.Queues[i].Vhost = vhost
	}
	for i := range d.Exchanges {
		d.Exchanges[i].Vhost = vhost
	}
	for i := range d.Bindings {
		d.Bindings[i].Vhost = vhost
	}
	for i := range d.Policies {
		d.Policies[i].Vhost = vhost
	}
	for i := range d.OperatorPolicies {
		d.OperatorPolicies[i].Vhost = vhost
	}
	for i := range d.Parameters {
		d.Parameters[i].Vhost = vhost
	}
}

// restoreVhostMetadata puts the imported vhosts' descriptions, tags and
// default queue types back: core.Broker.AddVhost, which the import runs
// for each vhost, resets a vhost it creates in the router to bare
// metadata.
func (s *Server) restoreVhostMetadata(d *auth.Definitions) error {
	for _, vd := range d.Vhosts {
		meta := auth.Vhost{Name: vd.Name, Description: vd.Description, Tags: vd.Tags, DefaultQueueType: vd.DefaultQueueType}
		if m := vd.Metadata; m != nil {
			meta.Description, meta.Tags, meta.DefaultQueueType = m.Description, m.Tags, m.DefaultQueueType
		}
		if old, ok := s.users.Vhost(vd.Name); ok {
			meta.Limits = old.Limits
			if old.Description == meta.Description && slices.Equal(old.Tags, meta.Tags) && old.DefaultQueueType == meta.DefaultQueueType {
				continue
			}
		}
		if err := s.users.PutVhost(meta); err != nil {
			return err
		}
	}
	return nil
}
