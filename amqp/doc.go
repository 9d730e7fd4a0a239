// Package amqp is Junction's AMQP 0-9-1 face: a server that speaks
// RabbitMQ 3.13/4.x's dialect (capabilities, reply codes and texts) on
// behalf of a Broker, the small interface in broker.go that the core
// satisfies.
//
// # Goroutines
//
// Each connection has exactly two goroutines, none per channel or
// consumer (stream queues add one per stream with consumers, shared by
// all of them: streamconsume.go):
//
//   - the reader (conn.serve → readLoop → handleFrame → channel.dispatch)
//     owns the connection's and channels' state and is the only goroutine
//     that calls the core for this connection;
//   - the writer (writeLoop) swaps the outbound buffer out under conn.wmu
//     and writes it in one syscall, sends heartbeats, drops peers that
//     missed two, and closes channels whose deliveries outlived
//     consumer_timeout.
//
// The core delivers by calling consumer.Deliver with a queue lock held:
// Deliver appends basic.deliver, the content header and body to the
// buffer under conn.wmu and wakes the writer; it never blocks. One
// exception to who writes: while the reader handles an ack that was the
// last frame it read (conn.inBatch), wakes are held and the reader itself
// writes the buffer with one non-blocking write before its next read
// (endBatch), leaving to the writer what the socket does not take.
// Likewise, a delivery that a publish makes on its reader's goroutine
// (Delivery.Via) to a connection that wrote nothing for directIdle is
// written by that reader at the end of its batch (deferWrite): a slow
// flow costs no writer wake-up per message, a busy one is left to the
// writer, whose writes batch. conn.flushMu serializes the two.
//
// Refills wait for more acks: while a consumer's client holds more than
// seven eighths of its prefetch window in written deliveries, the
// deliveries its acks let out stay in the buffer until an eighth of the
// window is free, and the socket's SO_RCVLOWAT keeps the reader asleep
// until the bytes of those acks are in (holdRefill). The window then
// refills in writes of an eighth of it, not one delivery per ack read.
// A timer writes what waited, and lowers SO_RCVLOWAT again, after
// refillWait without reads.
//
// # Flow control of no-ack consumers
//
// A no-ack delivery is settled when the queue hands it over, so a client
// that stops reading must not make the queue push on into the buffer.
// Every no-ack consumer of a connection is given the connection's flow
// gate (ConsumeOptions.Flow, a core Limiter held as a gate). A no-ack
// delivery that finds more than flowHigh (512 KiB) of output pending
// (the buffer plus the part being written) holds it (holdFlowLocked), and
// the queues then skip those consumers as consumers at their prefetch
// limit, the messages staying ready; after a write that leaves less than
// flowLow (256 KiB) pending, the writer or the reader's writeNow opens it
// and wakes the queues (openFlow), which deliver on that goroutine. A
// consumer not yet started (before consume-ok) holds it at maxEarly
// deliveries. As RabbitMQ's credit flow, this bounds what a slow no-ack
// consumer costs; manual-ack consumers are bounded by their prefetch
// (unbounded without one, as RabbitMQ's).
//
// # Lock order
//
//	core queue lock → conn.wmu (→ the flow gate's Hold, which takes no lock)
//	streamConsumer.mu → conn.wmu; streamHub.mu: a leaf
//	Server.alarmMu → Server.mu → conn.wmu (resource alarms, blocked.go)
//	replyRegistry.mu, Server.mu: leaf locks otherwise
//
// The face never calls the core while holding conn.wmu.
//
// # Hot path
//
// publish: readLoop → channel.handleFrame → startPublish, handleHeader,
// handleBody → finishPublish → route → Vhost.Publish (→ confirmed →
// appendConfirmsLocked at the next flush).
// deliver: Consumer.Deliver → writeDeliverLocked → signal → writeLoop →
// flush (or, for deliveries an ack lets out or a publish makes to an idle
// connection, readStamp.Read → endBatch → writeDeferred, writeNow).
// ack of one tag: dispatch → settle → takeOneLocked → settleOne →
// Queue.Ack, Limiter.Release; multiple: takeLocked → settleAll.
//
// # Stream queues
//
// x-queue-type=stream queues are core streams (streamconsume.go):
// consumers start at x-stream-offset, read with their prefetch as
// credit, get an x-stream-offset header; acks only return credit.
//
// # Resource alarms and TLS
//
// With Config.Alarms, connections that have published are sent
// connection.blocked and not read from while a memory or disk alarm is on
// (blocked.go). On TLS connections with a verified client certificate,
// connection.start also offers SASL EXTERNAL (handshake.go).
//
// # Management
//
// Server.Connections, Connection and CloseConnection (admin.go) serve the
// management API (package mgmt): a connection is listed once
// connection.open succeeded, and closed with 320 CONNECTION_FORCED from
// the caller's goroutine (conn.closeConn is safe there).
//
// # Errors
//
// Core errors become AMQP replies in one place, replyFor (errors.go);
// soft ones close the channel (channel.check), hard ones the connection
// (conn.fail).
package amqp
