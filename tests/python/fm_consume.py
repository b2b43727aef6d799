"""Consume Koschei's messages and check them with the real fedora-messaging and
koschei-messages packages (watcher interop tests).

Usage: fm_consume.py AMQP_URL QUEUE COUNT TIMEOUT_S BINDING_KEY...

Declares an exclusive queue QUEUE bound on amq.topic, prints READY, then reads
COUNT messages (or fails after TIMEOUT_S seconds). Each message goes through
fedora_messaging.message.get_message (class chosen by the schema header) and
validate(); for each one a JSON line is printed with the class, summary, packages,
body, the received AMQP properties and the headers fedora-messaging itself would
have set for the same class and body.
"""

import json
import sys
import time

from fm_queue import receive, subscribe


def comparable(headers):
    return {k: v for k, v in (headers or {}).items() if k != "sent-at"}


def main():
    url, queue, count, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    channel = subscribe(url, queue, sys.argv[5:])
    deadline = time.monotonic() + timeout
    for seen in range(count):
        received = receive(channel, queue, deadline)
        if received is None:
            sys.exit(f"timed out after {seen} of {count} messages")
        msg, properties = received
        reference = type(msg)(body=msg.body, topic=msg.topic)
        print(
            json.dumps(
                {
                    "id": msg.id,
                    "topic": msg.topic,
                    "class": f"{type(msg).__module__}.{type(msg).__name__}",
                    "summary": msg.summary,
                    "packages": msg.packages,
                    "severity": msg.severity,
                    "body": msg.body,
                    "content_type": properties.content_type,
                    "content_encoding": properties.content_encoding,
                    "delivery_mode": properties.delivery_mode,
                    "sent_at": (properties.headers or {}).get("sent-at"),
                    "headers": comparable(properties.headers),
                    "expected_headers": comparable(reference._properties.headers),
                }
            ),
            flush=True,
        )
    channel.connection.close()


if __name__ == "__main__":
    main()
