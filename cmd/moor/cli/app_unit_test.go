package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/moorcd/moor/cmd/moor/cli"
	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

const (
	appRepo   = "https://git.example.com/apps.git"
	appServer = "https://kubernetes.default.svc"
)

func TestAppCreateFlagsToSpec(t *testing.T) {
	t.Parallel()
	base := []string{"--repo", appRepo, "--dest-server", appServer}
	src := func(s v1alpha1.ApplicationSource) *v1alpha1.ApplicationSource {
		s.RepoURL = appRepo
		return &s
	}
	dest := v1alpha1.ApplicationDestination{Server: appServer}
	cases := []struct {
		name string
		args []string
		want v1alpha1.Application
	}{
		{
			name: "source and destination",
			args: []string{"--repo", appRepo, "--path", "guestbook", "--revision", "v1", "--dest-server", appServer,
				"--dest-namespace", "web", "--project", "team"},
			want: v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{
				Source:      src(v1alpha1.ApplicationSource{Path: "guestbook", TargetRevision: "v1"}),
				Destination: v1alpha1.ApplicationDestination{Server: appServer, Namespace: "web"}, Project: "team"}},
		},
		{
			name: "destination by name",
			args: []string{"--repo", appRepo, "--dest-name", "prod"},
			want: v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{Source: src(v1alpha1.ApplicationSource{}),
				Destination: v1alpha1.ApplicationDestination{Name: "prod"}}},
		},
		{
			name: "helm",
			args: append([]string{"--helm-chart", "redis", "--helm-set", "a=1", "--helm-set-string", "b=2", "-p", "c=x=y",
				"--helm-set", "a=3", "--values", "v1.yaml", "--values", "v2.yaml", "--release-name", "cache",
				"--helm-set-file", "cfg=files/cfg.txt", "--ignore-missing-value-files"}, base...),
			want: v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{Destination: dest, Source: src(v1alpha1.ApplicationSource{
				Chart: "redis",
				Helm: &v1alpha1.ApplicationSourceHelm{
					Parameters:              []v1alpha1.HelmParameter{{Name: "a", Value: "3"}, {Name: "c", Value: "x=y"}, {Name: "b", Value: "2", ForceString: new(true)}},
					FileParameters:          []v1alpha1.HelmFileParameter{{Name: "cfg", Path: "files/cfg.txt"}},
					ValueFiles:              []string{"v1.yaml", "v2.yaml"},
					ReleaseName:             "cache",
					IgnoreMissingValueFiles: new(true),
				}})}},
		},
		{
			name: "kustomize",
			args: append([]string{"--kustomize-image", "nginx=nginx:1.27", "--kustomize-image", "redis:7", "--kustomize-image", "nginx:1.28",
				"--nameprefix", "p-", "--namesuffix", "-s", "--kustomize-replica", "web=3", "--kustomize-common-label", "team=web",
				"--kustomize-common-annotation", "owner=me", "--kustomize-namespace", "web"}, base...),
			want: v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{Destination: dest, Source: src(v1alpha1.ApplicationSource{
				Kustomize: &v1alpha1.ApplicationSourceKustomize{
					Images:            v1alpha1.KustomizeImages{"nginx:1.28", "redis:7"},
					NamePrefix:        "p-",
					NameSuffix:        "-s",
					Replicas:          v1alpha1.KustomizeReplicas{{Name: "web", Count: intstr.FromInt(3)}},
					CommonLabels:      map[string]string{"team": "web"},
					CommonAnnotations: map[string]string{"owner": "me"},
					Namespace:         "web",
				}})}},
		},
		{
			name: "directory and jsonnet",
			args: append([]string{"--directory-recurse", "--directory-include", "*.yaml", "--jsonnet-tla-str", "env=prod",
				"--jsonnet-tla-code", "replicas=3", "--jsonnet-ext-var-str", "team=web", "--jsonnet-ext-var-code", "debug=false",
				"--jsonnet-libs", "vendor"}, base...),
			want: v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{Destination: dest, Source: src(v1alpha1.ApplicationSource{
				Directory: &v1alpha1.ApplicationSourceDirectory{
					Recurse: new(true),
					Include: "*.yaml",
					Jsonnet: &v1alpha1.ApplicationSourceJsonnet{
						TLAs:    []v1alpha1.JsonnetVar{{Name: "env", Value: "prod"}, {Name: "replicas", Value: "3", Code: new(true)}},
						ExtVars: []v1alpha1.JsonnetVar{{Name: "team", Value: "web"}, {Name: "debug", Value: "false", Code: new(true)}},
						Libs:    []string{"vendor"},
					},
				}})}},
		},
		{
			name: "sync policy",
			args: append([]string{"--sync-policy", "automated", "--auto-prune", "--self-heal", "--allow-empty",
				"--sync-option", "CreateNamespace=true", "--sync-option", "ServerSideApply=true", "--sync-option", "CreateNamespace=false",
				"--sync-retry-limit", "3", "--sync-retry-backoff-duration", "5s", "--sync-retry-backoff-factor", "2"}, base...),
			want: v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{Destination: dest, Source: src(v1alpha1.ApplicationSource{}),
				SyncPolicy: &v1alpha1.SyncPolicy{
					Automated:   &v1alpha1.SyncPolicyAutomated{Prune: new(true), SelfHeal: new(true), AllowEmpty: new(true)},
					SyncOptions: v1alpha1.SyncOptions{"CreateNamespace=false", "ServerSideApply=true"},
					Retry:       &v1alpha1.RetryStrategy{Limit: new(int64(3)), Backoff: &v1alpha1.Backoff{Duration: "5s", Factor: new(int64(2))}},
				}}},
		},
		{
			name: "manual sync policy is no policy",
			args: append([]string{"--sync-policy", "manual"}, base...),
			want: v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{Destination: dest, Source: src(v1alpha1.ApplicationSource{})}},
		},
		{
			name: "metadata",
			args: append([]string{"--label", "team=web", "--label", "env=prod", "--annotations", "note=x", "--set-finalizer",
				"--revision-history-limit", "3"}, base...),
			want: v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{Destination: dest, Source: src(v1alpha1.ApplicationSource{}),
				RevisionHistoryLimit: new(int64(3))}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := cli.AppFromFlags("guestbook", c.args...)
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			want.Name = "guestbook"
			if c.name == "metadata" {
				want.Labels = map[string]string{"team": "web", "env": "prod"}
				want.Annotations = map[string]string{"note": "x"}
				want.Finalizers = []string{"resources-finalizer.argocd.argoproj.io"}
			}
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("application (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppCreateFlagErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		args []string
		want string
	}{
		"no repo":                 {[]string{"--dest-server", appServer}, "needs --repo"},
		"no destination":          {[]string{"--repo", appRepo}, "--dest-server or --dest-name"},
		"two destinations":        {[]string{"--repo", appRepo, "--dest-server", appServer, "--dest-name", "x"}, "not both"},
		"auto-prune without auto": {[]string{"--repo", appRepo, "--dest-server", appServer, "--auto-prune"}, "--sync-policy auto"},
		"bad sync policy":         {[]string{"--repo", appRepo, "--dest-server", appServer, "--sync-policy", "sometimes"}, "want manual or auto"},
		"bad helm-set":            {[]string{"--repo", appRepo, "--dest-server", appServer, "--helm-set", "novalue"}, "want name=value"},
		"bad label":               {[]string{"--repo", appRepo, "--dest-server", appServer, "--label", "x"}, "want key=value"},
		"bad replica":             {[]string{"--repo", appRepo, "--dest-server", appServer, "--kustomize-replica", "web=many"}, "want name=count"},
		"bad sync option":         {[]string{"--repo", appRepo, "--dest-server", appServer, "--sync-option", "Prune"}, "want Key=value"},
		"retry without limit":     {[]string{"--repo", appRepo, "--dest-server", appServer, "--sync-retry-backoff-duration", "5s"}, "need --sync-retry-limit"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := cli.AppFromFlags("x", c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if _, code := cli.Explain(err); code != cli.ExitGeneric {
				t.Errorf("exit code %d, want %d", code, cli.ExitGeneric)
			}
		})
	}
}

func TestAppSetFlags(t *testing.T) {
	t.Parallel()
	t.Run("switch to manual and drop an option", func(t *testing.T) {
		t.Parallel()
		app := appFixture("a")
		app.Spec.SyncPolicy.SyncOptions = v1alpha1.SyncOptions{"CreateNamespace=true"}
		if err := cli.AppApplyFlags(app, "--sync-policy", "none", "--sync-option", "!CreateNamespace"); err != nil {
			t.Fatal(err)
		}
		if app.Spec.SyncPolicy != nil {
			t.Errorf("syncPolicy %+v, want none", app.Spec.SyncPolicy)
		}
	})
	t.Run("only given flags change", func(t *testing.T) {
		t.Parallel()
		app := appFixture("a")
		want := app.DeepCopy()
		if err := cli.AppApplyFlags(app, "--revision", "v3", "--dest-namespace", "other"); err != nil {
			t.Fatal(err)
		}
		want.Spec.Source.TargetRevision, want.Spec.Destination.Namespace = "v3", "other"
		if diff := cmp.Diff(want, app); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("dest-name replaces dest-server", func(t *testing.T) {
		t.Parallel()
		app := appFixture("a")
		if err := cli.AppApplyFlags(app, "--dest-name", "prod"); err != nil {
			t.Fatal(err)
		}
		if d := app.Spec.Destination; d.Server != "" || d.Name != "prod" {
			t.Errorf("destination %+v", d)
		}
	})
	t.Run("multi-source needs a position", func(t *testing.T) {
		t.Parallel()
		app := appFixture("a")
		app.Spec.Sources = v1alpha1.ApplicationSources{*app.Spec.Source, {RepoURL: "https://charts.example.com", Chart: "redis"}}
		app.Spec.Source = nil
		if err := cli.AppApplyFlags(app, "--helm-set", "a=1"); err == nil || !strings.Contains(err.Error(), "--source-position") {
			t.Fatalf("error %v, want one asking for --source-position", err)
		}
		if err := cli.AppApplyFlags(app, "--helm-set", "a=1", "--source-position", "2"); err != nil {
			t.Fatal(err)
		}
		if h := app.Spec.Sources[1].Helm; h == nil || len(h.Parameters) != 1 || app.Spec.Sources[0].Helm != nil {
			t.Errorf("sources %+v", app.Spec.Sources)
		}
	})
}

func TestAppUnsetFlags(t *testing.T) {
	t.Parallel()
	app := appFixture("a")
	app.Spec.Source.Helm = &v1alpha1.ApplicationSourceHelm{
		Parameters: []v1alpha1.HelmParameter{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}},
		ValueFiles: []string{"v1.yaml", "v2.yaml"}, Values: "x: 1",
	}
	app.Spec.Source.Kustomize = &v1alpha1.ApplicationSourceKustomize{NamePrefix: "p-", Images: v1alpha1.KustomizeImages{"nginx=nginx:1.27"}}
	app.Spec.SyncPolicy.SyncOptions = v1alpha1.SyncOptions{"CreateNamespace=true", "Prune=false"}
	err := cli.AppUnsetFlags(app, "-p", "a", "--values", "v1.yaml", "--values-literal", "--nameprefix", "--kustomize-image", "nginx",
		"--sync-option", "CreateNamespace")
	if err != nil {
		t.Fatal(err)
	}
	wantHelm := &v1alpha1.ApplicationSourceHelm{Parameters: []v1alpha1.HelmParameter{{Name: "b", Value: "2"}}, ValueFiles: []string{"v2.yaml"}}
	if diff := cmp.Diff(wantHelm, app.Spec.Source.Helm); diff != "" {
		t.Errorf("helm (-want +got):\n%s", diff)
	}
	if app.Spec.Source.Kustomize != nil {
		t.Errorf("kustomize %+v, want removed once empty", app.Spec.Source.Kustomize)
	}
	if diff := cmp.Diff(v1alpha1.SyncOptions{"Prune=false"}, app.Spec.SyncPolicy.SyncOptions); diff != "" {
		t.Errorf("sync options (-want +got):\n%s", diff)
	}
}

func TestAppParseManifests(t *testing.T) {
	t.Parallel()
	yamlDocs := `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: one
  resourceVersion: "42"
spec:
  source: {repoURL: ` + appRepo + `, path: one}
  destination: {server: ` + appServer + `, namespace: one}
---
# a comment-only document is skipped
---
{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "two"},
 "spec": {"source": {"repoURL": "` + appRepo + `"}, "destination": {"name": "prod"}}}
---
apiVersion: v1
kind: List
items:
- apiVersion: argoproj.io/v1alpha1
  kind: Application
  metadata: {name: three}
  spec: {source: {repoURL: x}, destination: {name: prod}}
`
	apps, err := cli.AppParseManifests([]byte(yamlDocs))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range apps {
		names = append(names, a.Name)
	}
	if diff := cmp.Diff([]string{"one", "two", "three"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if apps[0].ResourceVersion != "" || apps[0].Spec.Source.Path != "one" {
		t.Errorf("first app %+v: want the spec read and the resourceVersion dropped", apps[0])
	}
	for name, c := range map[string]struct{ doc, want string }{
		"other kind":    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", `kind "ConfigMap" is not Application`},
		"unknown field": {"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x}\nspec: {sourc: {}}\n", `unknown field "sourc"`},
		"no name":       {"apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec: {}\n", "metadata.name is required"},
		"bad yaml":      {"apiVersion: [\n", "document 1"},
	} {
		if _, err := cli.AppParseManifests([]byte(c.doc)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
	}
}

func TestAppSyncRequest(t *testing.T) {
	t.Parallel()
	got, err := cli.AppSyncRequest("--revision", "v2", "--prune", "--dry-run", "--force", "--replace", "--server-side",
		"--apply-out-of-sync-only", "--resource", "apps:Deployment:web", "--resource", ":Service:guestbook/web",
		"--info", "reason=hotfix", "--retry-limit", "2")
	if err != nil {
		t.Fatal(err)
	}
	retry, _ := structpb.NewStruct(map[string]any{"limit": 2, "backoff": map[string]any{"duration": "5s", "maxDuration": "3m", "factor": 2}})
	want := &apiv1.ApplicationServiceSyncRequest{
		Revision: "v2", Prune: true, DryRun: true,
		Strategy:      &apiv1.SyncStrategy{Apply: &apiv1.SyncStrategyApply{Force: true}},
		SyncOptions:   &apiv1.SyncOptions{Items: []string{"Replace=true", "ServerSideApply=true", "ApplyOutOfSyncOnly=true"}},
		Resources:     []*apiv1.SyncResource{{Group: "apps", Kind: "Deployment", Name: "web"}, {Kind: "Service", Namespace: "guestbook", Name: "web"}},
		Infos:         []*apiv1.InfoItem{{Name: "reason", Value: "hotfix"}},
		RetryStrategy: retry,
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	if hook, err := cli.AppSyncRequest("--strategy", "hook"); err != nil || hook.GetStrategy().GetHook() == nil {
		t.Errorf("--strategy hook: %v %v", hook, err)
	}
	for _, bad := range [][]string{{"--strategy", "magic"}, {"--resource", "Deployment"}, {"--info", "x"}} {
		if _, err := cli.AppSyncRequest(bad...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestAppSyncResourceGlobs(t *testing.T) {
	t.Parallel()
	app := appFixture("a")
	app.Status.Resources = append(app.Status.Resources, v1alpha1.ResourceStatus{Kind: "ConfigMap", Namespace: "guestbook", Name: "web-config"})
	cases := map[string]struct {
		values []string
		want   []string
	}{
		"glob by name":      {[]string{"*:*:guestbook-*"}, []string{"Service/guestbook-ui", "Deployment/guestbook-ui"}},
		"exclusion only":    {[]string{"!apps:Deployment:*"}, []string{"Service/guestbook-ui", "ConfigMap/web-config"}},
		"glob minus a kind": {[]string{":*:*", "!:Service:*"}, []string{"ConfigMap/web-config"}},
		"namespace glob":    {[]string{"apps:*:guest*/*"}, []string{"Deployment/guestbook-ui"}},
	}
	for name, c := range cases {
		got, err := cli.AppSyncResources(app, c.values...)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var names []string
		for _, r := range got {
			names = append(names, r.GetKind()+"/"+r.GetName())
		}
		if diff := cmp.Diff(c.want, names); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if _, err := cli.AppSyncResources(app, "x:Nothing:*"); err == nil {
		t.Error("a glob matching nothing: no error")
	}
}

func TestAppWaitConditions(t *testing.T) {
	t.Parallel()
	synced := appFixture("a")
	running := appFixture("a", appOutOfSync)
	running.Operation = &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{}}
	suspended := appFixture("a")
	suspended.Status.Health.Status = v1alpha1.HealthStatusSuspended
	cases := []struct {
		name    string
		app     *v1alpha1.Application
		deleted bool
		flags   []string
		want    []string
	}{
		{"all hold by default", synced, false, nil, nil},
		{"default takes sync, health and operation", running, false, nil,
			[]string{"sync OutOfSync (want Synced)", "health Degraded (want Healthy)", "operation pending (want completed)"}},
		{"health only", running, false, []string{"--health"}, []string{"health Degraded (want Healthy)"}},
		{"degraded counts", running, false, []string{"--health", "--degraded"}, nil},
		{"suspended alone", suspended, false, []string{"--suspended"}, nil},
		{"suspended is not healthy", suspended, false, []string{"--health"}, []string{"health Suspended (want Healthy)"}},
		{"delete waits for deletion", synced, false, []string{"--delete"}, []string{"the application still exists"}},
		{"deleted", synced, true, []string{"--delete"}, nil},
		{"deleted while waiting for health", synced, true, []string{"--health"}, []string{"the application was deleted"}},
	}
	for _, c := range cases {
		got, err := cli.AppWaitMissing(c.app, c.deleted, c.flags...)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestAppUnifiedDiff(t *testing.T) {
	t.Parallel()
	lines := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, "\n")
	}
	cases := []struct {
		name, a, b, want string
	}{
		{"equal", "a\nb", "a\nb", ""},
		{"creation", "", "a\nb", "--- live\n+++ desired\n@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"deletion", "a", "", "--- live\n+++ desired\n@@ -1 +0,0 @@\n-a\n"},
		{"one change with context", "1\n2\n3\n4\n5\n6\n7\n8\n9", "1\n2\n3\n4\nX\n6\n7\n8\n9",
			"--- live\n+++ desired\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+X\n 6\n 7\n 8\n"},
		{"distant changes make two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12", "X\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\nY",
			"--- live\n+++ desired\n@@ -1,4 +1,4 @@\n-1\n+X\n 2\n 3\n 4\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+Y\n"},
		{"near changes share a hunk", "1\n2\n3\n4\n5\n6\n7\n8", "X\n2\n3\n4\n5\n6\n7\nY",
			"--- live\n+++ desired\n@@ -1,8 +1,8 @@\n-1\n+X\n 2\n 3\n 4\n 5\n 6\n 7\n-8\n+Y\n"},
	}
	for _, c := range cases {
		if got := cli.AppUnifiedDiff(lines(c.a), lines(c.b)); got != c.want {
			t.Errorf("%s:\n%s\nwant:\n%s", c.name, got, c.want)
		}
	}
}

func TestAppGolden(t *testing.T) {
	t.Parallel()
	synced := appFixture("guestbook")
	broken := appFixture("guestbook-broken", appOutOfSync)
	helm := appFixture("cache", appHelm)
	running := appFixture("guestbook", appOutOfSync)
	running.Status.OperationState.Phase = v1alpha1.OperationRunning
	running.Status.OperationState.FinishedAt = nil
	running.Status.OperationState.Message = "waiting for healthy state of apps/Deployment guestbook/guestbook-ui"

	appGolden(t, "get.txt", cli.AppRenderGet(synced, false, false, appNow))
	appGolden(t, "get-wide-operation.txt", cli.AppRenderGet(synced, true, true, appNow))
	appGolden(t, "get-outofsync.txt", cli.AppRenderGet(broken, false, true, appNow))
	appGolden(t, "get-running.txt", cli.AppRenderGet(running, false, true, appNow))
	appGolden(t, "list.txt", cli.AppRenderList([]*v1alpha1.Application{helm, synced, broken}, false))
	appGolden(t, "list-wide.txt", cli.AppRenderList([]*v1alpha1.Application{helm, synced, broken}, true))
	appGolden(t, "history.txt", cli.AppRenderHistory(synced, ""))
	appGolden(t, "history-wide.txt", cli.AppRenderHistory(synced, "wide"))
	appGolden(t, "history-id.txt", cli.AppRenderHistory(synced, "id"))

	tree := &apiv1.ApplicationTree{
		Nodes: []*apiv1.ResourceNode{
			{Group: "apps", Kind: "Deployment", Namespace: "guestbook", Name: "guestbook-ui", Uid: "d1", Health: &apiv1.HealthStatus{Status: "Healthy"}},
			{Group: "apps", Kind: "ReplicaSet", Namespace: "guestbook", Name: "guestbook-ui-5d8f", Uid: "r1",
				ParentRefs: []*apiv1.ResourceRef{{Uid: "d1"}}, Health: &apiv1.HealthStatus{Status: "Healthy"}},
			{Kind: "Pod", Namespace: "guestbook", Name: "guestbook-ui-5d8f-a", Uid: "p1", ParentRefs: []*apiv1.ResourceRef{{Uid: "r1"}},
				Health: &apiv1.HealthStatus{Status: "Healthy"}},
			{Kind: "Pod", Namespace: "guestbook", Name: "guestbook-ui-5d8f-b", Uid: "p2", ParentRefs: []*apiv1.ResourceRef{{Uid: "r1"}},
				Health: &apiv1.HealthStatus{Status: "Progressing"}},
			{Kind: "Service", Namespace: "guestbook", Name: "guestbook-ui", Uid: "s1", Health: &apiv1.HealthStatus{Status: "Healthy"}},
		},
		OrphanedNodes: []*apiv1.ResourceNode{{Kind: "ConfigMap", Namespace: "guestbook", Name: "leftover"}},
	}
	appGolden(t, "tree.txt", cli.AppRenderTree(synced, tree))
}

// TestAppProgress feeds the states of one sync to the progress display: off a terminal it prints one line
// per change (and none for a state that only repeats); on a terminal it draws a block.
func TestAppProgress(t *testing.T) {
	t.Parallel()
	pending := appFixture("guestbook", appOutOfSync)
	pending.Operation = &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{Prune: true}}

	started := appFixture("guestbook", appOutOfSync)
	st := started.Status.OperationState
	st.Phase, st.FinishedAt, st.StartedAt = v1alpha1.OperationRunning, nil, appTime(-5*time.Second)
	st.Message = "waiting for completion of hook batch/Job guestbook/migrate"
	st.SyncResult.Resources = []v1alpha1.ResourceResult{{Group: "batch", Kind: "Job", Namespace: "guestbook", Name: "migrate",
		HookType: "PreSync", HookPhase: v1alpha1.OperationRunning, SyncPhase: "PreSync"}}

	waving := started.DeepCopy()
	st = waving.Status.OperationState
	st.Message = "waiting for healthy state of apps/Deployment guestbook/guestbook-ui (Progressing: 1/2 replicas ready)"
	st.SyncResult.Resources = []v1alpha1.ResourceResult{
		{Group: "batch", Kind: "Job", Namespace: "guestbook", Name: "migrate", HookType: "PreSync", HookPhase: v1alpha1.OperationSucceeded, SyncPhase: "PreSync"},
		{Kind: "Service", Namespace: "guestbook", Name: "guestbook-ui", Status: v1alpha1.ResultCodeSynced, Message: "service/guestbook-ui unchanged", SyncPhase: "Sync"},
		{Group: "apps", Kind: "Deployment", Namespace: "guestbook", Name: "guestbook-ui", Status: v1alpha1.ResultCodeSynced, Message: "deployment.apps/guestbook-ui configured", SyncPhase: "Sync"},
	}
	waving.Status.Health.Status = v1alpha1.HealthStatusProgressing

	done := appFixture("guestbook")

	lines := cli.AppProgressLines([]*v1alpha1.Application{pending, pending, started, waving, waving, done}, appNow)
	appGolden(t, "progress-lines.txt", lines)
	if n := strings.Count(lines, "\n"); n != 4 {
		t.Errorf("%d lines, want 4 (one per change):\n%s", n, lines)
	}
	if strings.Contains(lines, "\x1b[") {
		t.Errorf("escape sequences off a terminal:\n%q", lines)
	}
	appGolden(t, "progress-block.txt", cli.AppProgressBlock(waving, appNow, 100))
}

func TestAppServerDiff(t *testing.T) {
	t.Parallel()
	obj := func(replicas int, image string) string {
		b, _ := json.Marshal(map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "web", "namespace": "guestbook"},
			"spec":     map[string]any{"replicas": replicas, "template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": image}}}}}})
		return string(b)
	}
	secret := `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"creds","namespace":"guestbook"},"data":{"password":"++++++++0a1b2c3d4e5f"}}`
	secretDesired := `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"creds","namespace":"guestbook"},"data":{"password":"++++++++9f8e7d6c5b4a"}}`
	cm := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg","namespace":"guestbook"},"data":{"a":"1"}}`
	items := []*apiv1.ResourceDiff{
		{Group: "apps", Kind: "Deployment", Namespace: "guestbook", Name: "web", Modified: true,
			LiveState: obj(1, "web:1"), NormalizedLiveState: obj(1, "web:1"), PredictedLiveState: obj(3, "web:2"), TargetState: obj(3, "web:2")},
		{Kind: "Secret", Namespace: "guestbook", Name: "creds", Modified: true, NormalizedLiveState: secret, PredictedLiveState: secretDesired},
		{Kind: "ConfigMap", Namespace: "guestbook", Name: "cfg", Modified: false, LiveState: cm, NormalizedLiveState: cm, PredictedLiveState: cm},
		{Kind: "ConfigMap", Namespace: "guestbook", Name: "new", Modified: true, TargetState: cm},
		{Kind: "ConfigMap", Namespace: "guestbook", Name: "old", Modified: true, LiveState: cm},
		{Group: "batch", Kind: "Job", Namespace: "guestbook", Name: "hook", Hook: true, Modified: true, TargetState: cm},
	}
	out, n, err := cli.AppServerDiff(items)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("%d resources differ, want 4", n)
	}
	appGolden(t, "diff.txt", out)
	if strings.Contains(out, "hook") {
		t.Errorf("hooks are not diffed:\n%s", out)
	}
}

// TestAppGoldenFilesUsed keeps testdata/golden free of app files no test writes.
func TestAppGoldenFilesUsed(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "app-*"))
	src := ""
	for _, f := range []string{"app_unit_test.go", "app_e2e_test.go"} {
		b, _ := os.ReadFile(f)
		src += string(b)
	}
	for _, f := range files {
		name := strings.TrimPrefix(filepath.Base(f), "app-")
		if !strings.Contains(src, `"`+name+`"`) {
			t.Errorf("%s is not used by any test", f)
		}
	}
}

func TestAppExplainWrappedStatus(t *testing.T) {
	t.Parallel()
	inner := status.Error(codes.FailedPrecondition, "another operation is already in progress")
	msg, code := cli.Explain(fmt.Errorf("sync guestbook: %w", inner))
	if msg != "sync guestbook: another operation is already in progress" || code != cli.ExitAPIError {
		t.Errorf("wrapped: %q %d", msg, code)
	}
	// `app diff` maps every error to 20, keeping the server's message and hint.
	msg, code = cli.Explain(&cli.ExitError{Code: cli.ExitGeneric, Err: status.Error(codes.Unauthenticated, "invalid session")})
	if msg != "invalid session (run 'moor login' or pass --auth-token)" || code != cli.ExitGeneric {
		t.Errorf("under an exit code: %q %d", msg, code)
	}
}
