package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/util/retry"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
	"github.com/moorcd/moor/pkg/project"
	"github.com/moorcd/moor/pkg/rbac"
	"github.com/moorcd/moor/pkg/session"
	"github.com/moorcd/moor/services/apiserver/auth"
)

// ProjectServer implements moor.api.v1.ProjectService.
type ProjectServer struct {
	apiv1.UnimplementedProjectServiceServer
	*core
}

// List returns the projects the caller may get.
func (s *ProjectServer) List(ctx context.Context, req *apiv1.ProjectServiceListRequest) (*apiv1.ProjectServiceListResponse, error) {
	projects, err := s.d.Projects.List(labels.Everything())
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	slices.SortFunc(projects, func(a, b *v1alpha1.AppProject) int { return strings.Compare(a.Name, b.Name) })
	items := make([]*apiv1.AppProject, 0, len(projects))
	for _, p := range projects {
		if req.GetName() != "" && p.Name != req.GetName() || !s.allowed(ctx, rbac.ResourceProjects, rbac.ActionGet, p.Name) {
			continue
		}
		msg, err := projectMessage(p)
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		items = append(items, msg)
	}
	return &apiv1.ProjectServiceListResponse{List: &apiv1.AppProjectList{
		ApiVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "AppProjectList", Metadata: &apiv1.ListMeta{}, Items: items,
	}}, nil
}

// Get returns one project.
func (s *ProjectServer) Get(ctx context.Context, req *apiv1.ProjectServiceGetRequest) (*apiv1.ProjectServiceGetResponse, error) {
	if err := s.authorize(ctx, rbac.ResourceProjects, rbac.ActionGet, req.GetName()); err != nil {
		return nil, err
	}
	// From the API server, not the informer cache: a Get right after a write must see it.
	p, err := s.d.Client.ArgoprojV1alpha1().AppProjects(s.d.Namespace).Get(ctx, req.GetName(), getOpts)
	if apierrors.IsNotFound(err) {
		return nil, status.Errorf(codes.NotFound, "project %q not found", req.GetName())
	}
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	msg, err := projectMessage(p)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.ProjectServiceGetResponse{Project: msg}, nil
}

// Create creates a project; with upsert it replaces an existing one (which then needs projects update). An
// existing project with the same spec is answered as created, as in Argo CD.
func (s *ProjectServer) Create(ctx context.Context, req *apiv1.ProjectServiceCreateRequest) (*apiv1.ProjectServiceCreateResponse, error) {
	p, err := projectFromRequest(req.GetProject())
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	if err := s.authorize(ctx, rbac.ResourceProjects, rbac.ActionCreate, p.Name); err != nil {
		return nil, err
	}
	if err := validateProject(p); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	// Token records are written only by CreateToken and DeleteToken.
	p.Status = v1alpha1.AppProjectStatus{}
	for i := range p.Spec.Roles {
		p.Spec.Roles[i].JWTTokens = nil
	}
	p.ResourceVersion = ""
	projects := s.d.Client.ArgoprojV1alpha1().AppProjects(s.d.Namespace)
	created, err := projects.Create(ctx, p, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = s.createExisting(ctx, p, req.GetUpsert())
	}
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	msg, err := projectMessage(created)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.ProjectServiceCreateResponse{Project: msg}, nil
}

// createExisting answers a Create of a project that exists: the existing one when the specs match, else an
// update when upsert is set (keeping the issued tokens), else AlreadyExists.
func (s *ProjectServer) createExisting(ctx context.Context, p *v1alpha1.AppProject, upsert bool) (*v1alpha1.AppProject, error) {
	projects := s.d.Client.ArgoprojV1alpha1().AppProjects(s.d.Namespace)
	var out *v1alpha1.AppProject
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := projects.Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		next := cur.DeepCopy()
		next.Spec = *p.Spec.DeepCopy()
		keepTokens(next, cur)
		if equalJSON(next.Spec, cur.Spec) {
			out = cur
			return nil
		}
		if !upsert {
			return status.Errorf(codes.AlreadyExists, "project %q exists with a different spec; use upsert to replace it", p.Name)
		}
		if err := s.authorize(ctx, rbac.ResourceProjects, rbac.ActionUpdate, p.Name); err != nil {
			return err
		}
		next.Labels, next.Annotations = p.Labels, p.Annotations
		out, err = projects.Update(ctx, next, metav1.UpdateOptions{})
		return err
	})
	return out, err
}

// Update replaces a project's spec, labels and annotations. The token records of roles that remain are kept
// from the stored project, whatever the request says, so an update can neither forge nor revive a token.
func (s *ProjectServer) Update(ctx context.Context, req *apiv1.ProjectServiceUpdateRequest) (*apiv1.ProjectServiceUpdateResponse, error) {
	p, err := projectFromRequest(req.GetProject())
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	if err := s.authorize(ctx, rbac.ResourceProjects, rbac.ActionUpdate, p.Name); err != nil {
		return nil, err
	}
	if err := validateProject(p); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	projects := s.d.Client.ArgoprojV1alpha1().AppProjects(s.d.Namespace)
	cur, err := projects.Get(ctx, p.Name, metav1.GetOptions{})
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	next := cur.DeepCopy()
	next.Spec, next.Labels, next.Annotations = p.Spec, p.Labels, p.Annotations
	if p.ResourceVersion != "" {
		// The caller's view decides: a concurrent change answers Aborted (409) rather than being overwritten.
		next.ResourceVersion = p.ResourceVersion
	}
	keepTokens(next, cur)
	updated, err := projects.Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	msg, err := projectMessage(updated)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.ProjectServiceUpdateResponse{Project: msg}, nil
}

// Delete deletes a project no application uses.
func (s *ProjectServer) Delete(ctx context.Context, req *apiv1.ProjectServiceDeleteRequest) (*apiv1.ProjectServiceDeleteResponse, error) {
	name := req.GetName()
	if err := s.authorize(ctx, rbac.ResourceProjects, rbac.ActionDelete, name); err != nil {
		return nil, err
	}
	apps, err := s.d.Apps.List(labels.Everything())
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	used := 0
	for _, a := range apps {
		if projectOf(a) == name {
			used++
		}
	}
	if used > 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "project %q is used by %d application(s); delete or move them first", name, used)
	}
	err = s.d.Client.ArgoprojV1alpha1().AppProjects(s.d.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil, status.Errorf(codes.NotFound, "project %q not found", name)
	}
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	return &apiv1.ProjectServiceDeleteResponse{}, nil
}

// GetSyncWindowsState returns the project's sync windows that are active now.
func (s *ProjectServer) GetSyncWindowsState(ctx context.Context, req *apiv1.ProjectServiceGetSyncWindowsStateRequest) (*apiv1.ProjectServiceGetSyncWindowsStateResponse, error) {
	if err := s.authorize(ctx, rbac.ResourceProjects, rbac.ActionGet, req.GetName()); err != nil {
		return nil, err
	}
	p, err := s.appProject(req.GetName())
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	now := time.Now()
	out := &apiv1.ProjectServiceGetSyncWindowsStateResponse{}
	for _, w := range p.Spec.SyncWindows {
		active, _, err := project.WindowActive(w, now)
		if err != nil || !active {
			continue
		}
		st, err := windowStruct(w)
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		out.Windows = append(out.Windows, st)
	}
	return out, nil
}

// CreateToken issues a JWT for a project role (subject proj:<project>:<role>) and records its iat, exp and
// id in the role and in status.jwtTokensByRole, where revocation looks for it.
func (s *ProjectServer) CreateToken(ctx context.Context, req *apiv1.ProjectServiceCreateTokenRequest) (*apiv1.ProjectServiceCreateTokenResponse, error) {
	projName, roleName := req.GetProject(), req.GetRole()
	if err := s.authorize(ctx, rbac.ResourceProjects, rbac.ActionUpdate, projName); err != nil {
		return nil, err
	}
	if req.GetExpiresIn() < 0 {
		return nil, toStatus(ctx, s.d.Log, invalid("expiresIn", "must not be negative, got %d", req.GetExpiresIn()))
	}
	id := req.GetId()
	if id == "" {
		id = rand.Text()
	}
	projects := s.d.Client.ArgoprojV1alpha1().AppProjects(s.d.Namespace)
	cur, err := projects.Get(ctx, projName, metav1.GetOptions{})
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	if i := roleIndex(cur, roleName); i < 0 {
		return nil, status.Errorf(codes.NotFound, "project %q has no role %q", projName, roleName)
	} else if slices.ContainsFunc(cur.Spec.Roles[i].JWTTokens, func(t v1alpha1.JWTToken) bool { return t.ID == id }) {
		return nil, status.Errorf(codes.AlreadyExists, "role %q of project %q already has a token with id %q", roleName, projName, id)
	}
	token, err := s.d.Sessions.Sign(ctx, rbac.ProjectRoleSubject(projName, roleName), time.Duration(req.GetExpiresIn())*time.Second, id)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	rec, err := tokenRecord(token)
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	err = s.updateProject(ctx, projName, func(p *v1alpha1.AppProject) error {
		i := roleIndex(p, roleName)
		if i < 0 {
			return status.Errorf(codes.NotFound, "project %q has no role %q", projName, roleName)
		}
		p.Spec.Roles[i].JWTTokens = append(p.Spec.Roles[i].JWTTokens, rec)
		if p.Status.JWTTokensByRole == nil {
			p.Status.JWTTokensByRole = map[string]v1alpha1.JWTTokens{}
		}
		list := p.Status.JWTTokensByRole[roleName]
		list.Items = append(list.Items, rec)
		p.Status.JWTTokensByRole[roleName] = list
		return nil
	})
	if err != nil {
		// The token is not listed, so a revocation-checking verifier refuses it.
		return nil, toStatus(ctx, s.d.Log, err)
	}
	s.d.Log.InfoContext(ctx, "project token created", "project", projName, "role", roleName, "id", id)
	return &apiv1.ProjectServiceCreateTokenResponse{Token: token}, nil
}

// DeleteToken revokes a project role token: by id when given, else by iat.
func (s *ProjectServer) DeleteToken(ctx context.Context, req *apiv1.ProjectServiceDeleteTokenRequest) (*apiv1.ProjectServiceDeleteTokenResponse, error) {
	projName, roleName := req.GetProject(), req.GetRole()
	if err := s.authorize(ctx, rbac.ResourceProjects, rbac.ActionUpdate, projName); err != nil {
		return nil, err
	}
	if req.GetId() == "" && req.GetIat() == 0 {
		return nil, toStatus(ctx, s.d.Log, invalid("iat", "give the token's iat or id"))
	}
	match := func(t v1alpha1.JWTToken) bool {
		if req.GetId() != "" {
			return t.ID == req.GetId()
		}
		return t.IssuedAt == req.GetIat()
	}
	err := s.updateProject(ctx, projName, func(p *v1alpha1.AppProject) error {
		i := roleIndex(p, roleName)
		if i < 0 {
			return status.Errorf(codes.NotFound, "project %q has no role %q", projName, roleName)
		}
		before := len(p.Spec.Roles[i].JWTTokens)
		p.Spec.Roles[i].JWTTokens = slices.DeleteFunc(p.Spec.Roles[i].JWTTokens, match)
		removed := before != len(p.Spec.Roles[i].JWTTokens)
		if list, ok := p.Status.JWTTokensByRole[roleName]; ok {
			before := len(list.Items)
			list.Items = slices.DeleteFunc(list.Items, match)
			removed = removed || before != len(list.Items)
			p.Status.JWTTokensByRole[roleName] = list
		}
		if !removed {
			return status.Errorf(codes.NotFound, "role %q of project %q has no such token", roleName, projName)
		}
		return nil
	})
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	s.d.Log.InfoContext(ctx, "project token deleted", "project", projName, "role", roleName)
	return &apiv1.ProjectServiceDeleteTokenResponse{}, nil
}

// updateProject reads the project fresh, applies change and writes it, retrying lost races.
func (s *ProjectServer) updateProject(ctx context.Context, name string, change func(*v1alpha1.AppProject) error) error {
	projects := s.d.Client.ArgoprojV1alpha1().AppProjects(s.d.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := projects.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		next := cur.DeepCopy()
		if err := change(next); err != nil {
			return err
		}
		_, err = projects.Update(ctx, next, metav1.UpdateOptions{})
		return err
	})
}

// ProjectGetter finds a project by name; the AppProject lister is one.
type ProjectGetter interface {
	Get(name string) (*v1alpha1.AppProject, error)
}

// ProjectTokenValid reports whether the project role token with claims is still listed by its project: the
// project and role exist and the role's records (status.jwtTokensByRole or the role's jwtTokens) hold the
// token's id or, for a token without one, its iat. Deleting the record revokes the token.
func ProjectTokenValid(projects ProjectGetter, claims *session.Claims) bool {
	rest, ok := strings.CutPrefix(claims.Subject, session.ProjectSubjectPrefix)
	if !ok {
		return false
	}
	projName, roleName, ok := strings.Cut(rest, ":")
	if !ok || claims.IssuedAt == nil {
		return false
	}
	p, err := projects.Get(projName)
	if err != nil {
		return false
	}
	i := roleIndex(p, roleName)
	if i < 0 {
		return false
	}
	match := func(t v1alpha1.JWTToken) bool {
		if claims.ID != "" {
			return t.ID == claims.ID
		}
		return t.ID == "" && t.IssuedAt == claims.IssuedAt.Unix()
	}
	return slices.ContainsFunc(p.Status.JWTTokensByRole[roleName].Items, match) ||
		slices.ContainsFunc(p.Spec.Roles[i].JWTTokens, match)
}

// ProjectTokenVerifier is a Verifier that also refuses project role tokens their project no longer lists.
// Other tokens are left to the wrapped Verifier.
type ProjectTokenVerifier struct {
	auth.Verifier
	Projects ProjectGetter
}

var _ auth.Verifier = (*ProjectTokenVerifier)(nil)

// Verify verifies token with the wrapped Verifier, then checks a project token's record.
func (v *ProjectTokenVerifier) Verify(ctx context.Context, token string) (*session.Claims, error) {
	claims, err := v.Verifier.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(claims.Subject, session.ProjectSubjectPrefix) && !ProjectTokenValid(v.Projects, claims) {
		return nil, fmt.Errorf("%w: the project token was revoked", session.ErrInvalidToken)
	}
	return claims, nil
}

// tokenRecord reads iat, exp and jti of a token this server just signed.
func tokenRecord(token string) (v1alpha1.JWTToken, error) {
	claims := &session.Claims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		return v1alpha1.JWTToken{}, fmt.Errorf("read signed token: %w", err)
	}
	rec := v1alpha1.JWTToken{ID: claims.ID}
	if claims.IssuedAt != nil {
		rec.IssuedAt = claims.IssuedAt.Unix()
	}
	if claims.ExpiresAt != nil {
		rec.ExpiresAt = claims.ExpiresAt.Unix()
	}
	return rec, nil
}

func roleIndex(p *v1alpha1.AppProject, role string) int {
	return slices.IndexFunc(p.Spec.Roles, func(r v1alpha1.ProjectRole) bool { return r.Name == role })
}

// keepTokens copies the token records of cur's roles into next's roles of the same name, and keeps cur's
// status records of the roles next still has.
func keepTokens(next, cur *v1alpha1.AppProject) {
	for i := range next.Spec.Roles {
		next.Spec.Roles[i].JWTTokens = nil
		if j := roleIndex(cur, next.Spec.Roles[i].Name); j >= 0 {
			next.Spec.Roles[i].JWTTokens = slices.Clone(cur.Spec.Roles[j].JWTTokens)
		}
	}
	next.Status = v1alpha1.AppProjectStatus{}
	for role, list := range cur.Status.JWTTokensByRole {
		if roleIndex(next, role) < 0 {
			continue
		}
		if next.Status.JWTTokensByRole == nil {
			next.Status.JWTTokensByRole = map[string]v1alpha1.JWTTokens{}
		}
		next.Status.JWTTokensByRole[role] = v1alpha1.JWTTokens{Items: slices.Clone(list.Items)}
	}
}

func projectFromRequest(msg *apiv1.AppProject) (*v1alpha1.AppProject, error) {
	if msg == nil {
		return nil, invalid("project", "is required")
	}
	p := &v1alpha1.AppProject{}
	if err := kubeproto.FromEnvelope(msg, p); err != nil {
		return nil, invalid("project", "is not an AppProject: %v", err)
	}
	p.Namespace = ""
	return p, nil
}

// validateProject reports the first field of p that is wrong, by name.
func validateProject(p *v1alpha1.AppProject) error {
	if p.Name == "" {
		return invalid("metadata.name", "is required")
	}
	if msgs := validation.IsDNS1123Subdomain(p.Name); len(msgs) > 0 {
		return invalid("metadata.name", "%s", strings.Join(msgs, "; "))
	}
	for i, r := range p.Spec.SourceRepos {
		if strings.TrimSpace(r) == "" {
			return invalid(fmt.Sprintf("spec.sourceRepos[%d]", i), "must not be empty")
		}
	}
	for i, d := range p.Spec.Destinations {
		if strings.TrimSpace(d.Server) == "" && strings.TrimSpace(d.Name) == "" {
			return invalid(fmt.Sprintf("spec.destinations[%d]", i), "needs a server or a name")
		}
	}
	if err := rbac.ValidateProjectRoles(p); err != nil {
		return invalid("spec.roles", "%s", oneLineErr(err))
	}
	if err := project.ValidateSyncWindows(p.Spec.SyncWindows); err != nil {
		return invalid("spec", "%s", oneLineErr(err))
	}
	return nil
}

// oneLineErr joins the messages of a joined error with "; ".
func oneLineErr(err error) string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		msgs := make([]string, 0, len(j.Unwrap()))
		for _, e := range j.Unwrap() {
			msgs = append(msgs, oneLineErr(e))
		}
		return strings.Join(msgs, "; ")
	}
	return err.Error()
}

// equalJSON compares the JSON forms of a and b (struct fields in order, map keys sorted).
func equalJSON(a, b any) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errors.Join(errA, errB) == nil && bytes.Equal(x, y)
}

func projectMessage(p *v1alpha1.AppProject) (*apiv1.AppProject, error) {
	c := *p
	c.APIVersion, c.Kind = v1alpha1.SchemeGroupVersion.String(), "AppProject"
	msg := &apiv1.AppProject{}
	return msg, kubeproto.ToEnvelope(&c, msg)
}
