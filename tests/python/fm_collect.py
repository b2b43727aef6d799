"""Collect every Koschei message with the real fedora-messaging client.

Usage: fm_collect.py AMQP_URL QUEUE BINDING_KEY

Declares an exclusive queue QUEUE bound to BINDING_KEY on amq.topic,
prints READY, then prints one JSON line per message ({"id", "topic", "body"}),
each parsed by fedora_messaging.message.get_message and validated against its
schema class, until it receives SIGTERM. Duplicated deliveries are printed too:
counting them is the caller's business.
"""

import json
import signal
import sys

from fm_queue import receive, subscribe


def main():
    url, queue, key = sys.argv[1], sys.argv[2], sys.argv[3]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    channel = subscribe(url, queue, [key])
    while True:
        msg = receive(channel, queue)[0]
        print(json.dumps({"id": msg.id, "topic": msg.topic, "body": msg.body}), flush=True)


if __name__ == "__main__":
    main()
