"""Runs an `aws <service> <operation> --option value ...` line that deploystep printed, the way the
AWS CLI maps it: through botocore's service model (the operation and each option must be in it,
required members present, enum values allowed), then through a boto3 client against awsim.

stdin: {"command": "...", "endpoint": "http://127.0.0.1:P", "region": "...", "key": "...", "secret": "..."}
stdout: {"operation": "...", "params": {...}} or {"error": "..."}
"""
import json
import shlex
import sys

import boto3
import botocore.session
from botocore import xform_name


def main():
    req = json.load(sys.stdin)
    argv = shlex.split(req["command"])
    if len(argv) < 3 or argv[0] != "aws":
        return {"error": "not an aws command: %r" % req["command"]}
    service, op_name, rest = argv[1], argv[2], argv[3:]
    model = botocore.session.get_session().get_service_model(service)
    ops = {xform_name(o, "-"): o for o in model.operation_names}
    if op_name not in ops:
        return {"error": "%s has no operation %s" % (service, op_name)}
    op = model.operation_model(ops[op_name])
    members = {xform_name(m, "-"): (m, s) for m, s in op.input_shape.members.items()}
    params = {}
    while rest:
        opt = rest.pop(0)
        if not opt.startswith("--") or opt[2:] not in members:
            return {"error": "%s %s has no option %s" % (service, op_name, opt)}
        if not rest:
            return {"error": "%s has no value" % opt}
        name, shape = members[opt[2:]]
        value = rest.pop(0)
        if shape.enum and value not in shape.enum:
            return {"error": "%s %s is not one of %s" % (opt, value, shape.enum)}
        params[name] = value
    missing = [m for m in op.input_shape.required_members if m not in params]
    if missing:
        return {"error": "required members missing: %s" % missing}
    client = boto3.client(service, endpoint_url=req["endpoint"], region_name=req["region"],
                          aws_access_key_id=req["key"], aws_secret_access_key=req["secret"])
    getattr(client, xform_name(op.name))(**params)
    return {"operation": op.name, "params": params}


if __name__ == "__main__":
    try:
        print(json.dumps(main()))
    except Exception as e:  # the call's error is the answer
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
