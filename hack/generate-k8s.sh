#!/usr/bin/env bash
# Regenerates everything derived from the CRD Go types in pkg/apis/application/v1alpha1:
#   deepcopy methods   -> pkg/apis/application/v1alpha1/zz_generated.deepcopy.go  (controller-gen object)
#   CRD manifests      -> deploy/crds/argoproj.io_*.yaml                          (controller-gen crd)
#   typed clientset    -> pkg/client/clientset/versioned                          (client-gen)
#   listers            -> pkg/client/listers                                      (lister-gen)
#   shared informers   -> pkg/client/informers                                    (informer-gen)
# Tools are pinned in hack/tools/go.mod. Runs from any directory; running it twice changes nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"

MODULE="github.com/moorcd/moor"
APIS_PKG="${MODULE}/pkg/apis"
GROUP_VERSION="application/v1alpha1"
CLIENT_PKG="${MODULE}/pkg/client"
HEADER="hack/boilerplate.go.txt"

tool() { go tool -modfile=hack/tools/go.mod "$@"; }

echo ">> deepcopy"
tool controller-gen object:headerFile="${HEADER}" paths=./pkg/apis/...

echo ">> CRDs"
# Descriptions are left out (maxDescLen=0) so the Application CRD stays well under the 256 KiB annotation
# limit of client-side apply; the field documentation lives in the Go types.
rm -f deploy/crds/argoproj.io_*.yaml
tool controller-gen crd:maxDescLen=0 paths=./pkg/apis/... output:crd:artifacts:config=deploy/crds

# The generated client is replaced wholesale so that removed types leave nothing behind; pkg/client/doc.go
# is hand-written and kept.
rm -rf pkg/client/clientset pkg/client/listers pkg/client/informers

echo ">> clientset"
tool client-gen \
	--go-header-file "${HEADER}" \
	--clientset-name versioned \
	--input-base "${APIS_PKG}" \
	--input "${GROUP_VERSION}" \
	--fake-clientset=false \
	--output-pkg "${CLIENT_PKG}/clientset" \
	--output-dir pkg/client/clientset

echo ">> listers"
tool lister-gen \
	--go-header-file "${HEADER}" \
	--output-pkg "${CLIENT_PKG}/listers" \
	--output-dir pkg/client/listers \
	"${APIS_PKG}/${GROUP_VERSION}"

echo ">> informers"
tool informer-gen \
	--go-header-file "${HEADER}" \
	--versioned-clientset-package "${CLIENT_PKG}/clientset/versioned" \
	--listers-package "${CLIENT_PKG}/listers" \
	--output-pkg "${CLIENT_PKG}/informers" \
	--output-dir pkg/client/informers \
	"${APIS_PKG}/${GROUP_VERSION}"
