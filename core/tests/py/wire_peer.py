#!/usr/bin/env python3
"""Python stdlib peer for core/tests/wire_roundtrip.rs.

Reads JSON lines from stdin, one request each, and writes one JSON line per request.
Values travel in a tagged form so nothing is lost between the two JSON parsers:
  {"s": str} {"i": "decimal"} {"d": "repr"} {"b": bool} {"t": "datetime text"}
  {"a": [v...]} {"m": [[key, v]...]} {"n": null}
Requests:
  {"op": "xml_loads", "data": text}            -> {"params": [v...], "method": str|null}
  {"op": "xml_dumps_response", "value": v}     -> {"data": text}  (xapi-like envelope)
  {"op": "xml_dumps_call", "params": [v...]}   -> {"data": text}
  {"op": "json_loads", "data": text}           -> {"value": v}
  {"op": "json_dumps", "value": v}             -> {"data": text}
"""
import json
import sys
import xmlrpc.client


def tag(x):
    if isinstance(x, bool):
        return {"b": x}
    if isinstance(x, int):
        return {"i": str(x)}
    if isinstance(x, float):
        return {"d": repr(x)}
    if isinstance(x, str):
        return {"s": x}
    if isinstance(x, xmlrpc.client.DateTime):
        return {"t": x.value}
    if isinstance(x, (list, tuple)):
        return {"a": [tag(v) for v in x]}
    if isinstance(x, dict):
        return {"m": [[k, tag(v)] for k, v in x.items()]}
    if x is None:
        return {"n": None}
    raise TypeError(type(x))


def untag(v):
    (k, x), = v.items()
    if k == "s":
        return x
    if k == "i":
        return int(x)
    if k == "d":
        return float(x)
    if k == "b":
        return x
    if k == "t":
        return xmlrpc.client.DateTime(x)
    if k == "a":
        return [untag(e) for e in x]
    if k == "m":
        return {key: untag(e) for key, e in x}
    if k == "n":
        return None
    raise ValueError(k)


def handle(req):
    op = req["op"]
    if op == "xml_loads":
        params, method = xmlrpc.client.loads(req["data"])
        return {"params": [tag(p) for p in params], "method": method}
    if op == "xml_dumps_response":
        env = {"Status": "Success", "Value": untag(req["value"])}
        return {"data": xmlrpc.client.dumps((env,), methodresponse=True, allow_none=True)}
    if op == "xml_dumps_call":
        params = tuple(untag(p) for p in req["params"])
        return {"data": xmlrpc.client.dumps(params, methodname="VM.peer", allow_none=True)}
    if op == "json_loads":
        return {"value": tag(json.loads(req["data"]))}
    if op == "json_dumps":
        # JSON has no datetime type: xapi sends the wire text.
        return {"data": json.dumps(untag(req["value"]), default=lambda d: d.value)}
    raise ValueError(op)


def main():
    for line in sys.stdin:
        try:
            out = handle(json.loads(line))
        except Exception as e:  # report, keep going: the Rust side asserts
            out = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
