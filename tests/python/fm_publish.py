"""Publish messages with the real fedora-messaging client (watcher interop tests).

Usage: fm_publish.py AMQP_URL < messages.jsonl

Each input line is {"topic": FULL_TOPIC, "schema": ENTRY_POINT_NAME, "body": {...},
["id": MESSAGE_ID]}. The schema class is looked up through fedora-messaging's entry
points (e.g. koji_fedoramessaging.task.TaskStateChangeV1 from
koji-fedoramessaging-messages, or base.message), so the body is validated by the
real schema before it is published. Prints one line per published message:
{"id": ..., "topic": ...}.
"""

import json
import os
import sys
import tempfile


def main():
    amqp_url = sys.argv[1]
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as conf:
        conf.write(
            f'amqp_url = "{amqp_url}"\n'
            'publish_exchange = "amq.topic"\n'
            'topic_prefix = ""\n'
            "passive_declares = false\n"
        )
    os.environ["FEDORA_MESSAGING_CONF"] = conf.name
    from fedora_messaging import api, message

    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            spec = json.loads(line)
            cls = message.get_class(spec["schema"])
            msg = cls(topic=spec["topic"], body=spec["body"])
            if "id" in spec:
                msg.id = spec["id"]
            api.publish(msg)
            print(json.dumps({"id": msg.id, "topic": msg.topic}), flush=True)
    finally:
        os.unlink(conf.name)


if __name__ == "__main__":
    main()
