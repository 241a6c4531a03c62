package app_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
	"github.com/moorcd/moor/test/kubetest"
)

// appSetOption changes a fixture ApplicationSet.
type appSetOption func(*v1alpha1.ApplicationSet)

func setInProject(p string) appSetOption {
	return func(s *v1alpha1.ApplicationSet) { s.Spec.Template.Spec.Project = p }
}

func setLabels(kv ...string) appSetOption {
	return func(s *v1alpha1.ApplicationSet) {
		s.Labels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			s.Labels[kv[i]] = kv[i+1]
		}
	}
}

func setPath(p string) appSetOption {
	return func(s *v1alpha1.ApplicationSet) { s.Spec.Template.Spec.Source.Path = p }
}

// elements are list generator elements.
func elements(t testing.TB, elems ...map[string]any) []apiextensionsv1.JSON {
	t.Helper()
	out := make([]apiextensionsv1.JSON, 0, len(elems))
	for _, e := range elems {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, apiextensionsv1.JSON{Raw: b})
	}
	return out
}

// newAppSet is a set with one list generator (cluster a and b) rendering "<cluster>-<name>" apps of project
// default.
func newAppSet(t testing.TB, name string, opts ...appSetOption) *v1alpha1.ApplicationSet {
	s := &v1alpha1.ApplicationSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ApplicationSetSpec{
			Generators: []v1alpha1.ApplicationSetGenerator{{List: &v1alpha1.ListGenerator{
				Elements: elements(t, map[string]any{"cluster": "a"}, map[string]any{"cluster": "b"}),
			}}},
			Template: v1alpha1.ApplicationSetTemplate{
				ApplicationSetTemplateMeta: v1alpha1.ApplicationSetTemplateMeta{Name: "{{cluster}}-" + name},
				Spec: v1alpha1.ApplicationSpec{
					Project:     "default",
					Source:      &v1alpha1.ApplicationSource{RepoURL: repoURL, Path: "apps/{{cluster}}", TargetRevision: "HEAD"},
					Destination: v1alpha1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: "{{cluster}}"},
				},
			},
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// appSetJSON is the Kubernetes JSON of a set, as a client sends it.
func appSetJSON(t *testing.T, s *v1alpha1.ApplicationSet) map[string]any {
	t.Helper()
	c := s.DeepCopy()
	c.APIVersion, c.Kind = v1alpha1.SchemeGroupVersion.String(), "ApplicationSet"
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) getAppSet(t *testing.T, name string) (*v1alpha1.ApplicationSet, error) {
	t.Helper()
	return f.client.ArgoprojV1alpha1().ApplicationSets(f.ns).Get(t.Context(), name, metav1.GetOptions{})
}

// appSetSettings are the default settings plus carol's read of team-a sets and dave, who may manage sets
// and apps of team-a only.
func appSetSettings() settings {
	s := defaultSettings()
	s.cm["accounts.dave"] = "login"
	s.rbac["policy.csv"] += "p, carol, applicationsets, get, team-a/*, allow\n" +
		"p, carol, applicationsets, create, team-a/*, allow\n" +
		"p, dave, applicationsets, *, team-a/*, allow\n" +
		"p, dave, applications, *, team-a/*, allow\n"
	return s
}

func TestApplicationSet(t *testing.T) {
	f := start(t, appSetSettings(), false)
	for _, s := range []*v1alpha1.ApplicationSet{
		newAppSet(t, "seed-default", setLabels("tier", "web")),
		newAppSet(t, "seed-team", setInProject("team-a"), setLabels("tier", "db")),
		newAppSet(t, "seed-doomed"),
		newAppSet(t, "seed-tree"),
	} {
		if _, err := f.client.ArgoprojV1alpha1().ApplicationSets(f.ns).Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.app.Store().SetPassword(t.Context(), "dave", userPassword); err != nil {
		t.Fatal(err)
	}
	admin := f.login(t, "admin", f.adminPassword(t))
	alice := f.login(t, "alice", userPassword) // role:readonly
	carol := f.login(t, "carol", userPassword) // gets team-a sets and apps, creates team-a sets, no apps
	dave := f.login(t, "dave", userPassword)   // everything on team-a sets and apps
	sets := apiv1.NewApplicationSetServiceClient(f.conn)
	seedNames := []string{"seed-default", "seed-doomed", "seed-team", "seed-tree"}
	eventually(t, "seed sets listed", func() error {
		_, body, _ := f.do(t, http.MethodGet, "/api/v1/applicationsets", admin, nil)
		if got := appNames(t, body); !slices.Equal(got, seedNames) {
			return fmt.Errorf("listed %v", got)
		}
		return nil
	})

	// Not parallel: the list must not see the sets the parallel subtests create.
	t.Run("list answers the ApplicationSetList JSON in name order, filtered by RBAC, project and selector", func(t *testing.T) {
		for _, tc := range []struct {
			name, token, query string
			want               []string
		}{
			{"admin", admin, "", seedNames},
			{"readonly", alice, "", seedNames},
			{"carol sees team-a only", carol, "", []string{"seed-team"}},
			{"project filter", admin, "?projects=team-a", []string{"seed-team"}},
			{"two projects", admin, "?projects=team-a&projects=default", seedNames},
			{"selector", admin, "?selector=tier%3Dweb", []string{"seed-default"}},
			{"selector in", admin, "?selector=tier+in+(web,db)", []string{"seed-default", "seed-team"}},
		} {
			code, body, _ := f.do(t, http.MethodGet, "/api/v1/applicationsets"+tc.query, tc.token, nil)
			if code != http.StatusOK {
				t.Errorf("%s: %d %s", tc.name, code, body)
				continue
			}
			if got := appNames(t, body); !slices.Equal(got, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}
		_, body, _ := f.do(t, http.MethodGet, "/api/v1/applicationsets", admin, nil)
		var list struct {
			APIVersion, Kind string
			Metadata         *json.RawMessage
			Items            []map[string]any
		}
		if err := json.Unmarshal(body, &list); err != nil || list.Kind != "ApplicationSetList" || list.Metadata == nil ||
			len(list.Items) == 0 || list.Items[0]["kind"] != "ApplicationSet" {
			t.Errorf("list body is not an ApplicationSetList: %v %s", err, body)
		}
		for _, q := range []string{"?selector=tier+in", "?appsetNamespace=elsewhere"} {
			code, body, _ := f.do(t, http.MethodGet, "/api/v1/applicationsets"+q, admin, nil)
			if code != http.StatusBadRequest {
				t.Errorf("list%s: %d %s, want 400", q, code, body)
			}
		}
	})

	t.Run("get answers 404 or 403 without leaking existence", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name, token, set string
			want             int
		}{
			{"admin", admin, "seed-default", http.StatusOK},
			{"readonly", alice, "seed-default", http.StatusOK},
			{"carol allowed", carol, "seed-team", http.StatusOK},
			{"carol forbidden", carol, "seed-default", http.StatusForbidden},
			{"admin missing", admin, "missing", http.StatusNotFound},
			{"carol missing", carol, "missing", http.StatusForbidden},
		} {
			code, body, _ := f.do(t, http.MethodGet, "/api/v1/applicationsets/"+tc.set, tc.token, nil)
			if code != tc.want {
				t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.want)
			}
		}
		_, body, _ := f.do(t, http.MethodGet, "/api/v1/applicationsets/seed-default", carol, nil)
		if !strings.Contains(string(body), "permission denied: applicationsets, get, default/seed-default") {
			t.Errorf("403 body %s does not name resource, action and object", body)
		}
		_, body, _ = f.do(t, http.MethodGet, "/api/v1/applicationsets/seed-default", admin, nil)
		var got v1alpha1.ApplicationSet
		if err := json.Unmarshal(body, &got); err != nil || got.APIVersion != "argoproj.io/v1alpha1" || got.Kind != "ApplicationSet" ||
			got.Spec.Template.Name != "{{cluster}}-seed-default" || len(got.Spec.Generators) != 1 {
			t.Errorf("get body is not the ApplicationSet's Kubernetes JSON: %v %s", err, body)
		}
		resp, err := sets.Get(bearer(t.Context(), alice), &apiv1.ApplicationSetServiceGetRequest{Name: "seed-team"})
		if err != nil || resp.GetApplicationSet().GetMetadata().GetUid() == "" {
			t.Errorf("gRPC get: %v %v", resp, err)
		}
	})

	t.Run("create over REST takes the bare document and ignores status", func(t *testing.T) {
		t.Parallel()
		s := newAppSet(t, "rest-created")
		doc := appSetJSON(t, s)
		doc["status"] = map[string]any{"resourcesCount": 7}
		code, body, _ := f.do(t, http.MethodPost, "/api/v1/applicationsets", admin, doc)
		if code != http.StatusOK {
			t.Fatalf("create: %d %s", code, body)
		}
		var got v1alpha1.ApplicationSet
		if err := json.Unmarshal(body, &got); err != nil || got.Kind != "ApplicationSet" || got.Name != "rest-created" || got.UID == "" {
			t.Errorf("create body is not the ApplicationSet JSON: %v %s", err, body)
		}
		stored, err := f.getAppSet(t, "rest-created")
		if err != nil {
			t.Fatal(err)
		}
		if stored.Status.ResourcesCount != 0 || stored.Spec.Template.Spec.Source.Path != "apps/{{cluster}}" {
			t.Errorf("stored %+v", stored)
		}
		eventually(t, "get of the created set", f.wantCode(t, http.MethodGet, "/api/v1/applicationsets/rest-created", admin, nil, http.StatusOK))
	})

	t.Run("create over gRPC by a team-a user", func(t *testing.T) {
		t.Parallel()
		s := newAppSet(t, "grpc-created", setInProject("team-a"))
		s.APIVersion, s.Kind = v1alpha1.SchemeGroupVersion.String(), "ApplicationSet"
		env := &apiv1.ApplicationSet{}
		if err := kubeproto.ToEnvelope(s, env); err != nil {
			t.Fatal(err)
		}
		resp, err := sets.Create(bearer(t.Context(), dave), &apiv1.ApplicationSetServiceCreateRequest{ApplicationSet: env})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetApplicationSet().GetMetadata().GetName() != "grpc-created" || resp.GetApplicationSet().GetMetadata().GetUid() == "" {
			t.Errorf("create answered %v", resp.GetApplicationSet().GetMetadata())
		}
		if stored, err := f.getAppSet(t, "grpc-created"); err != nil || stored.Spec.Template.Spec.Project != "team-a" {
			t.Errorf("stored %v %v", stored, err)
		}
		// dave may not create a set of project default.
		s.Name, s.Spec.Template.Spec.Project = "dave-default", "default"
		if err := kubeproto.ToEnvelope(s, env); err != nil {
			t.Fatal(err)
		}
		_, err = sets.Create(bearer(t.Context(), dave), &apiv1.ApplicationSetServiceCreateRequest{ApplicationSet: env})
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("dave creates in default: %v, want PermissionDenied", err)
		}
	})

	t.Run("an existing set is 409 unless identical or upserted; dryRun writes nothing", func(t *testing.T) {
		t.Parallel()
		if code, body, _ := f.do(t, http.MethodPost, "/api/v1/applicationsets", admin, appSetJSON(t, newAppSet(t, "upserted"))); code != http.StatusOK {
			t.Fatalf("create: %d %s", code, body)
		}
		if code, body, _ := f.do(t, http.MethodPost, "/api/v1/applicationsets", admin, appSetJSON(t, newAppSet(t, "upserted"))); code != http.StatusOK {
			t.Errorf("identical create: %d %s", code, body)
		}
		changed := appSetJSON(t, newAppSet(t, "upserted", setPath("changed/{{cluster}}")))
		code, body, _ := f.do(t, http.MethodPost, "/api/v1/applicationsets", admin, changed)
		if code != http.StatusConflict || !strings.Contains(string(body), "upsert") {
			t.Errorf("create over a different set: %d %s", code, body)
		}
		code, body, _ = f.do(t, http.MethodPost, "/api/v1/applicationsets?upsert=true&dryRun=true", admin, changed)
		if code != http.StatusOK || !strings.Contains(string(body), "changed/{{cluster}}") {
			t.Errorf("dry-run upsert: %d %s", code, body)
		}
		if s, _ := f.getAppSet(t, "upserted"); s.Spec.Template.Spec.Source.Path != "apps/{{cluster}}" {
			t.Errorf("dry-run upsert stored path %q", s.Spec.Template.Spec.Source.Path)
		}
		if code, body, _ := f.do(t, http.MethodPost, "/api/v1/applicationsets?upsert=true", alice, changed); code != http.StatusForbidden {
			t.Errorf("readonly upsert: %d %s", code, body)
		}
		if code, body, _ := f.do(t, http.MethodPost, "/api/v1/applicationsets?upsert=true", admin, changed); code != http.StatusOK {
			t.Fatalf("upsert: %d %s", code, body)
		}
		if s, _ := f.getAppSet(t, "upserted"); s.Spec.Template.Spec.Source.Path != "changed/{{cluster}}" {
			t.Errorf("upsert left path %q", s.Spec.Template.Spec.Source.Path)
		}
		code, body, _ = f.do(t, http.MethodPost, "/api/v1/applicationsets?dryRun=true", admin, appSetJSON(t, newAppSet(t, "dry-only")))
		if code != http.StatusOK || !strings.Contains(string(body), `"name":"dry-only"`) {
			t.Errorf("dry-run create: %d %s", code, body)
		}
		if _, err := f.getAppSet(t, "dry-only"); !apierrors.IsNotFound(err) {
			t.Errorf("dry-run create stored the set: %v", err)
		}
	})

	t.Run("validation errors are 400 and name the field", func(t *testing.T) {
		t.Parallel()
		noGenerators := appSetJSON(t, newAppSet(t, "bad-generators"))
		delete(noGenerators["spec"].(map[string]any), "generators")
		noTemplate := appSetJSON(t, newAppSet(t, "bad-template"))
		delete(noTemplate["spec"].(map[string]any), "template")
		emptyGenerator := newAppSet(t, "bad-generator")
		emptyGenerator.Spec.Generators = append(emptyGenerator.Spec.Generators, v1alpha1.ApplicationSetGenerator{})
		noAppName := newAppSet(t, "bad-name")
		noAppName.Spec.Template.Name = ""
		for _, tc := range []struct {
			name  string
			doc   map[string]any
			field string
		}{
			{"no generators", noGenerators, "spec.generators"},
			{"no template", noTemplate, "spec.template"},
			{"a generator of no kind", appSetJSON(t, emptyGenerator), "spec.generators[1]"},
			{"no application name", appSetJSON(t, noAppName), "spec.template.metadata.name"},
			{"missing project", appSetJSON(t, newAppSet(t, "bad-project", setInProject("nope"))), "spec.template.spec.project"},
			{"templated project", appSetJSON(t, newAppSet(t, "bad-project", setInProject("{{cluster}}"))), "spec.template.spec.project"},
			{"no name", appSetJSON(t, newAppSet(t, "")), "metadata.name"},
			{"other namespace", appSetJSON(t, newAppSet(t, "bad-ns", func(s *v1alpha1.ApplicationSet) { s.Namespace = "elsewhere" })), "metadata.namespace"},
		} {
			code, body, _ := f.do(t, http.MethodPost, "/api/v1/applicationsets", admin, tc.doc)
			if code != http.StatusBadRequest || !strings.Contains(string(body), tc.field+": ") {
				t.Errorf("%s: %d %s, want 400 naming %s", tc.name, code, body, tc.field)
			}
		}
	})

	t.Run("creating a set needs the right to create its applications", func(t *testing.T) {
		t.Parallel()
		if code, body, _ := f.do(t, http.MethodPost, "/api/v1/applicationsets", alice, appSetJSON(t, newAppSet(t, "by-alice"))); code != http.StatusForbidden {
			t.Errorf("readonly create: %d %s", code, body)
		}
		// carol may create team-a sets but no applications.
		code, body, _ := f.do(t, http.MethodPost, "/api/v1/applicationsets", carol, appSetJSON(t, newAppSet(t, "by-carol", setInProject("team-a"))))
		if code != http.StatusForbidden || !strings.Contains(string(body), "spec.template.spec.project: permission denied: applications, create, team-a/") {
			t.Errorf("carol's create: %d %s", code, body)
		}
		if _, err := f.getAppSet(t, "by-carol"); !apierrors.IsNotFound(err) {
			t.Errorf("carol's set was stored: %v", err)
		}
	})

	t.Run("a template patch needs the right to create applications in every project", func(t *testing.T) {
		t.Parallel()
		patch := "spec:\n  project: default\n"
		withPatch := func(s *v1alpha1.ApplicationSet) { s.Spec.GoTemplate = new(true); s.Spec.TemplatePatch = &patch }
		code, body, _ := f.do(t, http.MethodPost, "/api/v1/applicationsets", carol, appSetJSON(t, newAppSet(t, "patch-by-carol", setInProject("team-a"), withPatch)))
		if code != http.StatusForbidden || !strings.Contains(string(body), "spec.templatePatch: permission denied") {
			t.Errorf("carol's set with a template patch: %d %s", code, body)
		}
		if code, body, _ := f.do(t, http.MethodPost, "/api/v1/applicationsets", admin, appSetJSON(t, newAppSet(t, "patch-by-admin", withPatch))); code != http.StatusOK {
			t.Errorf("admin's set with a template patch: %d %s", code, body)
		}
	})

	t.Run("generate renders the list generator", func(t *testing.T) {
		t.Parallel()
		s := newAppSet(t, "gen")
		s.Spec.Generators = []v1alpha1.ApplicationSetGenerator{
			{List: &v1alpha1.ListGenerator{Elements: elements(t,
				map[string]any{"cluster": "east", "values": map[string]any{"ns": "shop"}},
				map[string]any{"cluster": "west", "values": map[string]any{"ns": "blog"}},
				map[string]any{"cluster": "skipped", "values": map[string]any{"ns": "none"}},
			)}, Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "cluster", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"skipped"}}}}},
			{List: &v1alpha1.ListGenerator{ElementsYaml: "- cluster: north\n  replicas: 3\n",
				Template: &v1alpha1.ApplicationSetGeneratorTemplate{Spec: &v1alpha1.ApplicationSpec{
					Source: &v1alpha1.ApplicationSource{RepoURL: repoURL, Path: "special/{{ cluster }}"}}}}},
		}
		s.Spec.Template.Labels = map[string]string{"cluster": "{{cluster}}"}
		s.Spec.Template.Spec.Destination.Namespace = "{{values.ns}}-{{unknown}}"
		code, body, _ := f.do(t, http.MethodPost, "/api/v1/applicationsets/generate", admin, map[string]any{"applicationSet": appSetJSON(t, s)})
		if code != http.StatusOK {
			t.Fatalf("generate: %d %s", code, body)
		}
		var out struct{ Applications []v1alpha1.Application }
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range out.Applications {
			got = append(got, fmt.Sprintf("%s %s %s %s %s", a.Name, a.Labels["cluster"], a.Namespace, a.Spec.Source.Path, a.Spec.Destination.Namespace))
		}
		want := []string{
			"east-gen east " + f.ns + " apps/east shop-{{unknown}}",
			"west-gen west " + f.ns + " apps/west blog-{{unknown}}",
			"north-gen north " + f.ns + " special/north {{values.ns}}-{{unknown}}",
		}
		if !slices.Equal(got, want) {
			t.Errorf("generated\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if _, err := f.getAppSet(t, "gen"); !apierrors.IsNotFound(err) {
			t.Errorf("generate stored the set: %v", err)
		}

		clusters := newAppSet(t, "gen-clusters")
		clusters.Spec.Generators = []v1alpha1.ApplicationSetGenerator{{Clusters: &v1alpha1.ClusterGenerator{}}}
		code, body, _ = f.do(t, http.MethodPost, "/api/v1/applicationsets/generate", admin, map[string]any{"applicationSet": appSetJSON(t, clusters)})
		if code != http.StatusNotImplemented || !strings.Contains(string(body), "spec.generators[0]: the clusters generator") ||
			!strings.Contains(string(body), "list generator") {
			t.Errorf("generate with a clusters generator: %d %s", code, body)
		}
		if code, body, _ := f.do(t, http.MethodPost, "/api/v1/applicationsets/generate", alice, map[string]any{"applicationSet": appSetJSON(t, s)}); code != http.StatusForbidden {
			t.Errorf("readonly generate: %d %s", code, body)
		}
	})

	t.Run("resource tree lists the applications the set owns", func(t *testing.T) {
		t.Parallel()
		set, err := f.getAppSet(t, "seed-tree")
		if err != nil {
			t.Fatal(err)
		}
		owned := newApp("a-seed-tree")
		owned.OwnerReferences = []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "ApplicationSet", Name: set.Name, UID: set.UID}}
		owned.Status.Health.Status = v1alpha1.HealthStatusHealthy
		owned.Status.Sync.Status = v1alpha1.SyncStatusCodeOutOfSync
		createApps(t, f.client, f.ns, owned, newApp("not-owned"))
		// Status is not a subresource of Application: it was stored with the create.
		var tree struct {
			Nodes []struct {
				Kind, Name, UID, CreatedAt string
				ParentRefs                 []struct{ Kind, Name, UID string }
				Health                     struct{ Status string }
				Info                       []struct{ Name, Value string }
			}
		}
		eventually(t, "the owned app in the tree", func() error {
			code, body, _ := f.do(t, http.MethodGet, "/api/v1/applicationsets/seed-tree/resource-tree", admin, nil)
			if code != http.StatusOK {
				return fmt.Errorf("%d %s", code, body)
			}
			if err := json.Unmarshal(body, &tree); err != nil {
				return err
			}
			if len(tree.Nodes) != 1 {
				return fmt.Errorf("tree %s", body)
			}
			return nil
		})
		n := tree.Nodes[0]
		if n.Kind != "Application" || n.Name != "a-seed-tree" || n.UID == "" || n.CreatedAt == "" || n.Health.Status != "Healthy" ||
			len(n.ParentRefs) != 1 || n.ParentRefs[0].Kind != "ApplicationSet" || n.ParentRefs[0].UID != string(set.UID) ||
			!slices.Contains(n.Info, struct{ Name, Value string }{"Sync Status", "OutOfSync"}) {
			t.Errorf("node %+v", n)
		}
		if code, body, _ := f.do(t, http.MethodGet, "/api/v1/applicationsets/seed-tree/resource-tree", carol, nil); code != http.StatusForbidden {
			t.Errorf("carol's tree of a default set: %d %s", code, body)
		}
		if code, body, _ := f.do(t, http.MethodGet, "/api/v1/applicationsets/missing/resource-tree", admin, nil); code != http.StatusNotFound {
			t.Errorf("tree of a missing set: %d %s", code, body)
		}
	})

	t.Run("events lists the set's events", func(t *testing.T) {
		t.Parallel()
		set, err := f.getAppSet(t, "seed-default")
		if err != nil {
			t.Fatal(err)
		}
		kc := kubetest.Start(t)
		ev := &corev1.Event{
			ObjectMeta: metav1.ObjectMeta{Name: "seed-default.1"},
			InvolvedObject: corev1.ObjectReference{APIVersion: "argoproj.io/v1alpha1", Kind: "ApplicationSet", Namespace: f.ns,
				Name: set.Name, UID: set.UID},
			Reason: "ParametersGenerated", Message: "generated 2 applications", Type: corev1.EventTypeNormal,
		}
		if _, err := kc.Kube.CoreV1().Events(f.ns).Create(t.Context(), ev, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		code, body, _ := f.do(t, http.MethodGet, "/api/v1/applicationsets/seed-default/events", alice, nil)
		var list struct {
			Kind  string
			Items []corev1.Event
		}
		if err := json.Unmarshal(body, &list); code != http.StatusOK || err != nil || list.Kind != "EventList" ||
			len(list.Items) != 1 || list.Items[0].Reason != "ParametersGenerated" {
			t.Errorf("events: %d %s", code, body)
		}
		if code, body, _ := f.do(t, http.MethodGet, "/api/v1/applicationsets/seed-default/events", carol, nil); code != http.StatusForbidden {
			t.Errorf("carol's events of a default set: %d %s", code, body)
		}
	})

	t.Run("watch streams the sets the caller may get", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := contextWithTimeout(t, 30*time.Second)
		defer cancel()
		all, err := sets.Watch(bearer(ctx, admin), &apiv1.ApplicationSetServiceWatchRequest{Selector: "watched=yes"})
		if err != nil {
			t.Fatal(err)
		}
		team, err := sets.Watch(bearer(ctx, carol), &apiv1.ApplicationSetServiceWatchRequest{Selector: "watched=yes"})
		if err != nil {
			t.Fatal(err)
		}
		// Let both streams list (nothing matches yet) before the sets appear.
		time.Sleep(500 * time.Millisecond)
		for _, s := range []*v1alpha1.ApplicationSet{
			newAppSet(t, "watched-default", setLabels("watched", "yes")),
			newAppSet(t, "watched-team", setInProject("team-a"), setLabels("watched", "yes")),
		} {
			if code, body, _ := f.do(t, http.MethodPost, "/api/v1/applicationsets", admin, appSetJSON(t, s)); code != http.StatusOK {
				t.Fatalf("create %s: %d %s", s.Name, code, body)
			}
		}
		recv := func(stream interface {
			Recv() (*apiv1.ApplicationSetServiceWatchResponse, error)
		}) string {
			r, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			return r.GetType() + " " + r.GetApplicationSet().GetMetadata().GetName()
		}
		if got := []string{recv(all), recv(all)}; !slices.Equal(got, []string{"ADDED watched-default", "ADDED watched-team"}) {
			t.Errorf("admin's events %v", got)
		}
		if got := recv(team); got != "ADDED watched-team" {
			t.Errorf("carol's first event %q, want ADDED watched-team", got)
		}
		if code, body, _ := f.do(t, http.MethodDelete, "/api/v1/applicationsets/watched-default", admin, nil); code != http.StatusOK {
			t.Fatalf("delete: %d %s", code, body)
		}
		if got := recv(all); got != "DELETED watched-default" {
			t.Errorf("admin's event after delete %q", got)
		}

		// REST: newline-delimited {"result": {...}} chunks, the current sets first.
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.base+"/api/v1/stream/applicationsets?name=seed-team", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+carol)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		line, err := bufio.NewReader(resp.Body).ReadBytes('\n')
		if err != nil {
			t.Fatal(err)
		}
		var chunk struct {
			Result struct {
				Type           string
				ApplicationSet struct {
					Kind     string
					Metadata struct{ Name string }
				}
			}
		}
		if err := json.Unmarshal(line, &chunk); err != nil || chunk.Result.Type != "ADDED" ||
			chunk.Result.ApplicationSet.Metadata.Name != "seed-team" || chunk.Result.ApplicationSet.Kind != "ApplicationSet" {
			t.Errorf("first line %s (%v)", line, err)
		}
	})

	t.Run("delete needs delete and takes the owned applications along", func(t *testing.T) {
		t.Parallel()
		set, err := f.getAppSet(t, "seed-doomed")
		if err != nil {
			t.Fatal(err)
		}
		owned := newApp("a-seed-doomed")
		owned.OwnerReferences = []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "ApplicationSet", Name: set.Name, UID: set.UID}}
		createApps(t, f.client, f.ns, owned)
		if code, body, _ := f.do(t, http.MethodDelete, "/api/v1/applicationsets/seed-doomed", alice, nil); code != http.StatusForbidden {
			t.Errorf("readonly delete: %d %s", code, body)
		}
		if code, body, _ := f.do(t, http.MethodDelete, "/api/v1/applicationsets/missing", admin, nil); code != http.StatusNotFound {
			t.Errorf("delete of a missing set: %d %s", code, body)
		}
		_, err = sets.Delete(bearer(t.Context(), admin), &apiv1.ApplicationSetServiceDeleteRequest{Name: "seed-doomed"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.getAppSet(t, "seed-doomed"); !apierrors.IsNotFound(err) {
			t.Errorf("set after delete: %v", err)
		}
		eventually(t, "the garbage collector deletes the owned app", func() error {
			_, err := f.client.ArgoprojV1alpha1().Applications(f.ns).Get(t.Context(), "a-seed-doomed", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return errors.New("owned application still there")
		})
	})
}
