package mqtt

import (
	"crypto/tls"
	"net"
	"strings"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/junctionmq/junction/core/auth"
)

// authenticate checks a CONNECT against the user store and returns 0 or the
// MQTT 5 reason code to refuse it with (0x86 bad credentials, 0x87 not
// authorized). On success the client's username becomes "vhost:user", the
// identity every later check reads (identity), persisted with the session.
func (s *Server) authenticate(cl *mochi.Client, pk packets.Packet) byte {
	users := s.b.Users()
	username := string(pk.Connect.Username)
	var vhost, user string
	switch {
	case username == "" && s.cfg.CertLogin && certUser(cl) != "":
		vhost, user = s.cfg.DefaultVhost, certUser(cl)
	case username == "":
		if !s.cfg.AllowAnonymous {
			return s.refuse(cl, "", "anonymous access is disabled", errBadCredentials.Code)
		}
		vhost, user = s.cfg.DefaultVhost, s.cfg.DefaultUser
	default:
		vhost, user = s.splitUsername(username)
		if _, err := users.CheckPassword(user, string(pk.Connect.Password)); err != nil {
			return s.refuse(cl, user, "bad credentials", errBadCredentials.Code)
		}
	}
	if !users.AllowedFrom(user, remoteAddr(cl)) {
		return s.refuse(cl, user, "user may only connect from loopback", errNotAuthorized.Code)
	}
	if err := users.CheckVhostAccess(user, vhost); err != nil {
		return s.refuse(cl, user, "no access to vhost "+vhost, errNotAuthorized.Code)
	}
	if _, err := s.b.Vhost(vhost); err != nil {
		return s.refuse(cl, user, "no vhost "+vhost, errNotAuthorized.Code)
	}
	// RabbitMQ checks the will topic at CONNECT: a will the client could not
	// publish itself is refused up front.
	if pk.Connect.WillFlag && !s.allowed(user, vhost, cl.ID, pk.Connect.WillTopic, true) {
		return s.refuse(cl, user, "will topic not authorized", errNotAuthorized.Code)
	}
	if s.crossVhostSession(cl, vhost) {
		return s.refuse(cl, user, "client id in use by a session of another vhost", errIDNotValid.Code)
	}
	cl.Properties.Username = []byte(vhost + ":" + user)
	if cc := connOf(cl.Net.Conn); cc != nil {
		cc.vhost, cc.user, cc.roots = vhost, user, rootsOf(vhost)
	}
	return 0
}

func (s *Server) refuse(cl *mochi.Client, user, why string, code byte) byte {
	s.log.Info("mqtt connection refused", "client", cl.ID, "user", user,
		"remote", cl.Net.Remote, "reason", why)
	return code
}

// splitUsername splits "vhost:user" (RabbitMQ's rule; the first colon
// separates); a plain "user" belongs to the default vhost.
func (s *Server) splitUsername(username string) (vhost, user string) {
	if v, u, ok := strings.Cut(username, ":"); ok && v != "" {
		return v, u
	}
	return s.cfg.DefaultVhost, username
}

// identity returns the vhost and user of an authenticated client (its
// username was rewritten to "vhost:user" by authenticate).
func (s *Server) identity(cl *mochi.Client) (vhost, user string) {
	if cc := connOf(cl.Net.Conn); cc != nil && cc.user != "" {
		return cc.vhost, cc.user
	}
	if len(cl.Properties.Username) == 0 {
		return s.cfg.DefaultVhost, s.cfg.DefaultUser
	}
	return s.splitUsername(string(cl.Properties.Username))
}

// allowedClient checks a publish (write) or a subscribe or delivery (read)
// of cl on topic (rooted in its vhost or not, see vhost.go); a connected
// client's decisions are cached on its connection (aclCache).
func (s *Server) allowedClient(cl *mochi.Client, topic string, write bool) bool {
	topic = userFilter(topic)
	cc := connOf(cl.Net.Conn)
	if cc == nil || cc.user == "" {
		vhost, user := s.identity(cl)
		return s.allowed(user, vhost, cl.ID, topic, write)
	}
	if ok, found := cc.acl.get(topic, write); found {
		return ok
	}
	ok := s.allowed(cc.user, cc.vhost, cl.ID, topic, write)
	cc.acl.put(topic, write, ok)
	return ok
}

// allowed checks a publish (write) or a subscribe or delivery (read) on
// topic: the user's write or read permission on the MQTT exchange, then
// its topic permission for the mapped routing key, with the client id
// available as {client_id} (RabbitMQ's MQTT topic authorisation).
func (s *Server) allowed(user, vhost, clientID, topic string, write bool) bool {
	f, ok := plainFilter(topic)
	if !ok {
		return false
	}
	users := s.b.Users()
	var err error
	if write {
		err = users.CheckWrite(user, vhost, auth.ResourceExchange, s.cfg.Exchange)
	} else {
		err = users.CheckRead(user, vhost, auth.ResourceExchange, s.cfg.Exchange)
	}
	if err == nil {
		err = users.CheckTopic(user, vhost, s.cfg.Exchange, TopicToKey(f), write,
			map[string]string{"client_id": clientID})
	}
	return err == nil
}

// remoteAddr is the client's remote address, for the loopback rule.
func remoteAddr(cl *mochi.Client) net.Addr {
	if cl.Net.Conn == nil {
		return nil
	}
	if ws, ok := underlying(cl.Net.Conn).(*wsConn); ok {
		return ws.remote
	}
	return cl.Net.Conn.RemoteAddr()
}

// certUser returns the common name of a verified TLS client certificate.
func certUser(cl *mochi.Client) string {
	tc, ok := underlying(cl.Net.Conn).(*tls.Conn)
	if !ok {
		return ""
	}
	st := tc.ConnectionState()
	if len(st.VerifiedChains) == 0 || len(st.PeerCertificates) == 0 {
		return ""
	}
	return st.PeerCertificates[0].Subject.CommonName
}
