#!/usr/bin/env python3
"""Validates files against a JSON Schema (draft 7) with Python's jsonschema.

usage: bench/jsonschema-validate.py SCHEMA LISTFILE

LISTFILE names one file a line (the same list bench/fleet-check.sh gives to
`fleetgate validate`). A .json file is parsed with json, anything else as
YAML with PyYAML's libyaml-based CSafeLoader when PyYAML has it (the parser
fleetgate uses too), else its pure-Python SafeLoader. The schema is compiled
once; every file is parsed and validated, all errors collected. This whole
process, interpreter start and parsing included, is what the benchmark times.

Exit status: 0 all valid, 1 any invalid, 2 unreadable input or usage.
"""
import json
import sys

import jsonschema
import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(path):
    with open(path, "rb") as f:
        if path.endswith(".json"):
            return json.load(f)
        return yaml.load(f, Loader=LOADER)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    with open(sys.argv[1], "rb") as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    files = invalid = 0
    with open(sys.argv[2], encoding="utf-8") as lst:
        for line in lst:
            path = line.rstrip("\n")
            if not path:
                continue
            try:
                doc = load(path)
            except (OSError, ValueError, yaml.YAMLError) as e:
                sys.stderr.write("%s: %s\n" % (path, e))
                return 2
            files += 1
            errors = list(validator.iter_errors(doc))
            if errors:
                invalid += 1
                for e in errors:
                    sys.stderr.write("%s: /%s: %s\n" % (path, "/".join(map(str, e.path)), e.message))
    sys.stderr.write("jsonschema-validate: %d files, %d invalid (loader %s)\n"
                     % (files, invalid, LOADER.__name__))
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
