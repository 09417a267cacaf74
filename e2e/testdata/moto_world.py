"""Creates the lab's world in a moto server with boto3 (what a user's account would hold):
VPC and subnets, cluster, task definition, the API's load balancer and target group, service, ECR
repository with a pushed image, and a CloudFront distribution with the lab's behaviours. Prints one JSON line: the distribution id and the image's digest.

usage: python3 moto_world.py ENDPOINT
"""
import hashlib, json, sys

import boto3

endpoint = sys.argv[1]
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="AKIDMOTO", aws_secret_access_key="moto-secret")
ecs, ecr, cf = boto3.client("ecs", **kw), boto3.client("ecr", **kw), boto3.client("cloudfront", **kw)
ec2 = boto3.client("ec2", **kw)
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
# DNS hostnames on, as infra.yaml's VPC has them (moto 5.2.1's RunTask fails without: its task ENI
# then has no private DNS name).
ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
# moto 5.2.1 fails CreateService with a KeyError when awsvpcConfiguration has no securityGroups.
sg = ec2.create_security_group(GroupName="tsa-gallery-tasks", Description="tasks", VpcId=vpc)["GroupId"]

ecs.create_cluster(clusterName="tsa-gallery")
ecr.create_repository(repositoryName="tsa/gallery")
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469,
                                  "digest": "sha256:" + hashlib.sha256(b"config").hexdigest()},
                       "layers": []})
image = ecr.put_image(repositoryName="tsa/gallery", imageManifest=manifest, imageTag="3f2c1ab")["image"]
td = ecs.register_task_definition(
    family="tsa-gallery-api", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="512", memory="1024",
    # memoryReservation on the container too: moto 5.2.1's RunTask fails (a TypeError, answered
    # 500) on a container with neither memory nor memoryReservation, which Fargate does not need;
    # container cpu or memory it would answer as numbers where the API has strings.
    containerDefinitions=[{"name": "api", "essential": True, "portMappings": [{"containerPort": 3000}], "memoryReservation": 512,
                           "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:3f2c1ab"}])
# The API's load balancer, as infra.yaml has it: an ALB, a target group of ip targets, a listener
# that forwards to it (moto, like AWS, lists a target group's LoadBalancerArns from its listeners).
elb = boto3.client("elbv2", **kw)
subnet2 = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24", AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
alb = elb.create_load_balancer(Name="tsa-gallery-api", Subnets=[subnet, subnet2], SecurityGroups=[sg], Type="application")["LoadBalancers"][0]
tg = elb.create_target_group(Name="tsa-gallery-api-blue", Protocol="HTTP", Port=3000, VpcId=vpc, TargetType="ip")["TargetGroups"][0]
elb.create_listener(LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                    DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
ecs.create_service(cluster="tsa-gallery", serviceName="api", desiredCount=2, launchType="FARGATE",
                   loadBalancers=[{"targetGroupArn": tg["TargetGroupArn"], "containerName": "api", "containerPort": 3000}],
                   taskDefinition=td["taskDefinition"]["taskDefinitionArn"],
                   deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100,
                                            "deploymentCircuitBreaker": {"enable": True, "rollback": True}},
                   networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}})
# The lab's distribution: the API (Managed-CachingDisabled) and the bucket under /static/*, plus
# /api/photos* cached for an hour with legacy TTLs (moto 5.2.1 has no cache policy API).
dist = cf.create_distribution(DistributionConfig={
    "CallerReference": "tsa-gallery", "Comment": "lab 7", "Enabled": True,
    "Origins": {"Quantity": 2, "Items": [
        {"Id": "Fargate-Endpoint", "DomainName": alb["DNSName"],
         "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"}},
        {"Id": "S3-Website", "DomainName": "tsa-gallery-databucket-1x2y3z4w5v6u.s3.us-east-1.amazonaws.com",
         "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
    "DefaultCacheBehavior": {"TargetOriginId": "Fargate-Endpoint", "ViewerProtocolPolicy": "redirect-to-https",
                             "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
    "CacheBehaviors": {"Quantity": 2, "Items": [
        {"PathPattern": "/static/*", "TargetOriginId": "S3-Website", "ViewerProtocolPolicy": "redirect-to-https",
         "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
        {"PathPattern": "/api/photos*", "TargetOriginId": "Fargate-Endpoint", "ViewerProtocolPolicy": "redirect-to-https",
         "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}, "MinTTL": 0, "DefaultTTL": 3600, "MaxTTL": 3600}]}})["Distribution"]
print(json.dumps({"distribution": dist["Id"], "arn": dist["ARN"], "digest": image["imageId"]["imageDigest"]}))
