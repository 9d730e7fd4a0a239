// Package core is Junction's router: vhosts of exchanges, bindings, queues
// and streams, the user store, and their persistence. It knows no wire
// protocol; every face (AMQP, MQTT, SQS/SNS, Kinesis) calls this API and
// nothing else of the core.
//
// # Packages
//
//   - core: Broker (vhosts, recovery) and Vhost (declare, bind, publish).
//   - core/message: the one canonical message every face converts to.
//   - core/route: exchanges, bindings and routing (topic trie, headers,
//     exchange-to-exchange, alternate exchanges, pluggable matchers).
//   - core/queue: queues (consumers, prefetch, acks, leases, TTL,
//     dead-lettering, priorities, FIFO groups, deduplication).
//   - core/stream: append-only streams and partitioned streams.
//   - core/auth: users, vhosts, permissions, topic permissions, policies,
//     AWS access keys and the account ↔ vhost mapping.
//   - core/store: the durable store contract; persist.DB implements it.
//
// # One message's path (the hot path)
//
// A face decodes a publish into a *message.Message and calls:
//
//  1. Vhost.Publish (publish.go; PublishVia for a face that writes the
//     deliveries its publish makes itself, see 6): assigns the id, takes a
//     target slice from targetPool and calls
//  2. route.Table.Route (route/route.go): the exchange's bindings are
//     matched (route/topic.Trie.Match for topic exchanges), exchange-to-
//     exchange bindings and alternate exchanges followed, destinations
//     deduplicated; then
//  3. Vhost.deliver (publish.go): for a persistent message to a stream,
//     message.Marshal once; per target queue
//  4. queue.Queue.Publish (queue/queue.go): admit (dedup, overflow),
//     store.MessageEnqueuer.EnqueueMessage for a persistent message in a
//     durable queue (persist/writer.go: DB.submit → the writer goroutine's
//     group commit, which encodes the message only if no ack cancelled it
//     first → one Badger transaction and one sync → each Done, which is
//     the publisher confirm via confirm.settle), pushReady, then
//  5. queue.Queue.dispatch (queue/consume.go): pickSub picks a consumer
//     with credit (Subscription.acquire on its Limiters), and
//  6. queue.Consumer.Deliver, the face's consumer, appends the delivery to
//     its connection's outbound buffer under the queue lock (it never
//     blocks); the connection's writer goroutine flushes it. A delivery
//     made by the Publish of step 4 itself carries that publish's Via
//     (queue.Delivery.Via), so the AMQP face can leave its write to the
//     publisher's reader instead of waking the consumer's writer.
//  7. The client's ack comes back through the face to queue.Queue.Ack,
//     which releases the entry and the consumer's credit (waking queues
//     blocked on a shared Limiter after every lock is released) and, for a
//     stored message, store.Store.Remove (cancelled out in the writer when
//     it meets its Enqueue in one batch).
//
// The transient path (steps 1–7 without the store) allocates nothing:
// BenchmarkPublishDeliver.
//
// # Policies
//
// Policies and operator policies (kept by core/auth) apply to the existing
// and future queues and exchanges they match, as RabbitMQ applies them
// (policy.go): at declare and recovery, and at once whenever one is put
// or deleted through Broker.PutPolicy, DeletePolicy, PutOperatorPolicy,
// DeleteOperatorPolicy or ImportDefinitions, which run
// Vhost.ApplyPolicies. A queue's effective arguments are its declared ones
// combined with the highest-priority policy (declared arguments win,
// except that the lower value wins for TTLs, expiry, length limits and the
// delivery limit), applied to the live queue by queue.Queue.SetPolicyArgs;
// an exchange's policy alternate-exchange by
// route.Table.SetPolicyAlternate. Declared arguments are kept apart for
// redeclare equivalence. Vhost.QueuePolicy and ExchangePolicy report the
// applied policy and its effective definition.
//
// # Errors
//
// Every error returned by Broker and Vhost wraps one kind (ErrNotFound,
// ErrLocked, ErrPrecondition, ErrAccessRefused, ErrInvalid, ErrNotAllowed,
// ErrStore) and reads as RabbitMQ's reply text; faces map kinds to codes in
// one place each.
//
// # Locks
//
// Vhost.policyMu (serialises policy application) → Broker.mu (vhosts) →
// Vhost.mu (queues, streams); the latter two are held only for map
// access, never across a call into a queue. A queue's lock is never taken
// under another queue's; a Limiter's lock may be taken under a queue's. The
// route table's read lock is held during Route only.
package core
