"""Collect every Koschei message with the real fedora-messaging client.

Usage: fm_collect.py AMQP_URL QUEUE BINDING_KEY

Declares a durable queue QUEUE bound to BINDING_KEY on amq.topic, prints READY,
then prints one JSON line per message ({"id", "topic", "body"}), each parsed by
fedora_messaging.message.get_message and validated against its schema class,
until it receives SIGTERM. The broker may restart meanwhile: the queue and its
persistent messages survive, and the collector reconnects. A message is acked
only after it was printed, so none is lost; one whose ack was lost is printed
again: counting duplicates is the caller's business.
"""

import json
import signal
import sys
import time

import pika
from fedora_messaging import message


def collect(url, queue, key):
    conn = pika.BlockingConnection(pika.URLParameters(url))
    channel = conn.channel()
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, "amq.topic", routing_key=key)
    print("READY", flush=True)
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=False)
        if method is None:
            time.sleep(0.05)
            continue
        msg = message.get_message(method.routing_key, properties, body)
        msg.validate()
        print(json.dumps({"id": msg.id, "topic": msg.topic, "body": msg.body}), flush=True)
        channel.basic_ack(method.delivery_tag)


def main():
    url, queue, key = sys.argv[1], sys.argv[2], sys.argv[3]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        try:
            collect(url, queue, key)
        except pika.exceptions.AMQPError as e:
            print(f"reconnecting after {e!r}", file=sys.stderr, flush=True)
            time.sleep(0.5)


if __name__ == "__main__":
    main()
