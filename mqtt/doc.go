// Package mqtt is Junction's MQTT 3.1, 3.1.1 and 5.0 face. It embeds
// github.com/mochi-mqtt/server/v2, which owns MQTT sessions, subscriptions,
// retained and in-flight messages, and ties it to the core through hooks:
//
//   - auth.go, hook.go: CONNECT usernames "vhost:user" (or "user" in the
//     default vhost) are checked against the core's user store, with the
//     loopback rule; refusals answer 0x86/0x87 (3.1.1: 0x04/0x05). Publish
//     and subscribe need write or read permission on the MQTT exchange
//     (amq.topic) and the user's topic permission for the mapped routing
//     key ({username}, {vhost}, {client_id}). mochi answers a denied
//     SUBSCRIBE with 0x87 (3.1.1: 0x80) and a denied publish with a PUBACK
//     or PUBREC 0x87 in MQTT 5, dropping it (QoS 0) or closing the
//     connection (QoS 1/2) in 3.1.1.
//   - publish.go, convert.go: every publish and will is handed to the core
//     (exchange amq.topic, key mapped as RabbitMQ maps it, see topic.go)
//     before mochi acknowledges it; QoS 1/2 wait for the core's confirm.
//     mochi still fans the publish out to MQTT subscribers itself.
//   - bridge.go: messages from other faces reach MQTT subscribers through a
//     durable queue per vhost (amq.mqtt.bridge) bound with the subscribed
//     filters; at startup its restored bindings get their Matcher back and
//     stale ones are removed, so persistent messages waiting in it survive
//     a crash.
//   - sys.go: the $SYS topics under Mosquitto's names, with Junction's
//     version and the figures of Stats, retained, every Config.SysInterval
//     (mochi's own ticker is turned off); never persisted.
//   - limits.go: Config.MaxConnections (CONNACK 0x97, 3.1.1: 0x03),
//     Config.MaxPacketSize (DISCONNECT 0x95 to an MQTT 5 client, sent by
//     clientConn as soon as the fixed header arrives), and the per-client
//     publish rate (Config.RateLimit, RateBurst): a token bucket on which
//     the client's read loop waits in OnPublish (throttling; MQTT 5 has no
//     PUBACK reason code for a rate, 0x96 is a DISCONNECT code only).
//   - state.go, statewriter.go: mochi's storage hook, backed by the core's
//     store (state namespaces mqtt/session, mqtt/sub, mqtt/retained,
//     mqtt/inflight), written in group-committed batches.
//   - copies.go: a PUBACK (PUBREC) is sent once the copies of the publish
//     for persistent sessions, online or not, are durable as well as the
//     core's: OnPublish writes them (mqtt/pending) in one group-committed
//     batch, and each becomes an in-flight record once mochi queues it.
//     Its subscriber lookup is cached per topic (subcache.go), invalidated
//     by every change to mochi's topic index.
//     A SUBACK is sent once a persistent session's subscriptions are
//     durable.
//   - conn.go: each client's net.Conn is wrapped (clientConn): the
//     acknowledgements the read loop writes are held back and written in
//     one system call when it next reads; the connection also carries the
//     client's identity and a per-connection cache of ACL decisions.
//   - via.go: a client publish's PUBLISH packets for subscribers with
//     nothing queued are taken by the publisher's read loop (mochi patch
//     12, Options.WriteVia) and written, one system call per subscriber,
//     once the publisher's socket has nothing more to read; the publisher
//     never waits for a subscriber (one non-blocking write, the rest by a
//     goroutine of its own). Plain TCP connections only.
//   - outbound.go: backpressure. mochi drops a message for a subscriber
//     whose outbound queue (Config.WritesPending) is full; the publisher
//     instead waits in OnACLCheck (called right before each queueing) until
//     the queue has room, unless the subscriber has been stalled for 5 s
//     (then copies are dropped, counted in Stats.MessagesDropped).
//   - vhost.go: vhost isolation in mochi's one topic tree: every topic name
//     and filter of a client is rooted under an internal first level naming
//     its vhost, on the way in, and stripped on the way out.
//   - server.go, websocket.go: listeners (TCP, TLS, WebSocket at /ws with an
//     origin check) and shutdown.
//
// One message's path, MQTT to AMQP: mochi reads PUBLISH → OnACLCheck →
// faceHook.OnPublish → toCore → core.Vhost.Publish (confirm awaited for
// QoS ≥ 1) → mochi writes PUBACK and fans out. AMQP to MQTT: the core routes
// to BridgeQueue → vhostBridge.Deliver → inject → fromCore →
// mochi.InjectPacket → MQTT sessions → Ack.
//
// Known limits:
//   - Client ids are global (mochi's): a CONNECT whose client id names a
//     session of another vhost is refused with 0x85.
//   - A QoS 1/2 publish that a session with a full in-flight window
//     (Config.MaxInflight) would drop is refused: PUBACK/PUBREC 0x97 in
//     MQTT 5, a closed connection without acknowledgement in 3.1.1; counted
//     in Stats.InflightRefused. For a connected subscriber the publisher
//     waits first (inflightWait, up to 5 s; Stats.InflightWaits). Messages from other faces for a full session
//     are dropped for that session only, counted in Stats.InflightDropped.
//   - Topic aliases are accepted from clients but never sent to them.
//
// mochi is a patched copy (third_party/mochi-mqtt, PATCHES.md): in-flight
// messages keep their queueing order across reconnections, restarts and
// take-overs; an idle connection costs one goroutine with a 2 KiB stack
// (the read loop starts afresh after the CONNECT, the write goroutine runs
// on demand), about 8 KiB in all with 10,000 open.
package mqtt
