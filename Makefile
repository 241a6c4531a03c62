# Moor's build. `make help` lists the targets. Tools are pinned in hack/tools/go.mod and hack/versions.env.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

export GOFLAGS := -buildvcs=false
export GIT_CONFIG_GLOBAL := /dev/null
TOOL := go tool -modfile=hack/tools/go.mod
KUBECONFIG_LOCAL := $(CURDIR)/.moor/local/kubeconfig
GO_TEST_FLAGS ?= -count=1 -timeout=30m
BENCH ?= .
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/moorcd/moor/pkg/version.version=$(VERSION) -X github.com/moorcd/moor/pkg/version.commit=$(shell git rev-parse --short HEAD 2>/dev/null)
# Binaries: name=package.
BINARIES := moor=./cmd/moor moor-repo-server=./services/reposerver moor-controller=./services/controller moor-server=./services/apiserver

##@ General
.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} \
	  /^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

.PHONY: quickstart
quickstart: deps build ## Run Moor end to end on the local cluster (builds it once: 15-20 min on 2 cores); Ctrl-C stops it.
	@go build -trimpath -o bin/moor-quickstart ./hack/quickstart && exec bin/moor-quickstart --bin-dir bin

##@ Build
.PHONY: build
build: ## Build every binary into ./bin.
	@mkdir -p bin
	@for b in $(BINARIES); do echo "go build -o bin/$${b%%=*} $${b#*=}"; \
	  go build -trimpath -ldflags "$(LDFLAGS)" -o "bin/$${b%%=*}" "$${b#*=}"; done

.PHONY: generate
generate: ## Regenerate protos (pkg/api), deepcopy, clientset and CRDs (deploy/crds).
	hack/generate-proto.sh
	hack/generate-k8s.sh

.PHONY: verify
verify: generate ## Prove the generated tree is fresh (fails if `make generate` changed anything).
	@if [[ -n "$$(git status --porcelain -- pkg/api pkg/client pkg/apis deploy/crds proto)" ]]; then \
	  git status --porcelain -- pkg/api pkg/client pkg/apis deploy/crds proto; \
	  echo "verify: generated files are stale; run 'make generate' and commit the result" >&2; exit 1; fi
	@echo "verify: generated files are fresh"

.PHONY: lint
lint: ## gofmt, go vet and buf lint.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	$(TOOL) buf lint

##@ Test
.PHONY: deps
deps: ## Install the system packages the tests need (when missing).
	hack/ensure-deps.sh

.PHONY: test
test: deps lint cluster-up ## Lint, unit tests and integration tests against the local cluster.
	MOOR_KUBECONFIG=$(KUBECONFIG_LOCAL) MOOR_REQUIRE_REDIS=1 go test $(GO_TEST_FLAGS) ./...

.PHONY: test-unit
test-unit: ## Unit tests only (tests that need a cluster are skipped).
	MOOR_SKIP_CLUSTER=1 go test $(GO_TEST_FLAGS) -short ./...

.PHONY: bench
bench: ## Run the benchmarks and print their figures (BENCH=regexp selects).
	go test -run '^$$' -bench '$(BENCH)' -benchmem -timeout 90m ./...

.PHONY: bench-system
bench-system: cluster-up ## The whole-system benchmark alone (MOOR_BENCH_APPS=1000 apps, MOOR_BENCH_IDLE=5m idle window).
	MOOR_KUBECONFIG=$(KUBECONFIG_LOCAL) go test -run '^$$' -bench 'BenchmarkSystem|BenchmarkPushToLive' -benchtime 1x -timeout 60m ./test/e2e/

##@ Local cluster
.PHONY: cluster-up
cluster-up: ## Build (once, cached in ~/.cache/moor) and start etcd, Kubernetes and kwok on loopback.
	@hack/cluster/up.sh

.PHONY: cluster-down
cluster-down: ## Stop the local cluster and remove its data.
	@hack/cluster/down.sh

.PHONY: clean
clean: ## Remove build output.
	rm -rf bin
