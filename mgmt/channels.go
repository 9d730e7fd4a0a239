package mgmt

import (
	"net/http"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
)

// channelJSON is one entry of GET /api/channels, in RabbitMQ's shape
// (rabbit_mgmt_format for a channel). GET /api/channels/{name} adds the
// channel's consumers.
type channelJSON struct {
	AcksUncommitted        int            `json:"acks_uncommitted"`
	ClientFlowBlocked      bool           `json:"client_flow_blocked"`
	Confirm                bool           `json:"confirm"`
	ConnectionDetails      connDetails    `json:"connection_details"`
	ConsumerCount          int            `json:"consumer_count"`
	GlobalPrefetchCount    uint32         `json:"global_prefetch_count"`
	MessagesUnacknowledged int            `json:"messages_unacknowledged"`
	MessagesUncommitted    int            `json:"messages_uncommitted"`
	MessagesUnconfirmed    int            `json:"messages_unconfirmed"`
	Name                   string         `json:"name"`
	Node                   string         `json:"node"`
	Number                 uint16         `json:"number"`
	PrefetchCount          uint32         `json:"prefetch_count"`
	State                  string         `json:"state"`
	Transactional          bool           `json:"transactional"`
	User                   string         `json:"user"`
	UserWhoPerformedAction string         `json:"user_who_performed_action"`
	Vhost                  string         `json:"vhost"`
	ConsumerDetails        []consumerJSON `json:"consumer_details,omitempty"`
}

// connDetails is RabbitMQ's connection_details of a channel.
type connDetails struct {
	Name     string `json:"name"`
	PeerHost string `json:"peer_host"`
	PeerPort int    `json:"peer_port"`
}

// chanDetails is RabbitMQ's channel_details of a consumer.
type chanDetails struct {
	ConnectionName string `json:"connection_name"`
	Name           string `json:"name"`
	Node           string `json:"node"`
	Number         uint16 `json:"number"`
	PeerHost       string `json:"peer_host"`
	PeerPort       int    `json:"peer_port"`
	User           string `json:"user"`
}

// queueRef is RabbitMQ's queue object inside a consumer.
type queueRef struct {
	Name  string `json:"name"`
	Vhost string `json:"vhost"`
}

// consumerJSON is one entry of GET /api/consumers (and of a queue's or a
// channel's consumer_details), in RabbitMQ's shape.
type consumerJSON struct {
	AckRequired    bool           `json:"ack_required"`
	Active         bool           `json:"active"`
	ActivityStatus string         `json:"activity_status"`
	Arguments      map[string]any `json:"arguments"`
	ChannelDetails chanDetails    `json:"channel_details"`
	ConsumerTag    string         `json:"consumer_tag"`
	Exclusive      bool           `json:"exclusive"`
	PrefetchCount  uint32         `json:"prefetch_count"`
	Queue          queueRef       `json:"queue"`
}

// formatChannel turns the AMQP face's view of a channel into RabbitMQ's
// JSON.
func formatChannel(ch amqp.ChannelStats) channelJSON {
	peerHost, peerPort := hostPort(ch.Conn.Remote)
	return channelJSON{
		Confirm:                ch.Confirm,
		ConnectionDetails:      connDetails{Name: ch.Conn.Name, PeerHost: peerHost, PeerPort: peerPort},
		ConsumerCount:          ch.Consumers,
		GlobalPrefetchCount:    ch.GlobalPrefetch,
		MessagesUnacknowledged: ch.Unacked,
		MessagesUnconfirmed:    ch.Unconfirmed,
		Name:                   ch.Name,
		Node:                   nodeName,
		Number:                 ch.Number,
		PrefetchCount:          ch.Prefetch,
		State:                  ch.State,
		Transactional:          ch.Transactional,
		User:                   ch.Conn.User,
		UserWhoPerformedAction: ch.Conn.User,
		Vhost:                  ch.Conn.Vhost,
	}
}

// formatConsumer turns the AMQP face's view of a consumer into RabbitMQ's
// JSON.
func formatConsumer(cs amqp.ConsumerStats) consumerJSON {
	peerHost, peerPort := hostPort(cs.Channel.Conn.Remote)
	var args message.Table
	if cs.Priority != 0 {
		args = args.Set("x-priority", cs.Priority)
	}
	status := "up"
	if !cs.Active {
		status = "waiting"
	}
	return consumerJSON{
		AckRequired: cs.AckRequired, Active: cs.Active, ActivityStatus: status,
		Arguments: tableJSON(args),
		ChannelDetails: chanDetails{ConnectionName: cs.Channel.Conn.Name, Name: cs.Channel.Name, Node: nodeName,
			Number: cs.Channel.Number, PeerHost: peerHost, PeerPort: peerPort, User: cs.Channel.Conn.User},
		ConsumerTag: cs.Tag, Exclusive: cs.Exclusive, PrefetchCount: cs.Prefetch,
		Queue: queueRef{Name: cs.Queue, Vhost: cs.Vhost},
	}
}

// channels returns the AMQP channels u may see (as connections), of the
// connection called conn when conn is not empty, of vhost when vhost is
// not empty.
func (s *Server) channels(u *auth.User, conn, vhost string) []channelJSON {
	out := []channelJSON{}
	if s.amqp == nil {
		return out
	}
	for _, ch := range s.amqp.Channels() {
		if (conn != "" && ch.Conn.Name != conn) || (vhost != "" && ch.Conn.Vhost != vhost) {
			continue
		}
		if isMonitor(u) || ch.Conn.User == u.Name {
			out = append(out, formatChannel(ch))
		}
	}
	return out
}

// consumers returns the consumers of the vhosts u sees, of vhost when it
// is not empty, of queue there when queue is not empty.
func (s *Server) consumers(u *auth.User, vhost, queue string) []consumerJSON {
	out := []consumerJSON{}
	if s.amqp == nil {
		return out
	}
	for _, cs := range s.amqp.Consumers() {
		if (vhost != "" && cs.Vhost != vhost) || (queue != "" && cs.Queue != queue) || !s.seesVhost(u, cs.Vhost) {
			continue
		}
		out = append(out, formatConsumer(cs))
	}
	return out
}

// listChannels serves GET /api/channels and /api/vhosts/{vhost}/channels.
func (s *Server) listChannels(w http.ResponseWriter, r *http.Request, u *auth.User) {
	vhost := ""
	if hasVhostParam(r) {
		v, ok := s.vhostFor(w, r, u, false)
		if !ok {
			return
		}
		vhost = v.Name()
	}
	s.writeList(w, r, s.channels(u, "", vhost))
}

// listConnChannels serves GET /api/connections/{name}/channels.
func (s *Server) listConnChannels(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if st, ok := s.lookup(w, r, u); ok {
		s.writeList(w, r, s.channels(u, st.Name, ""))
	}
}

// getChannel serves GET /api/channels/{name}, with the channel's
// consumers.
func (s *Server) getChannel(w http.ResponseWriter, r *http.Request, u *auth.User) {
	var ch amqp.ChannelStats
	ok := false
	if s.amqp != nil {
		ch, ok = s.amqp.Channel(r.PathValue("name"))
	}
	if !ok {
		s.notFound(w, r, u)
		return
	}
	if !mayAccess(u, ch.Conn.User, r.Method) {
		s.notAuthorized(w, "User not authorised to access object")
		return
	}
	out := formatChannel(ch)
	out.ConsumerDetails = []consumerJSON{}
	for _, cs := range s.consumers(u, ch.Conn.Vhost, "") {
		if cs.ChannelDetails.Name == ch.Name {
			out.ConsumerDetails = append(out.ConsumerDetails, cs)
		}
	}
	s.writeJSON(w, http.StatusOK, out)
}

// listConsumers serves GET /api/consumers and /api/consumers/{vhost}.
func (s *Server) listConsumers(w http.ResponseWriter, r *http.Request, u *auth.User) {
	vhost := ""
	if hasVhostParam(r) {
		v, ok := s.vhostFor(w, r, u, false)
		if !ok {
			return
		}
		vhost = v.Name()
	}
	s.writeList(w, r, s.consumers(u, vhost, ""))
}
