package server

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/appstate"
	"github.com/moorcd/moor/pkg/client/clientset/versioned"
	listers "github.com/moorcd/moor/pkg/client/listers/application/v1alpha1"
	"github.com/moorcd/moor/pkg/clusters"
	"github.com/moorcd/moor/pkg/project"
	"github.com/moorcd/moor/pkg/rbac"
	"github.com/moorcd/moor/pkg/repoclient"
	"github.com/moorcd/moor/pkg/session"
	"github.com/moorcd/moor/services/apiserver/auth"
)

// RevisionChecker validates that a revision of an application's source resolves; nil skips the check.
type RevisionChecker interface {
	CheckRevision(ctx context.Context, app *v1alpha1.Application, proj *v1alpha1.AppProject, sourceIndex int, revision string) error
}

// Deps are what the handlers read and write.
type Deps struct {
	// Namespace holds Applications, AppProjects and the settings.
	Namespace string
	Client    versioned.Interface
	Kube      kubernetes.Interface
	// AppState holds the resource trees and managed resources the controller publishes.
	AppState appstate.Reader
	Apps     listers.ApplicationNamespaceLister
	Projects listers.AppProjectNamespaceLister
	// AppSets caches the ApplicationSets; nil reads them from the API server.
	AppSets listers.ApplicationSetNamespaceLister
	// Enforcer returns the current RBAC enforcer (rebuilt off the request path when the policy changes).
	Enforcer func() *rbac.Enforcer
	Sessions *session.Manager
	// Accounts is the account store the session manager reads, so password and token changes apply at once.
	Accounts *session.Store
	// Settings returns the data of argocd-cm (nil when it does not exist).
	Settings  func() map[string]string
	Revisions RevisionChecker
	Log       *slog.Logger

	// RepoServer renders manifests and reads commit metadata (GetManifests, RevisionMetadata); nil answers Unavailable.
	RepoServer *repoclient.Client
	// RepoSecrets returns the repository and repo-creds Secrets of the install.
	RepoSecrets func() ([]corev1.Secret, error)
	// Clusters returns the known destination clusters (the in-cluster entry and the cluster Secrets).
	Clusters func() (*clusters.Set, error)
	// Masker masks the values of Secrets shown in responses (a *diff.Differ); nil masks with a constant.
	Masker SecretMasker
}

// core is what every service shares.
type core struct {
	d Deps
}

// authorize returns PermissionDenied unless the caller may act on object of resource.
func (c *core) authorize(ctx context.Context, resource, action, object string) error {
	if c.allowed(ctx, resource, action, object) {
		return nil
	}
	return status.Errorf(codes.PermissionDenied, "permission denied: %s, %s, %s", resource, action, object)
}

func (c *core) allowed(ctx context.Context, resource, action, object string) bool {
	e := c.d.Enforcer()
	return e != nil && e.Enforce(auth.FromContext(ctx).Subjects(), resource, action, object)
}

// projectOf returns the project of app, "default" when spec.project is empty.
func projectOf(app *v1alpha1.Application) string {
	if app.Spec.Project == "" {
		return project.DefaultName
	}
	return app.Spec.Project
}

// appForAction reads the application name fresh from the API server and authorizes action on it. A missing
// app answers NotFound only to callers who could act on it if it existed; others get PermissionDenied, so
// existence does not leak. When wantProject is set the app must belong to it.
func (c *core) appForAction(ctx context.Context, name, wantProject, action string) (*v1alpha1.Application, error) {
	app, err := c.d.Client.ArgoprojV1alpha1().Applications(c.d.Namespace).Get(ctx, name, getOpts)
	return c.checkApp(ctx, app, err, name, wantProject, action)
}

// cachedApp is appForAction over the informer cache. An app the cache does not hold yet (created a moment
// ago) is read from the API server, so a Get right after a Create finds it.
func (c *core) cachedApp(ctx context.Context, name, wantProject, action string) (*v1alpha1.Application, error) {
	app, err := c.d.Apps.Get(name)
	if apierrors.IsNotFound(err) {
		app, err = c.d.Client.ArgoprojV1alpha1().Applications(c.d.Namespace).Get(ctx, name, getOpts)
	}
	return c.checkApp(ctx, app, err, name, wantProject, action)
}

func (c *core) checkApp(ctx context.Context, app *v1alpha1.Application, err error, name, wantProject, action string) (*v1alpha1.Application, error) {
	if apierrors.IsNotFound(err) || err == nil && wantProject != "" && projectOf(app) != wantProject {
		if err := c.authorize(ctx, rbac.ResourceApplications, action, rbac.AppObject(wantProject, name)); err != nil {
			return nil, err
		}
		return nil, status.Errorf(codes.NotFound, "application %q not found", name)
	}
	if err != nil {
		return nil, toStatus(ctx, c.d.Log, err)
	}
	if err := c.authorize(ctx, rbac.ResourceApplications, action, rbac.AppObject(projectOf(app), app.Name)); err != nil {
		return nil, err
	}
	return app, nil
}

// appProject returns the named project; the built-in default when "default" does not exist yet.
func (c *core) appProject(name string) (*v1alpha1.AppProject, error) {
	p, err := c.d.Projects.Get(name)
	if apierrors.IsNotFound(err) && name == project.DefaultName {
		return project.Default(c.d.Namespace), nil
	}
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "argoproj.io", Resource: "appprojects"}, name)
	}
	return p, err
}

// Register registers every service of moor.api.v1 on s: the implemented ones and Unimplemented stubs. It
// returns the application service, whose hottest REST reads RESTReads serves without the gateway.
func Register(s *grpc.Server, d Deps) *ApplicationServer {
	c := &core{d: d}
	apps := &ApplicationServer{core: c}
	apiv1.RegisterApplicationServiceServer(s, apps)
	apiv1.RegisterProjectServiceServer(s, &ProjectServer{core: c})
	apiv1.RegisterSessionServiceServer(s, &SessionServer{core: c})
	apiv1.RegisterSettingsServiceServer(s, &SettingsServer{core: c})
	apiv1.RegisterVersionServiceServer(s, &VersionServer{})
	apiv1.RegisterAccountServiceServer(s, &AccountServer{core: c})
	apiv1.RegisterApplicationSetServiceServer(s, &ApplicationSetServer{core: c})
	apiv1.RegisterClusterServiceServer(s, &ClusterServer{core: c})
	apiv1.RegisterRepositoryServiceServer(s, &RepositoryServer{core: c})
	apiv1.RegisterRepoCredsServiceServer(s, &RepoCredsServer{core: c})
	return apps
}
