"""Validate message bodies with their fedora-messaging schema classes.

Usage: fm_validate.py < LINES

Each input line is a JSON object {"schema": NAME, "body": BODY}; for each one a
line is printed: "ok", or "invalid: " and the validation error's message.
"""

import json
import sys

import jsonschema
from fedora_messaging import message


def main():
    for line in sys.stdin:
        item = json.loads(line)
        cls = message.get_class(item["schema"])
        try:
            cls(body=item["body"]).validate()
            print("ok", flush=True)
        except jsonschema.ValidationError as e:
            print(f"invalid: {e.message}", flush=True)


if __name__ == "__main__":
    main()
