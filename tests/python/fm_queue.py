"""The queue the fedora-messaging test consumers read (fm_wait, fm_collect, fm_consume)."""

import time

import pika
from fedora_messaging import message


def subscribe(url, queue, keys):
    """Declares the exclusive queue bound to `keys` on amq.topic and prints READY."""
    conn = pika.BlockingConnection(pika.URLParameters(url))
    channel = conn.channel()
    channel.queue_declare(queue, exclusive=True, auto_delete=True)
    for key in keys:
        channel.queue_bind(queue, "amq.topic", routing_key=key)
    print("READY", flush=True)
    return channel


def receive(channel, queue, deadline=None):
    """The next message, parsed by get_message and validated, with its AMQP
    properties; None once the monotonic `deadline` passed."""
    while deadline is None or time.monotonic() < deadline:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            time.sleep(0.05)
            continue
        msg = message.get_message(method.routing_key, properties, body)
        msg.validate()
        return msg, properties
    return None
