#!/usr/bin/python3
"""Drives Debian's python3-pika (BlockingConnection) through what most
applications do: declare, bind, publish with confirms and mandatory,
basic.get, consume with prefetch and ack, nack/requeue, a 404 channel
error and a transaction. Exits 0 and prints OK when every step behaves as
on RabbitMQ; the URL comes from AMQP_URL."""
import os
import sys

import pika
from pika.exceptions import ChannelClosedByBroker, UnroutableError


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def main():
    params = pika.URLParameters(os.environ["AMQP_URL"])
    params.client_properties = {"connection_name": "pika-conformance"}
    conn = pika.BlockingConnection(params)
    check(conn.is_open, "connection open")
    ch = conn.channel()

    ch.exchange_declare("pika.x", exchange_type="direct", durable=True)
    q = ch.queue_declare("pika.q", durable=True).method.queue
    check(q == "pika.q", "queue name")
    ch.queue_purge(q)
    ch.queue_bind(q, "pika.x", routing_key="k")
    tmp = ch.queue_declare("", exclusive=True).method.queue
    check(tmp.startswith("amq.gen-"), "server-named queue: " + tmp)

    ch.confirm_delivery()
    for i in range(10):
        props = pika.BasicProperties(content_type="text/plain", delivery_mode=2,
                                     headers={"n": i, "s": "x"}, message_id=str(i))
        ch.basic_publish("pika.x", "k", ("m%d" % i).encode(), props, mandatory=True)
    try:
        ch.basic_publish("pika.x", "nowhere", b"lost", mandatory=True)
        check(False, "mandatory unroutable publish must raise UnroutableError")
    except UnroutableError:
        pass
    check(ch.queue_declare(q, passive=True).method.message_count == 10, "10 messages queued")

    method, props, body = ch.basic_get(q, auto_ack=False)
    check(body == b"m0" and props.headers.get("n") == 0 and props.content_type == "text/plain",
          "basic.get first message: %r %r" % (body, props))
    check(method.message_count == 9, "get-ok message_count %d" % method.message_count)
    ch.basic_ack(method.delivery_tag)

    ch.basic_qos(prefetch_count=3)
    got = []
    for method, props, body in ch.consume(q, inactivity_timeout=5):
        check(method is not None, "consume timed out after %d messages" % len(got))
        got.append(body)
        ch.basic_ack(method.delivery_tag)
        if len(got) == 9:
            break
    ch.cancel()
    check(got == [("m%d" % i).encode() for i in range(1, 10)], "consumed in order: %r" % got)

    ch.basic_publish("", q, b"again")
    method, _, _ = ch.basic_get(q)
    check(method is not None and not method.redelivered, "fresh delivery")
    ch.basic_nack(method.delivery_tag, requeue=True)
    method, _, body = ch.basic_get(q, auto_ack=True)
    check(method is not None and method.redelivered and body == b"again", "redelivered after nack")
    method, _, _ = ch.basic_get(q)
    check(method is None, "queue empty")

    ch2 = conn.channel()
    try:
        ch2.queue_declare("pika.missing", passive=True)
        check(False, "passive declare of a missing queue must close the channel")
    except ChannelClosedByBroker as e:
        check(e.reply_code == 404 and "no queue 'pika.missing'" in e.reply_text, "404 text: %s" % e.reply_text)

    tx = conn.channel()
    tx.tx_select()
    tx.basic_publish("", q, b"tx")
    tx.tx_rollback()
    tx.basic_publish("", q, b"tx")
    tx.tx_commit()
    method, _, body = ch.basic_get(q, auto_ack=True)
    check(body == b"tx" and method.message_count == 0, "one committed tx message")

    ch.queue_delete(q)
    ch.exchange_delete("pika.x")
    conn.close()
    print("OK")


if __name__ == "__main__":
    main()
