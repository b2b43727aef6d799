"""Validate Fedora CI message bodies against the JSON schemas of the CI message
specification (draft-07, files referring to each other by name).

Usage: ci_validate.py SCHEMA_DIR < LINES

Each input line is a JSON object {"schema": NAME, "body": BODY}, NAME a schema file
of SCHEMA_DIR without ".json" (koji-build-group.test.complete); for each one a line is
printed: "ok", or "invalid: " and the first validation error's message. A reference
to a schema the directory lacks fails the line ("invalid: unresolvable ...").
"""

import json
import pathlib
import sys

import jsonschema
import referencing
import referencing.exceptions
from referencing.jsonschema import DRAFT7


def load_registry(directory):
    """Every schema of the directory, by file name and by its $id. The specification's
    files write JSON pointers without their leading slash (``common.json#properties/x``);
    those are read as the pointers they mean."""
    resources = []
    for path in sorted(pathlib.Path(directory).glob("*.json")):
        text = path.read_text(encoding="utf-8").replace('.json#properties/', '.json#/properties/')
        schema = json.loads(text)
        resource = DRAFT7.create_resource(schema)
        resources.append((path.name, resource))
        if "$id" in schema:
            resources.append((schema["$id"], resource))
    return referencing.Registry().with_resources(resources)


def main():
    registry = load_registry(sys.argv[1])
    for line in sys.stdin:
        item = json.loads(line)
        schema = registry.contents(item["schema"] + ".json")
        validator = jsonschema.Draft7Validator(
            schema, registry=registry, format_checker=jsonschema.FormatChecker()
        )
        try:
            error = jsonschema.exceptions.best_match(validator.iter_errors(item["body"]))
        except referencing.exceptions.Unresolvable as e:
            print(f"invalid: unresolvable {e}", flush=True)
            continue
        print("ok" if error is None else f"invalid: {error.message}", flush=True)


if __name__ == "__main__":
    main()
