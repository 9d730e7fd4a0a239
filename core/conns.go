package core

import (
	"fmt"
	"sync"
)

// connCounts counts the open client connections per user and per vhost,
// across the faces that have connections with a user and a vhost (AMQP
// and MQTT), for RabbitMQ's user limit and vhost limit max-connections.
type connCounts struct {
	mu     sync.Mutex
	users  map[string]int
	vhosts map[string]int
}

// limit returns a limit of RabbitMQ's shape from limits: a negative value
// or none means no limit.
func limit(limits map[string]int64, name string) (int64, bool) {
	n, ok := limits[name]
	return n, ok && n >= 0
}

// OpenConnection counts a connection of user to vhost, or refuses it
// (kind ErrNotAllowed, AMQP 530) with RabbitMQ's text when the vhost's
// limit max-connections or the user's limit max-connections is reached,
// as rabbit_reader checks at connection.open. A connection that is counted
// must call release exactly once when it ends.
func (b *Broker) OpenConnection(user, vhost string) (release func(), err error) {
	var vlimit, ulimit int64
	var vok, uok bool
	if v, ok := b.users.Vhost(vhost); ok {
		vlimit, vok = limit(v.Limits, "max-connections")
	}
	if u, ok := b.users.User(user); ok {
		ulimit, uok = limit(u.Limits, "max-connections")
	}
	c := &b.conns
	c.mu.Lock()
	defer c.mu.Unlock()
	if vok && int64(c.vhosts[vhost]) >= vlimit {
		return nil, &Error{Kind: ErrNotAllowed,
			Text: fmt.Sprintf("access to vhost '%s' refused for user '%s': connection limit (%d) is reached", vhost, user, vlimit)}
	}
	if uok && int64(c.users[user]) >= ulimit {
		return nil, &Error{Kind: ErrNotAllowed,
			Text: fmt.Sprintf("connection refused for user '%s': user connection limit (%d) is reached", user, ulimit)}
	}
	if c.users == nil {
		c.users, c.vhosts = map[string]int{}, map[string]int{}
	}
	c.users[user]++
	c.vhosts[vhost]++
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.users[user]--; c.users[user] <= 0 {
				delete(c.users, user)
			}
			if c.vhosts[vhost]--; c.vhosts[vhost] <= 0 {
				delete(c.vhosts, vhost)
			}
		})
	}, nil
}

// Connections returns the connections OpenConnection counts for user and
// for vhost.
func (b *Broker) Connections(user, vhost string) (ofUser, ofVhost int) {
	b.conns.mu.Lock()
	defer b.conns.mu.Unlock()
	return b.conns.users[user], b.conns.vhosts[vhost]
}
