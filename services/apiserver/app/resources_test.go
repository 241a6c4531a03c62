package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/test/kubetest"
)

const secretValue = "s3cr3t-v4lue-never-shown"

func toNamespace(ns string) appOption {
	return func(a *v1alpha1.Application) { a.Spec.Destination.Namespace = ns }
}

// tracked marks an object as a resource of app, the way the controller's sync writes it.
func tracked(app, kind, ns, name string) map[string]string {
	return map[string]string{"argocd.argoproj.io/tracking-id": app + ":/" + kind + ":" + ns + "/" + name}
}

func createConfigMap(t *testing.T, kube kubernetes.Interface, ns, name string, ann map[string]string) *corev1.ConfigMap {
	t.Helper()
	cm, err := kube.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann}, Data: map[string]string{"color": "blue"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

func TestApplicationResources(t *testing.T) {
	kc := kubetest.Start(t)
	dest := kc.Namespace(t)
	const name = "res-app"
	for _, cm := range []string{"shown", "patched", "doomed"} {
		createConfigMap(t, kc.Kube, dest, cm, tracked(name, "ConfigMap", dest, cm))
	}
	stray := createConfigMap(t, kc.Kube, dest, "stray", nil)
	// A tracking id copied from another object does not make an object the app's.
	createConfigMap(t, kc.Kube, dest, "copied", tracked(name, "ConfigMap", dest, "shown"))
	if _, err := kc.Kube.CoreV1().Secrets(dest).Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds", Annotations: tracked(name, "Secret", dest, "creds")},
		Data:       map[string][]byte{"password": []byte(secretValue)}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	f := start(t, defaultSettings(), false, newApp(name, toNamespace(dest)))
	admin := f.login(t, "admin", f.adminPassword(t))
	alice := f.login(t, "alice", userPassword) // role:readonly
	apps := apiv1.NewApplicationServiceClient(f.conn)
	call := func(t *testing.T, token string) (context.Context, context.CancelFunc) {
		ctx, cancel := contextWithTimeout(t, 30*time.Second)
		return bearer(ctx, token), cancel
	}
	getReq := func(kind, res string) *apiv1.ApplicationServiceGetResourceRequest {
		return &apiv1.ApplicationServiceGetResourceRequest{Name: name, Namespace: dest, ResourceName: res, Version: "v1", Kind: kind}
	}

	t.Run("GetResource returns a tracked ConfigMap", func(t *testing.T) {
		t.Parallel()
		for _, token := range []string{admin, alice} {
			ctx, cancel := call(t, token)
			defer cancel()
			resp, err := apps.GetResource(ctx, &apiv1.ApplicationServiceGetResourceRequest{Name: name, Namespace: dest, ResourceName: "shown", Kind: "ConfigMap"})
			if err != nil {
				t.Fatal(err)
			}
			var cm corev1.ConfigMap
			if err := json.Unmarshal([]byte(resp.GetManifest()), &cm); err != nil || cm.Name != "shown" || cm.Data["color"] != "blue" {
				t.Errorf("manifest %v: %s", err, resp.GetManifest())
			}
		}
	})

	t.Run("GetResource masks a Secret over gRPC and REST", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := call(t, admin)
		defer cancel()
		resp, err := apps.GetResource(ctx, getReq("Secret", "creds"))
		if err != nil {
			t.Fatal(err)
		}
		q := url.Values{"namespace": {dest}, "resourceName": {"creds"}, "version": {"v1"}, "kind": {"Secret"}}
		code, body, _ := f.do(t, http.MethodGet, "/api/v1/applications/"+name+"/resource?"+q.Encode(), admin, nil)
		if code != http.StatusOK {
			t.Fatalf("REST: %d %s", code, body)
		}
		encoded := base64.StdEncoding.EncodeToString([]byte(secretValue))
		for what, out := range map[string]string{"gRPC": resp.GetManifest(), "REST": string(body)} {
			if strings.Contains(out, secretValue) || strings.Contains(out, encoded) {
				t.Errorf("%s response shows the secret value: %s", what, out)
			}
			if !strings.Contains(out, "password") || !strings.Contains(out, "++++") {
				t.Errorf("%s response does not show the masked key: %s", what, out)
			}
		}
	})

	t.Run("objects outside the app are not found", func(t *testing.T) {
		t.Parallel()
		for _, res := range []string{"stray", "copied", "missing"} {
			for _, token := range []string{admin, alice} {
				ctx, cancel := call(t, token)
				_, err := apps.GetResource(ctx, getReq("ConfigMap", res))
				cancel()
				if status.Code(err) != codes.NotFound {
					t.Errorf("get %s: want NotFound, got %v", res, err)
				}
			}
		}
		ctx, cancel := call(t, "")
		defer cancel()
		if _, err := apps.GetResource(ctx, getReq("ConfigMap", "shown")); status.Code(err) != codes.Unauthenticated && status.Code(err) != codes.PermissionDenied {
			t.Errorf("anonymous get: %v", err)
		}
	})

	t.Run("PatchResource patches a tracked resource, for updaters only", func(t *testing.T) {
		t.Parallel()
		patch := func(token, res, typ, body string) error {
			ctx, cancel := call(t, token)
			defer cancel()
			_, err := apps.PatchResource(ctx, &apiv1.ApplicationServicePatchResourceRequest{
				Name: name, Namespace: dest, ResourceName: res, Version: "v1", Kind: "ConfigMap", Patch: body, PatchType: typ})
			return err
		}
		if err := patch(alice, "patched", "merge", `{"data":{"color":"red"}}`); status.Code(err) != codes.PermissionDenied {
			t.Errorf("readonly patch: want PermissionDenied, got %v", err)
		}
		if err := patch(admin, "stray", "merge", `{"data":{"color":"red"}}`); status.Code(err) != codes.NotFound {
			t.Errorf("patch of an untracked object: want NotFound, got %v", err)
		}
		if err := patch(admin, "patched", "yaml", `{}`); status.Code(err) != codes.InvalidArgument {
			t.Errorf("unknown patch type: want InvalidArgument, got %v", err)
		}
		for _, tc := range []struct{ typ, body, want string }{
			{"merge", `{"data":{"color":"red"}}`, "red"},
			{"json", `[{"op":"replace","path":"/data/color","value":"green"}]`, "green"},
			{"strategic", `{"data":{"color":"teal"}}`, "teal"},
		} {
			if err := patch(admin, "patched", tc.typ, tc.body); err != nil {
				t.Fatalf("%s patch: %v", tc.typ, err)
			}
			cm, err := kc.Kube.CoreV1().ConfigMaps(dest).Get(t.Context(), "patched", metav1.GetOptions{})
			if err != nil || cm.Data["color"] != tc.want {
				t.Errorf("after %s patch: %v %v", tc.typ, err, cm.Data)
			}
		}
		if cm, err := kc.Kube.CoreV1().ConfigMaps(dest).Get(t.Context(), "stray", metav1.GetOptions{}); err != nil || cm.Data["color"] != "blue" {
			t.Errorf("untracked object changed: %v %v", err, cm.Data)
		}
	})

	t.Run("DeleteResource deletes a tracked resource, for deleters only", func(t *testing.T) {
		t.Parallel()
		del := func(token, res string) error {
			ctx, cancel := call(t, token)
			defer cancel()
			_, err := apps.DeleteResource(ctx, &apiv1.ApplicationServiceDeleteResourceRequest{
				Name: name, Namespace: dest, ResourceName: res, Version: "v1", Kind: "ConfigMap"})
			return err
		}
		if err := del(alice, "doomed"); status.Code(err) != codes.PermissionDenied {
			t.Errorf("readonly delete: want PermissionDenied, got %v", err)
		}
		if err := del(admin, "stray"); status.Code(err) != codes.NotFound {
			t.Errorf("delete of an untracked object: want NotFound, got %v", err)
		}
		if err := del(admin, "doomed"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := kc.Kube.CoreV1().ConfigMaps(dest).Get(t.Context(), "doomed", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("doomed still there after 30s: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if _, err := kc.Kube.CoreV1().ConfigMaps(dest).Get(t.Context(), "stray", metav1.GetOptions{}); err != nil {
			t.Errorf("untracked object: %v", err)
		}
	})

	t.Run("ListResourceEvents returns the events of a resource and of the app", func(t *testing.T) {
		t.Parallel()
		shown, err := kc.Kube.CoreV1().ConfigMaps(dest).Get(t.Context(), "shown", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		event := func(ns, evName string, obj corev1.ObjectReference) {
			t.Helper()
			now := metav1.Now()
			if _, err := kc.Kube.CoreV1().Events(ns).Create(t.Context(), &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: evName},
				InvolvedObject: obj, Reason: "Tested", Message: "event " + evName, Type: corev1.EventTypeNormal,
				FirstTimestamp: now, LastTimestamp: now, Count: 1, Source: corev1.EventSource{Component: "moor-test"},
			}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		event(dest, "shown-event", corev1.ObjectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: dest, Name: "shown", UID: shown.UID})
		event(dest, "stray-event", corev1.ObjectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: dest, Name: "stray", UID: stray.UID})
		a := f.getApp(t, name)
		event(f.ns, "app-event", corev1.ObjectReference{APIVersion: "argoproj.io/v1alpha1", Kind: "Application", Namespace: f.ns, Name: name, UID: a.UID})

		names := func(req *apiv1.ApplicationServiceListResourceEventsRequest) []string {
			t.Helper()
			ctx, cancel := call(t, alice)
			defer cancel()
			resp, err := apps.ListResourceEvents(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, it := range resp.GetList().GetItems() {
				out = append(out, it.GetFields()["metadata"].GetStructValue().GetFields()["name"].GetStringValue())
			}
			return out
		}
		if got := names(&apiv1.ApplicationServiceListResourceEventsRequest{Name: name, ResourceNamespace: dest, ResourceName: "shown"}); len(got) != 1 || got[0] != "shown-event" {
			t.Errorf("events of shown: %v", got)
		}
		if got := names(&apiv1.ApplicationServiceListResourceEventsRequest{Name: name, ResourceNamespace: dest, ResourceName: "stray"}); len(got) != 0 {
			t.Errorf("events of an untracked object: %v", got)
		}
		if got := names(&apiv1.ApplicationServiceListResourceEventsRequest{Name: name}); len(got) != 1 || got[0] != "app-event" {
			t.Errorf("events of the app: %v", got)
		}
		code, body, _ := f.do(t, http.MethodGet, "/api/v1/applications/"+name+"/events?resourceNamespace="+dest+"&resourceName=shown", alice, nil)
		var list struct {
			Items []corev1.Event `json:"items"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list.Items) != 1 || list.Items[0].Reason != "Tested" {
			t.Errorf("REST events: %d %s", code, body)
		}
	})

	t.Run("GetManifests and RevisionMetadata say when the repo-server is unreachable", func(t *testing.T) {
		t.Parallel()
		// The fixture points the server at a repo-server address nothing listens on.
		ctx, cancel := call(t, alice)
		defer cancel()
		_, err := apps.GetManifests(ctx, &apiv1.ApplicationServiceGetManifestsRequest{Name: name})
		if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "repo-server") {
			t.Errorf("GetManifests: want Unavailable naming the repo-server, got %v", err)
		}
		_, err = apps.RevisionMetadata(ctx, &apiv1.ApplicationServiceRevisionMetadataRequest{Name: name, Revision: "HEAD"})
		if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "repo-server") {
			t.Errorf("RevisionMetadata: want Unavailable naming the repo-server, got %v", err)
		}
		_, err = apps.GetManifests(ctx, &apiv1.ApplicationServiceGetManifestsRequest{Name: name, SourcePositions: []int64{2}, Revisions: []string{"v1"}})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("GetManifests with a bad source position: want InvalidArgument, got %v", err)
		}
		ctx, cancel = call(t, "")
		defer cancel()
		if _, err := apps.GetManifests(ctx, &apiv1.ApplicationServiceGetManifestsRequest{Name: name}); status.Code(err) == codes.OK || status.Code(err) == codes.Unavailable {
			t.Errorf("anonymous GetManifests: %v", err)
		}
	})
}
