"""Prints, from botocore's ECS model, every member path under RegisterTaskDefinition's request
and under DescribeTaskDefinition's TaskDefinition, one per line: "register a.b[].c" / "describe ...".
Lists are marked [], maps {}; recursion stops at a shape already on the path."""
import gzip, json, os

import botocore

path = os.path.join(os.path.dirname(botocore.__file__), "data", "ecs", "2014-11-13", "service-2.json")
model = json.load(gzip.open(path + ".gz") if os.path.exists(path + ".gz") else open(path))
shapes = model["shapes"]


def walk(prefix, shape_name, seen, out):
    shape = shapes[shape_name]
    t = shape["type"]
    if t == "list":
        walk(prefix + "[]", shape["member"]["shape"], seen, out)
    elif t == "map":
        walk(prefix + "{}", shape["value"]["shape"], seen, out)
    elif t == "structure":
        if shape_name in seen:
            return
        for name, m in shape["members"].items():
            p = prefix + "." + name if prefix else name
            out.append(p)
            walk(p, m["shape"], seen | {shape_name}, out)


for label, root in (("register", "RegisterTaskDefinitionRequest"), ("describe", "TaskDefinition")):
    out = []
    walk("", root, frozenset(), out)
    for p in out:
        print(label, p)
