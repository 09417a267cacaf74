#!/bin/sh
# The lab's stack (infra.yaml) with the AWS CLI: create or update it, and delete it cleanly.
# make stack and make destroy call it (README, "From a fresh account to the first release").
#
#   cfn/stack.sh deploy STACK BUCKET [Parameter=Value ...]
#       Creates the stack, or updates it. On the first create the service starts without tasks
#       (StartWithoutTasks=true: the image repository is still empty), on every update
#       CloudFormation leaves the task count to the releases, and the template's task definition
#       names the image the service runs now (TaskImage, digest-pinned, read from the service), so
#       that a change to the task definition keeps the released image. The load balancer admits CloudFront
#       only: the region's origin-facing prefix list is looked up. The template is larger than the
#       51,200 bytes CloudFormation takes inline, so it travels through BUCKET.
#   cfn/stack.sh destroy STACK
#       Empties the stack's S3 buckets (every object version and delete marker: CloudFormation
#       cannot delete a bucket that holds any) and its image repository, deletes the stack and
#       waits, then says what is left: the database's final snapshot.
#
# AWS_CLI names the AWS CLI to run (default: aws).
set -eu
aws=${AWS_CLI:-aws}
usage() {
	echo "usage: cfn/stack.sh deploy STACK BUCKET [Parameter=Value ...] | destroy STACK" >&2
	exit 2
}
[ $# -ge 2 ] || usage
cmd=$1 stack=$2
shift 2
here=$(dirname "$0")

# status prints the stack's status, or NONE when it does not exist; any other failure (no
# credentials, no network) ends the script, so that an existing stack is never taken for a new one.
status() {
	if out=$($aws cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].StackStatus' --output text 2>&1); then
		echo "$out"
	elif echo "$out" | grep -q "does not exist"; then
		echo NONE
	else
		echo "cfn/stack.sh: cannot tell whether stack $stack exists: $out" >&2
		exit 1
	fi
}

# released_image prints the image the stack's service runs: its task definition's first container,
# by digest (the revision the last release registered). A read that fails ends the script: an
# update must not put the service back on an image that was never pushed.
released_image() {
	res() {
		$aws cloudformation describe-stack-resource --stack-name "$stack" --logical-resource-id "$1" \
			--query StackResourceDetail.PhysicalResourceId --output text
	}
	cluster=$(res APICluster) svc=$(res APIService) || {
		echo "cfn/stack.sh: cannot read the stack's cluster and service" >&2
		exit 1
	}
	td=$($aws ecs describe-services --cluster "$cluster" --services "$svc" --query 'services[0].taskDefinition' --output text) &&
		img=$($aws ecs describe-task-definition --task-definition "$td" --query 'taskDefinition.containerDefinitions[0].image' --output text) || {
		echo "cfn/stack.sh: cannot read the image service $svc runs" >&2
		exit 1
	}
	case $img in
	*@sha256:*) echo "$img" ;;
	*)
		echo "cfn/stack.sh: service $svc runs $img, not an image pinned by digest: release once (deploystep with IMAGE) before updating the stack" >&2
		exit 1
		;;
	esac
}

case $cmd in
deploy)
	[ $# -ge 1 ] || usage
	bucket=$1
	shift
	st=$(status)
	case $st in
	NONE) empty=true ;;
	ROLLBACK_COMPLETE | ROLLBACK_FAILED | DELETE_FAILED)
		echo "cfn/stack.sh: stack $stack is $st and cannot be updated: delete it first (make destroy STACK=$stack)" >&2
		exit 2
		;;
	*_IN_PROGRESS)
		echo "cfn/stack.sh: stack $stack is $st: wait for it to end, then run this again" >&2
		exit 2
		;;
	*) empty=false ;;
	esac
	prefix=$($aws ec2 describe-managed-prefix-lists \
		--filters Name=prefix-list-name,Values=com.amazonaws.global.cloudfront.origin-facing \
		--query 'PrefixLists[0].PrefixListId' --output text)
	case $prefix in
	pl-*) ;;
	*)
		echo "cfn/stack.sh: no CloudFront origin-facing prefix list in this region (got '$prefix')" >&2
		exit 1
		;;
	esac
	image=
	if [ "$empty" = false ]; then
		image=$(released_image)
	fi
	echo "stack $stack: ${st}; StartWithoutTasks=$empty, CloudFront's origin-facing prefix list $prefix${image:+, TaskImage $image}"
	$aws cloudformation deploy --stack-name "$stack" --template-file "$here/../infra.yaml" \
		--s3-bucket "$bucket" --s3-prefix deploystep/templates --capabilities CAPABILITY_IAM \
		--no-fail-on-empty-changeset \
		--parameter-overrides DeploystepBucket="$bucket" CloudFrontPrefixListId="$prefix" StartWithoutTasks="$empty" TaskImage="$image" "$@"
	$aws cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].Outputs' --output table
	;;
destroy)
	st=$(status)
	if [ "$st" = NONE ]; then
		echo "stack $stack does not exist: nothing to delete"
		exit 0
	fi
	list() {
		$aws cloudformation describe-stack-resources --stack-name "$stack" \
			--query "StackResources[?ResourceType=='$1'].PhysicalResourceId" --output text
	}
	db=$(list AWS::RDS::DBCluster)
	tmp=$(mktemp)
	trap 'rm -f "$tmp"' EXIT
	for b in $(list AWS::S3::Bucket); do
		while :; do
			$aws s3api list-object-versions --bucket "$b" --max-items 1000 \
				--query '{Objects: [Versions, DeleteMarkers][][].{Key: Key, VersionId: VersionId}, Quiet: `true`}' --output json >"$tmp"
			grep -q '"Key"' "$tmp" || break
			$aws s3api delete-objects --bucket "$b" --delete "file://$tmp" >/dev/null
		done
		echo "bucket $b: emptied"
	done
	# EmptyOnDelete lets CloudFormation delete the repository with its images; emptying it here too
	# also serves a stack created before that property, and emulators that ignore it.
	for r in $(list AWS::ECR::Repository); do
		while :; do
			ids=$($aws ecr list-images --repository-name "$r" --max-items 100 --query 'imageIds[].imageDigest' --output text)
			[ -n "$ids" ] && [ "$ids" != None ] || break
			# shellcheck disable=SC2086 # one digest a word
			$aws ecr batch-delete-image --repository-name "$r" --image-ids $(printf 'imageDigest=%s ' $ids) >/dev/null
		done
		echo "repository $r: emptied"
	done
	$aws cloudformation delete-stack --stack-name "$stack"
	$aws cloudformation wait stack-delete-complete --stack-name "$stack"
	echo "stack $stack: deleted"
	if [ "$db" != "" ] && [ "$db" != None ]; then
		echo "left behind: the final snapshot of database cluster $db (DeletionPolicy Snapshot), billed as backup"
		echo "storage until deleted; list and delete it with:"
		echo "  aws rds describe-db-cluster-snapshots --db-cluster-identifier $db --snapshot-type manual"
		echo "  aws rds delete-db-cluster-snapshot --db-cluster-snapshot-identifier <id>"
	fi
	;;
*) usage ;;
esac
