"""Wait for Koschei state-change messages with the real fedora-messaging client.

Usage: fm_wait.py AMQP_URL QUEUE TOPIC_PREFIX TIMEOUT_S EXPECTED...

EXPECTED items are NAME:OLD:NEW. Declares QUEUE bound to
TOPIC_PREFIX.koschei.package.state.change on amq.topic, prints READY, then reads
messages (each parsed by fedora_messaging.message.get_message and validated
against its schema class) until every expected transition was seen, in order
per package. Prints one JSON line per message; exits 1 on timeout.
"""

import json
import sys
import time

from fm_queue import receive, subscribe


def main():
    url, queue, prefix, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    expected = [tuple(e.split(":")) for e in sys.argv[5:]]
    channel = subscribe(url, queue, [f"{prefix}.koschei.package.state.change"])
    deadline = time.monotonic() + timeout
    while expected:
        received = receive(channel, queue, deadline)
        if received is None:
            print(f"missing: {expected}", file=sys.stderr)
            sys.exit(1)
        msg = received[0]
        b = msg.body
        print(json.dumps({"class": type(msg).__name__, "id": msg.id, "body": b}), flush=True)
        if (b["name"], b["old"], b["new"]) == expected[0]:
            expected.pop(0)


if __name__ == "__main__":
    main()
