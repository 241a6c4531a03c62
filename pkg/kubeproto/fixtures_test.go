package kubeproto_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// doc is a Kubernetes object in its JSON form, as `kubectl get -o json` prints it.
type doc = map[string]any

type appOption func(doc)

// appDoc builds an Application document shaped like the ones Argo CD and Moor store: every kind of JSON value
// appears in it (64-bit integers in metadata and in spec/status, nested arrays, empty strings, false booleans,
// nulls inside the spec, times).
func appDoc(name string, opts ...appOption) doc {
	app := doc{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Application",
		"metadata": doc{
			"name":              name,
			"namespace":         "argocd",
			"uid":               "4f1c2a8e-7d2b-4a59-9b1e-0c8f3a6d5e21",
			"resourceVersion":   "184467",
			"generation":        int64(42),
			"creationTimestamp": "2025-03-14T09:26:53Z",
			"labels":            doc{"team": "web", "app.kubernetes.io/part-of": "shop"},
			"annotations":       doc{"argocd.argoproj.io/refresh": "hard", "notes": ""},
			"finalizers":        []any{"resources-finalizer.argocd.argoproj.io"},
			"ownerReferences": []any{doc{
				"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "name": "shop",
				"uid": "0b7c9d52-1111-4c3a-8f00-5d7e4f3a2b10", "controller": true, "blockOwnerDeletion": false,
			}},
			"managedFields": []any{doc{
				"manager": "argocd-server", "operation": "Update", "apiVersion": "argoproj.io/v1alpha1",
				"time": "2025-03-14T09:26:53Z", "fieldsType": "FieldsV1",
				"fieldsV1": doc{"f:spec": doc{".": doc{}, "f:project": doc{}}},
			}},
		},
		"spec": doc{
			"project": "default",
			"source": doc{
				"repoURL":        "https://github.com/example/shop.git",
				"path":           "deploy/helm",
				"targetRevision": "HEAD",
				"helm": doc{
					"releaseName": "",
					"valueFiles":  []any{"values.yaml", "$values/env/prod.yaml"},
					"parameters": []any{
						doc{"name": "image.tag", "value": "1.4.2", "forceString": true},
						doc{"name": "replicas", "value": "3", "forceString": false},
					},
					"valuesObject":    doc{"ingress": doc{"enabled": false, "hosts": []any{"shop.example.com"}}, "extra": nil},
					"skipCrds":        false,
					"passCredentials": false,
				},
			},
			"destination":          doc{"server": "https://kubernetes.default.svc", "namespace": "shop"},
			"revisionHistoryLimit": int64(10),
			"syncPolicy": doc{
				"automated":   doc{"prune": true, "selfHeal": false, "allowEmpty": false},
				"syncOptions": []any{"CreateNamespace=true", "ServerSideApply=true"},
				"retry": doc{
					"limit":   int64(5),
					"backoff": doc{"duration": "5s", "factor": int64(2), "maxDuration": "3m"},
				},
			},
			"ignoreDifferences": []any{doc{
				"group": "apps", "kind": "Deployment", "jsonPointers": []any{"/spec/replicas"},
			}},
			"info": []any{doc{"name": "owner", "value": ""}},
		},
	}
	for _, o := range opts {
		o(app)
	}
	return app
}

// withStatus adds a status with the given number of resources and history entries.
func withStatus(resources, history int) appOption {
	return func(app doc) {
		res := make([]any, 0, resources)
		for i := range resources {
			res = append(res, doc{
				"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "shop",
				"name": fmt.Sprintf("svc-%02d", i), "status": "Synced",
				"health":   doc{"status": "Healthy"},
				"syncWave": int64(i % 3),
			})
		}
		hist := make([]any, 0, history)
		for i := range history {
			hist = append(hist, doc{
				"id":              int64(i + 1),
				"revision":        fmt.Sprintf("%040x", i+1),
				"deployedAt":      "2025-03-14T09:30:00Z",
				"deployStartedAt": "2025-03-14T09:29:41Z",
				"source":          doc{"repoURL": "https://github.com/example/shop.git", "path": "deploy/helm", "targetRevision": "HEAD"},
				"initiatedBy":     doc{"username": "admin", "automated": false},
			})
		}
		app["status"] = doc{
			"resources": res,
			"sync": doc{
				"status":     "Synced",
				"revision":   "9f2c1a7b3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b",
				"comparedTo": doc{"source": doc{"repoURL": "https://github.com/example/shop.git"}, "destination": doc{"server": "https://kubernetes.default.svc", "namespace": "shop"}},
			},
			"health":       doc{"status": "Healthy", "lastTransitionTime": "2025-03-14T09:31:02Z"},
			"history":      hist,
			"reconciledAt": "2025-03-14T10:00:00Z",
			"sourceType":   "Helm",
			"summary":      doc{"images": []any{"ghcr.io/example/shop:1.4.2"}, "externalURLs": []any{}},
			"conditions":   []any{},
			"operationState": doc{
				"phase": "Succeeded", "message": "successfully synced (all tasks run)",
				"startedAt": "2025-03-14T09:29:41Z", "finishedAt": "2025-03-14T09:30:00Z", "retryCount": int64(0),
				"operation": doc{"sync": doc{"revision": "9f2c1a7b3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b", "prune": true, "dryRun": false}},
			},
		}
	}
}

// withOperation adds a requested sync operation.
func withOperation() appOption {
	return func(app doc) {
		app["operation"] = doc{
			"initiatedBy": doc{"username": "admin"},
			"sync": doc{
				"revision":     "HEAD",
				"prune":        false,
				"syncStrategy": doc{"hook": doc{"force": false}},
				"resources":    []any{doc{"group": "", "kind": "Service", "name": "shop"}},
			},
			"retry": doc{"limit": int64(-1)},
		}
	}
}

// requireSameJSON fails unless got and want are equal JSON documents. Numbers are compared by their text, so a
// quoted integer never passes for a number and no precision is lost on the way.
func requireSameJSON(t testing.TB, got, want []byte) {
	t.Helper()
	g, err := decodeJSON(got)
	if err != nil {
		t.Fatalf("got is not JSON: %v\n%s", err, got)
	}
	w, err := decodeJSON(want)
	if err != nil {
		t.Fatalf("want is not JSON: %v\n%s", err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("JSON differs\n got: %s\nwant: %s", got, want)
	}
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
