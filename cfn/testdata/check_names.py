"""Checks literal property values of a rendered stack against the resource schemas CloudFormation
publishes, as cfn-lint (pinned by make tools) ships them: maxLength, minLength, pattern, enum.
Where a schema states no constraint for a name, botocore's service model (the API reference in
machine-readable form) gives it (BOTOCORE below). Reads a JSON list of {type, path, value} on
stdin; prints a JSON list of problems.
"""
import json, re, sys

import botocore.session
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

# (resource type, property path) -> (botocore service, operation, input member): names whose
# CloudFormation schema gives no limit, and where the API does.
BOTOCORE = {
    ("AWS::CodeBuild::Project", "Name"): ("codebuild", "CreateProject", "name"),
    ("AWS::CodeCommit::Repository", "RepositoryName"): ("codecommit", "CreateRepository", "repositoryName"),
    ("AWS::Logs::LogGroup", "LogGroupName"): ("logs", "CreateLogGroup", "logGroupName"),
}
# Limits the API references state in prose only (no model constraint):
# (type, path) -> (max length, pattern or None, the source's words).
ELB_NAME = "^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$"
PROSE = {
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "Name"): (32, ELB_NAME, "ELB API reference, CreateTargetGroup Name: 'can have a maximum of 32 alphanumeric characters or hyphens, and must not begin or end with a hyphen'"),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "Name"): (32, ELB_NAME, "ELB API reference, CreateLoadBalancer Name: 'can have a maximum of 32 characters, must contain only alphanumeric characters or hyphens, must not begin or end with a hyphen'"),
    ("AWS::CloudFront::Distribution", "DistributionConfig.Comment"): (128, None, "CloudFront API reference, DistributionConfig Comment: 'The comment originally specified ... can be up to 128 characters'"),
    ("AWS::ECS::TaskDefinition", "Family"): (255, "^[A-Za-z0-9_-]+$", "ECS API reference, RegisterTaskDefinition family: 'Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.'"),
    ("AWS::ECS::TaskDefinition", "ContainerDefinitions.*.Name"): (255, "^[A-Za-z0-9_-]+$", "ECS API reference, ContainerDefinition name: 'Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.'"),
}

session = botocore.session.get_session()
models = {}


def member_shape(service, op, member):
    if service not in models:
        models[service] = session.get_service_model(service)
    return models[service].operation_model(op).input_shape.members[member]


def resolve(schema, sub):
    while "$ref" in sub:
        sub = schema["definitions"][sub["$ref"].split("/")[-1]]
    return sub


def at(schema, path):
    sub = schema
    for key in path:
        sub = resolve(schema, sub)
        if isinstance(key, int) or key.isdigit():
            sub = sub.get("items", {})
        else:
            sub = sub.get("properties", {}).get(key)
            if sub is None:
                return None
    return resolve(schema, sub)


problems = []
for item in json.load(sys.stdin):
    typ, path, value = item["type"], item["path"], item["value"]
    where = f"{item['resource']}.{'.'.join(str(p) for p in path)} = {value!r} ({len(value)} characters)"
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", typ).schema
    sub = at(schema, path) or {}
    if sub.get("type") not in (None, "string") and not isinstance(sub.get("type"), list):
        continue
    checks = [(sub, "CloudFormation's schema")]
    key = ".".join("*" if isinstance(p, int) or str(p).isdigit() else p for p in path)
    if (typ, key) in BOTOCORE:
        svc, op, member = BOTOCORE[(typ, key)]
        m = member_shape(svc, op, member).metadata
        pattern = m.get("pattern") and "^(?:" + m["pattern"] + ")$"  # botocore's patterns match whole values
        checks.append(({"minLength": m.get("min"), "maxLength": m.get("max"), "pattern": pattern}, f"botocore {svc} {op} {member}"))
    if (typ, key) in PROSE:
        limit, pattern, words = PROSE[(typ, key)]
        checks.append(({"maxLength": limit, "pattern": pattern}, words))
    for c, source in checks:
        if c.get("maxLength") is not None and len(value) > c["maxLength"]:
            problems.append(f"{where}: longer than {c['maxLength']} ({source})")
        if c.get("minLength") is not None and len(value) < c["minLength"]:
            problems.append(f"{where}: shorter than {c['minLength']} ({source})")
        if c.get("pattern") and not re.search(c["pattern"], value):
            problems.append(f"{where}: does not match {c['pattern']} ({source})")
        if c.get("enum") and value not in c["enum"]:
            problems.append(f"{where}: not one of {c['enum']} ({source})")
print(json.dumps(problems))
