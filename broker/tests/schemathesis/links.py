"""Follows the API description's links through the core loop, as a client reading them would:
file a request (the documented example), follow `approve` as someone else, then follow
`credential` and `release`. Each call's answer is checked by schemathesis against the
description (no server error, a documented status, content type, headers and schema), and each link
must lead to a call that succeeds: a link whose expression points at the wrong field fails.

Usage: links.py BASE_URL  (STINT_COOKIE: the requester's session; STINT_DECIDER_COOKIE: the
approver's). Prints one line per step; exits non-zero on the first failure.
"""

import sys
import os

import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def operation_by_id(schema, operation_id):
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("operationId") == operation_id:
            return operation
    raise SystemExit(f"no operation {operation_id} in the description")


def evaluate(expression, request_path, response_body):
    """The runtime expressions the description's links use."""
    if expression.startswith("$response.body#"):
        value = response_body
        for part in expression[len("$response.body#"):].split("/")[1:]:
            value = value[part]
        return value
    if expression.startswith("$request.path."):
        return request_path[expression[len("$request.path."):]]
    raise SystemExit(f"an expression this script does not read: {expression}")


def call(base_url, operation, cookie, path_parameters=None, body=None):
    kwargs = {"path_parameters": path_parameters or {}, "headers": {"x-stint-csrf": "1"}}
    if operation.body:
        kwargs["body"] = {} if body is None else body
        kwargs["media_type"] = "application/json"
    case = operation.Case(**kwargs)
    response = case.call(base_url=base_url, headers={"Cookie": cookie})
    case.validate_response(response, checks=CHECKS)
    if not 200 <= response.status_code < 300:
        raise SystemExit(
            f"{operation.label} answered {response.status_code}: {response.text}"
        )
    print(f"  {operation.label} {path_parameters or ''} -> {response.status_code}", flush=True)
    return path_parameters or {}, response


def follow(schema, base_url, source, answered, status, link_name, cookie, body=None):
    """Calls what `source`'s answer links to under `link_name`."""
    request_path, response = answered
    raw = source.definition.raw["responses"][str(status)]
    link = raw.get("links", {}).get(link_name)
    if link is None:
        raise SystemExit(f"{source.label} {status} documents no link {link_name}")
    target = operation_by_id(schema, link["operationId"])
    parameters = {
        name: evaluate(expression, request_path, response.json())
        for name, expression in link.get("parameters", {}).items()
    }
    return target, call(base_url, target, cookie, parameters, body)


def main():
    base_url = sys.argv[1]
    requester = os.environ["STINT_COOKIE"]
    approver = os.environ["STINT_DECIDER_COOKIE"]
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json")
    file = operation_by_id(schema, "requests_file")
    example = file.definition.raw["requestBody"]["content"]["application/json"]["schema"]
    example = schema.raw_schema["components"]["schemas"][example["$ref"].rsplit("/", 1)[1]]["example"]
    print("following the description's links: requests -> approve -> credential -> release")
    filed = call(base_url, file, requester, body=example)
    approve, approved = follow(schema, base_url, file, filed, 201, "approve", approver)
    credential, issued = follow(
        schema, base_url, approve, approved, 200, "credential", requester
    )
    follow(
        schema, base_url, credential, issued, 200, "release", requester,
        body={"outcome": "completed", "note": "done: the links led all the way"},
    )
    print("links followed: 4 calls, every answer as described")


if __name__ == "__main__":
    main()
