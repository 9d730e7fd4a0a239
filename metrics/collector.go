package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/route"
	"github.com/junctionmq/junction/core/tally"
	"github.com/junctionmq/junction/persist"
)

// Collector reads the broker's figures at scrape time.
type Collector struct {
	src Sources
}

// NewCollector returns the broker's collector.
func NewCollector(src Sources) *Collector { return &Collector{src: src} }

// desc builds a metric description with Junction's prefix.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("junction_"+name, help, labels, nil)
}

// The metrics.
var (
	connections     = desc("connections", "Open client connections, per face.", "protocol")
	mqttSessions    = desc("mqtt_sessions", "MQTT sessions held, connected or not.")
	mqttReceived    = desc("mqtt_messages_received_total", "MQTT PUBLISH packets received.")
	mqttSent        = desc("mqtt_messages_sent_total", "MQTT PUBLISH packets sent.")
	queueReady      = desc("queue_messages_ready", "Messages ready for delivery.", "vhost", "queue")
	queueUnacked    = desc("queue_messages_unacked", "Messages delivered and not yet acknowledged (SQS in-flight included).", "vhost", "queue")
	queueDelayed    = desc("queue_messages_delayed", "Messages not visible yet (SQS delays).", "vhost", "queue")
	queueBytes      = desc("queue_messages_bytes", "Body bytes of every message the queue holds.", "vhost", "queue")
	queueConsumers  = desc("queue_consumers", "Consumers of the queue.", "vhost", "queue")
	streamRecords   = desc("stream_records", "Records a stream holds.", "vhost", "stream")
	published       = desc("messages_published_total", "Messages published to the core by every face.")
	unroutable      = desc("messages_unroutable_total", "Published messages no queue or stream took.")
	deadLettered    = desc("messages_dead_lettered_total", "Messages dead-lettered by queues.")
	publishedByFace = desc("face_messages_published_total", "Messages published to the core, per face they entered through.", "face")
	faceDelivered   = desc("face_messages_delivered_total", "Messages handed to clients, per face that handed them: AMQP basic.deliver and basic.get-ok, "+
		"MQTT PUBLISH packets sent, SQS messages received, SNS http(s) notifications pushed, Kinesis records read by GetRecords or pushed by SubscribeToShard.", "face")
	faceAcked       = desc("face_messages_acked_total", "Messages clients acknowledged, per face: AMQP basic.ack, SQS DeleteMessage.", "face")
	faceRedelivered = desc("face_messages_redelivered_total", "Of the messages handed to clients, those delivered before, per face: "+
		"AMQP deliveries and gets with the redelivered flag, SQS messages received again after their visibility timeout.", "face")
	faceDeadLettered = desc("face_messages_dead_lettered_total", "Messages queues dead-lettered (republished to their dead-letter exchange), "+
		"per face the message entered through.", "face")
	faceDropped = desc("face_messages_dropped_total", "Messages the broker discarded instead of delivering, per face (the face that was to deliver them "+
		"for slow_client and push_failed, else the face they entered through; core for dead-lettered copies) and reason: "+
		"unroutable (no queue took it and it was not returned: AMQP non-mandatory, SNS topic without subscriptions, dead-letter exchange routing nowhere), "+
		"expired (message TTL, MQTT 5 message expiry), maxlen (x-max-length overflow: drop-head or reject-publish), "+
		"rejected (consumer reject or nack without requeue), delivery_limit (x-delivery-limit, SQS maxReceiveCount), "+
		"slow_client (an MQTT subscriber's outbound queue or in-flight window was full), push_failed (an SNS push given up after its retries). "+
		"Queue reasons count only messages not dead-lettered, one per queue copy.", "face", "reason")
	queueDelivered  = desc("messages_delivered_total", "Messages delivered or handed out by queues (AMQP deliver and get, SQS receive, MQTT bridge), deleted queues included.", "ack")
	queueAcked      = desc("messages_acked_total", "Messages acknowledged (AMQP ack, SQS delete), deleted queues included.")
	queueRedeliver  = desc("messages_redelivered_total", "Deliveries of messages delivered before, deleted queues included.")
	storeBatches    = desc("store_batches_total", "Store write batches committed (one write each, and one sync unless no one waited for durability: see store_unsynced_batches_total).")
	storeOps        = desc("store_ops_total", "Operations submitted to the store writer.")
	storeCancelled  = desc("store_cancelled_pairs_total", "Enqueue and remove pairs that met in one batch and skipped the disk.")
	storeGC         = desc("store_gc_runs_total", "Value-log garbage collection passes.")
	storeEarly      = desc("store_cancelled_early_total", "Enqueue and remove pairs that met before the writer took the enqueue (confirmed without a write).")
	storeSuperseded = desc("store_superseded_updates_total", "Updates (a delivery's or a receive's) that a later remove of the same entry made unnecessary before they were written.")
	storeUnsynced   = desc("store_unsynced_batches_total", "Batches written without a sync because no one waited for them to be durable (acks, SQS deletes, lease updates); a later sync covers them.")
	storeDeferred   = desc("store_deferred_syncs_total", "Syncs the store made on its own for unsynced batches that no durable batch covered within 50 ms.")
	mqttRefused     = desc("mqtt_refused_total", "MQTT connections or publishes refused: max_connections (CONNACK refused), packet_too_large (connection ended), inflight_full (PUBACK/PUBREC 0x97).", "reason")
	mqttWaits       = desc("mqtt_publish_waits_total", "MQTT publishes held back: inflight (a subscriber's full in-flight window), outbound (a slow subscriber's full queue), rate (the client's rate limit).", "reason")
	storeSize       = desc("store_size_bytes", "The store's size on disk (LSM tree and value log).")
	storeCommit     = desc("store_commit_seconds", "Duration of each store batch commit (the write, and the sync when someone waits for durability).")
	alarmInEffect   = desc("alarm", "A resource alarm in effect (1) or not (0).", "resource")
	allDescriptions = []*prometheus.Desc{connections, mqttSessions, mqttReceived, mqttSent, queueReady, queueUnacked,
		queueDelayed, queueBytes, queueConsumers, streamRecords, published, unroutable, deadLettered,
		publishedByFace, faceDelivered, faceAcked, faceDropped, queueDelivered, queueAcked, queueRedeliver,
		storeBatches, storeOps, storeCancelled, storeGC, storeEarly, storeSuperseded, storeUnsynced, storeDeferred, storeSize, storeCommit, alarmInEffect,
		mqttRefused, mqttWaits}
)

// Describe sends every description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescriptions {
		ch <- d
	}
}

// Collect reads the sources.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.collectFaces(ch)
	c.collectTally(ch)
	c.collectQueues(ch)
	c.collectCore(ch)
}

// gauge and counter send one value.
func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

// collectFaces reads the faces' connection figures.
func (c *Collector) collectFaces(ch chan<- prometheus.Metric) {
	if c.src.AMQP != nil {
		gauge(ch, connections, float64(len(c.src.AMQP.Connections())), "amqp")
	}
	if c.src.AWS != nil {
		gauge(ch, connections, float64(c.src.AWS.Connections()), "aws")
	}
	if c.src.MQTT != nil {
		st := c.src.MQTT.Stats()
		gauge(ch, connections, float64(st.Connected), "mqtt")
		gauge(ch, mqttSessions, float64(st.Sessions))
		counter(ch, mqttReceived, float64(st.MessagesIn))
		counter(ch, mqttSent, float64(st.MessagesOut))
		counter(ch, mqttRefused, float64(st.ConnectionsRefused), "max_connections")
		counter(ch, mqttRefused, float64(st.PacketsTooLarge), "packet_too_large")
		counter(ch, mqttRefused, float64(st.InflightRefused), "inflight_full")
		counter(ch, mqttWaits, float64(st.InflightWaits), "inflight")
		counter(ch, mqttWaits, float64(st.OutboundWaits), "outbound")
		counter(ch, mqttWaits, float64(st.Throttled), "rate")
	}
}

// collectTally reads the per-face delivered, acked and dropped counters:
// the core's tally, and for MQTT mochi's own packet counters.
func (c *Collector) collectTally(ch chan<- prometheus.Metric) {
	t := c.src.Broker.Tally()
	for f := range tally.NumFaces {
		face := message.Face(f)
		n := t.Face(face).Counts()
		if face == message.FaceMQTT && c.src.MQTT != nil {
			st := c.src.MQTT.Stats()
			n.Delivered += uint64(st.MessagesOut)
			n.Dropped[tally.SlowClient] += uint64(st.MessagesDropped + st.InflightDropped)
		}
		name := face.String()
		counter(ch, faceDelivered, float64(n.Delivered), name)
		counter(ch, faceAcked, float64(n.Acked), name)
		counter(ch, faceRedelivered, float64(n.Redelivered), name)
		counter(ch, faceDeadLettered, float64(n.DeadLettered), name)
		for r, v := range n.Dropped {
			counter(ch, faceDropped, float64(v), name, tally.Reason(r).String())
		}
	}
}

// collectQueues reads every queue's and stream's depth.
func (c *Collector) collectQueues(ch chan<- prometheus.Metric) {
	for _, v := range c.src.Broker.Vhosts() {
		vh := v.Name()
		for _, q := range v.Queues() {
			st, name := q.Stats(), q.Name()
			gauge(ch, queueReady, float64(st.Ready), vh, name)
			gauge(ch, queueUnacked, float64(st.Unacked+st.Leased), vh, name)
			gauge(ch, queueDelayed, float64(st.Delayed), vh, name)
			gauge(ch, queueBytes, float64(st.Bytes), vh, name)
			gauge(ch, queueConsumers, float64(st.Consumers), vh, name)
		}
		for _, d := range v.Routes().Dests() {
			if d.Kind != route.DestStream {
				continue
			}
			if s, err := v.Stream(d.Name); err == nil {
				first, next := s.Bounds()
				gauge(ch, streamRecords, float64(next-first), vh, d.Name)
			}
		}
	}
}

// collectCore reads the core's totals, the store's counters and the
// alarms.
func (c *Collector) collectCore(ch chan<- prometheus.Metric) {
	n := c.src.Broker.Counters()
	counter(ch, published, float64(n.Published))
	counter(ch, unroutable, float64(n.Unroutable))
	counter(ch, deadLettered, float64(n.DeadLettered))
	for f, v := range n.PublishedBy {
		counter(ch, publishedByFace, float64(v), message.Face(f).String())
	}
	t := c.src.Broker.QueueTotals()
	counter(ch, queueDelivered, float64(t.Delivered+t.Got), "manual")
	counter(ch, queueDelivered, float64(t.DeliveredNoAck+t.GotNoAck), "auto")
	counter(ch, queueAcked, float64(t.Acked))
	counter(ch, queueRedeliver, float64(t.Redelivered))
	if c.src.Store != nil {
		st := c.src.Store.Stats()
		counter(ch, storeBatches, float64(st.Batches))
		counter(ch, storeOps, float64(st.Ops))
		counter(ch, storeCancelled, float64(st.CancelledPairs))
		counter(ch, storeGC, float64(st.GCRuns))
		counter(ch, storeEarly, float64(st.CancelledEarly))
		counter(ch, storeSuperseded, float64(st.SupersededUpdates))
		counter(ch, storeUnsynced, float64(st.UnsyncedBatches))
		counter(ch, storeDeferred, float64(st.DeferredSyncs))
		gauge(ch, storeSize, float64(c.src.Store.Size()))
		lat := c.src.Store.CommitLatency()
		buckets := make(map[float64]uint64, len(lat.Buckets))
		for i, le := range persist.CommitBuckets {
			buckets[le] = lat.Buckets[i]
		}
		ch <- prometheus.MustNewConstHistogram(storeCommit, lat.Count, lat.Sum.Seconds(), buckets)
	}
	if c.src.Alarms != nil {
		st := c.src.Alarms.State()
		gauge(ch, alarmInEffect, boolValue(st.Memory), "memory")
		gauge(ch, alarmInEffect, boolValue(st.Disk), "disk")
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
