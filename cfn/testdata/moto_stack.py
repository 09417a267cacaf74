"""Creates one rendered variant of infra.yaml in moto's CloudFormation (a third-party emulator),
with the resource types moto implements: EC2, ECS, Elastic Load Balancing, ECR, IAM, S3, Logs,
Events, Lambda, KMS and SNS. The other resources (RDS, CloudFront, CodeCommit, CodeBuild,
CodePipeline, alarms, bucket policies) are left out, and references to them become the realistic
literals below. Then, as the first release would, it sets the service's desired count with
UpdateService, updates the stack with StartWithoutTasks=false, and reads the service again.
Prints one JSON object with what moto created.

usage: python3 moto_stack.py ENDPOINT RENDERED.json STACK_NAME PARAMS.json
"""
import io, json, os, re, sys, time, zipfile

import boto3

endpoint, path, stack, params = sys.argv[1], sys.argv[2], sys.argv[3], json.load(open(sys.argv[4]))
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="AKIDMOTO", aws_secret_access_key="moto-secret")
cf, ecs, ec2 = boto3.client("cloudformation", **kw), boto3.client("ecs", **kw), boto3.client("ec2", **kw)

KEPT = ("AWS::EC2::", "AWS::ECS::", "AWS::ElasticLoadBalancingV2::", "AWS::ECR::", "AWS::IAM::", "AWS::Logs::",
        "AWS::Events::", "AWS::Lambda::", "AWS::KMS::", "AWS::SNS::")
KEPT_EXACT = ("AWS::S3::Bucket",)
# What a left-out resource's Ref and attributes would be in a real account.
LITERALS = {
    "CFDistribution": "E2QWRUHAPOMQZL",
    "CFDistribution.DomainName": "d111111abcdef8.cloudfront.net",
    "DBCluster": "tsa-gallery-dbcluster-1a2b3c4d5e6f",
    "DBCluster.Endpoint.Address": "tsa-gallery-dbcluster-1a2b3c4d5e6f.cluster-c9akciq32.us-east-1.rds.amazonaws.com",
    "DBCluster.MasterUserSecret.SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b-AbCdEf",
    "CodeRepository": "tsa-gallery-api-0f1e2d3c",
    "CodeRepository.Arn": "arn:aws:codecommit:us-east-1:123456789012:tsa-gallery-api-0f1e2d3c",
    "CodeRepository.Name": "tsa-gallery-api-0f1e2d3c",
    "APIBuildProject": "TSA-Gallery-api",
    "APIBuildProject.Arn": "arn:aws:codebuild:us-east-1:123456789012:project/TSA-Gallery-api",
    "APIPipeline": "TSA-Gallery-APIPipeline-1A2B3C4D5E6F",
    "DataBucketOAC.Id": "E3QWRUHAPOMQZL",
    "TargetErrorsAlarm": "TSA-Gallery-TargetErrorsAlarm-1A2B3C4D5E6F",
    "UnhealthyTargetsAlarm": "TSA-Gallery-UnhealthyTargetsAlarm-1A2B3C4D5E6F",
    "DBSubnetGroup": "tsa-gallery-dbsubnetgroup-1a2b3c4d5e6f",
    "DBClusterParameterGroup": "tsa-gallery-dbclusterparametergroup-1a2b3c4d5e6f",
}

# Attributes of kept resources that moto 5.2.1 does not implement (real CloudFormation does).
MOTO_LACKS = {"NatEIP.PublicIp": "3.218.180.12"}
LITERALS.update(MOTO_LACKS)

# MOTO_ONLY (comma-separated types) keeps those alone: moto's deletion does not follow
# dependencies (it deletes a VPC before what is in it, a role before the policy attached to it),
# so a deletion test keeps only what it deletes.
only = set(filter(None, os.environ.get("MOTO_ONLY", "").split(",")))

doc = json.load(open(path))
dropped = {k for k, r in doc["Resources"].items()
           if not (r["Type"].startswith(KEPT) or r["Type"] in KEPT_EXACT) or only and r["Type"] not in only}
doc["Resources"] = {k: r for k, r in doc["Resources"].items() if k not in dropped}
doc.pop("Outputs", None)


def literal(key):
    if key not in LITERALS:
        sys.exit(f"moto_stack.py: no literal for {key}, a reference to a left-out resource")
    return LITERALS[key]


def sub(s):
    def one(m):
        name = m.group(1)
        return literal(name) if name.split(".")[0] in dropped or name in MOTO_LACKS else m.group(0)
    return re.sub(r"\$\{([A-Za-z0-9.:]+)\}", one, s)


def walk(v):
    if isinstance(v, dict):
        if set(v) == {"Ref"} and v["Ref"] in dropped:
            return literal(v["Ref"])
        if set(v) == {"Fn::GetAtt"} and (v["Fn::GetAtt"][0] in dropped or ".".join(v["Fn::GetAtt"]) in MOTO_LACKS):
            return literal(".".join(v["Fn::GetAtt"]))
        if set(v) == {"Fn::Sub"}:
            a = v["Fn::Sub"]
            return {"Fn::Sub": sub(a) if isinstance(a, str) else [sub(a[0]), walk(a[1])]}
        out = {k: walk(c) for k, c in v.items()}
        if "DependsOn" in out:
            deps = out["DependsOn"] if isinstance(out["DependsOn"], list) else [out["DependsOn"]]
            out["DependsOn"] = [d for d in deps if d not in dropped]
        return out
    if isinstance(v, list):
        return [walk(c) for c in v]
    return v


doc = walk(doc)


def wait(name):
    for _ in range(120):
        s = cf.describe_stacks(StackName=name)["Stacks"][0]
        if not s["StackStatus"].endswith("_IN_PROGRESS"):
            return s
        time.sleep(0.5)
    return s


def plist(p):
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in p.items()]


# The bucket make publish fills: the function's code is read from it at create time.
s3 = boto3.client("s3", **kw)
bucket = params["DeploystepBucket"]
try:
    s3.create_bucket(Bucket=bucket)
except s3.exceptions.BucketAlreadyOwnedByYou:
    pass
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("bootstrap", "#!/bin/sh\n")
s3.put_object(Bucket=bucket, Key=params["DeployFunctionKey"], Body=buf.getvalue())

cf.create_stack(StackName=stack, TemplateBody=json.dumps(doc), Parameters=plist(params), Capabilities=["CAPABILITY_IAM"])
s = wait(stack)
out = {"status": s["StackStatus"], "reason": s.get("StackStatusReason", ""), "dropped": sorted(dropped)}
res = cf.list_stack_resources(StackName=stack)["StackResourceSummaries"]
out["resources"] = {r["LogicalResourceId"]: r["ResourceStatus"] for r in res}
phys = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in res}
if out["status"] == "CREATE_COMPLETE" and not only:
    cluster, service = phys["APICluster"], phys["APIService"]
    svc = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    out["desiredCount"] = svc["desiredCount"]
    out["network"] = svc.get("networkConfiguration", {})
    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    out["runtimePlatform"] = td.get("runtimePlatform", {})
    out["image"] = td["containerDefinitions"][0]["image"]
    out["repositories"] = [r["repositoryName"] for r in boto3.client("ecr", **kw).describe_repositories()["repositories"]]
    out["natGateways"] = len(ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [phys["VPC"]]}])["NatGateways"])
    sg = ec2.describe_security_groups(GroupIds=[phys["PublicSecurityGroup"]])["SecurityGroups"][0]
    out["albIngress"] = sg["IpPermissions"]
    rules = [r for r in boto3.client("events", **kw).list_rules()["Rules"] if r["Name"] == phys.get("SourceChangeRule")]
    out["eventRules"] = [json.loads(r.get("EventPattern", "{}")) for r in rules]
    # The first release: deploystep's UpdateService with DESIRED_COUNT, then a stack update that
    # no longer asks for an empty start.
    ecs.update_service(cluster=cluster, service=service, desiredCount=2, forceNewDeployment=True)
    params["StartWithoutTasks"] = "false"
    cf.update_stack(StackName=stack, TemplateBody=json.dumps(doc), Parameters=plist(params), Capabilities=["CAPABILITY_IAM"])
    u = wait(stack)
    out["updateStatus"] = u["StackStatus"]
    svc = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    out["desiredCountAfterUpdate"] = svc["desiredCount"]
print(json.dumps(out, default=str))
