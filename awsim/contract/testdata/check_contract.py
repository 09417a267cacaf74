"""Checks awsim's contract rows (JSON on stdin) against botocore's service models.

For each row it prints one line: "ok" or what the model says instead. A "constraint" row must
match the model's required list, min, max, enum or pattern; a "doc" row's quote must be a
sentence of the member's documentation; an "error" row's quote must be the error shape's
documentation. The models are the AWS API references in machine-readable form.
"""
import gzip, html, json, os, re, sys

import botocore

MODELS = {"ECS": "ecs/2014-11-13", "ECR": "ecr/2015-09-21",
          "CloudFront": "cloudfront/2020-05-31", "CodePipeline": "codepipeline/2015-07-09",
          "CodeDeploy": "codedeploy/2014-10-06", "Logs": "logs/2014-03-28", "ELB": "elbv2/2015-12-01",
          "STS": "sts/2011-06-15"}
base = os.path.join(os.path.dirname(botocore.__file__), "data")
cache = {}


def model(svc):
    if svc not in cache:
        path = os.path.join(base, MODELS[svc], "service-2.json")
        cache[svc] = json.load(gzip.open(path + ".gz") if os.path.exists(path + ".gz") else open(path))
    return cache[svc]


def text(doc):
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", doc or ""))).replace(" .", ".").replace(" ,", ",").strip()


def check(r):
    m = model(r["service"])
    shapes = m["shapes"]
    op = m["operations"].get(r["op"])
    if op is None:
        return "no operation " + r["op"]
    if r["model"] == "guide":
        # A rule only a Developer Guide page states: the model cannot check it; the row must say
        # where it is from.
        return "ok" if r.get("source", "").startswith("https://docs.aws.amazon.com/") and r["quote"] else "a guide row needs its source"
    if r["model"] == "opdoc":
        doc = text(op.get("documentation"))
        return "ok" if text(r["quote"]) in doc else "operation doc is: " + doc[:300]
    if r["model"] == "error":
        if r["code"] not in [e["shape"] for e in op.get("errors", [])]:
            return "%s does not list the error %s" % (r["op"], r["code"])
        doc = text(shapes[r["code"]].get("documentation"))
        return "ok" if text(r["quote"]) in doc else "error doc is: " + doc[:300]
    parent, member = shapes[op["input"]["shape"]], None
    segs = r["member"].split(".")
    for i, seg in enumerate(segs):
        name = seg[:-2] if seg.endswith("[]") else seg
        if "members" not in parent or name not in parent["members"]:
            return "no member " + r["member"]
        member = parent["members"][name]
        shape = shapes[member["shape"]]
        if seg.endswith("[]"):
            shape = shapes[shape["member"]["shape"]]
        if i < len(segs) - 1:
            owner, parent = parent, shape
    owner = parent
    kind = r["kind"]
    if r["model"] == "doc":
        doc = text(member.get("documentation"))
        return "ok" if text(r["quote"]) in doc else "member doc is: " + doc[:300]
    if kind == "required":
        return "ok" if name in owner.get("required", []) else "not required in the model"
    if kind in ("min", "max"):
        got = shape.get(kind)
        return "ok" if got == r["limit"] else "model %s is %r" % (kind, got)
    if kind == "enum":
        got = shape.get("enum")
        return "ok" if got == r["enum"] else "model enum is %r" % (got,)
    if kind == "pattern":
        got = shape.get("pattern")
        return "ok" if got == r["pattern"] else "model pattern is %r" % (got,)
    return "cannot check kind " + kind


for row in json.load(sys.stdin):
    print(check(row))
