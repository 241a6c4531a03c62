package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	reposerverv1 "github.com/moorcd/moor/pkg/api/moor/reposerver/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
	"github.com/moorcd/moor/pkg/rbac"
	"github.com/moorcd/moor/pkg/repoclient"
	"github.com/moorcd/moor/pkg/repocreds"
)

// GetManifests renders the application's sources through the repo-server, at the requested revisions or at
// their target revisions. Secret values are masked in the output.
func (s *ApplicationServer) GetManifests(ctx context.Context, req *apiv1.ApplicationServiceGetManifestsRequest) (*apiv1.ApplicationServiceGetManifestsResponse, error) {
	app, err := s.cachedApp(ctx, req.GetName(), req.GetProject(), rbac.ActionGet)
	if err != nil {
		return nil, err
	}
	sources, err := sourcesAt(app, req)
	if err != nil {
		return nil, invalidStatus(err)
	}
	proj, err := s.appProject(projectOf(app))
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	if s.d.RepoServer == nil || s.d.RepoSecrets == nil {
		return nil, status.Error(codes.Unavailable, "no repo-server is configured on this server")
	}
	secrets, err := s.d.RepoSecrets()
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, fmt.Errorf("list repository secrets: %w", err))
	}
	kubeVersion, apis := s.capabilities(ctx, app)

	refs := map[string]*reposerverv1.RefSource{}
	for _, src := range sources {
		if src.Ref == "" {
			continue
		}
		repo, err := repocreds.Resolve(secrets, src.RepoURL, proj.Name)
		if err != nil {
			return nil, invalidStatus(invalid("spec.sources", "ref source $%s: %v", src.Ref, err))
		}
		refs[src.Ref] = &reposerverv1.RefSource{Repo: repoclient.Repository(repo), Revision: src.TargetRevision}
	}
	out := &apiv1.ApplicationServiceGetManifestsResponse{Namespace: app.Spec.Destination.Namespace, Server: app.Spec.Destination.Server}
	for i, src := range sources {
		if src.Ref != "" && src.Path == "" && src.Chart == "" {
			continue // only supplies files to other sources
		}
		repo, err := repocreds.Resolve(secrets, src.RepoURL, proj.Name)
		if err != nil {
			return nil, invalidStatus(invalid("spec.source", "source %d (%s): %v", i+1, src.RepoURL, err))
		}
		srcStruct, err := kubeproto.ToStruct(src)
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		resp, err := s.d.RepoServer.GenerateManifests(ctx, &reposerverv1.GenerateManifestsRequest{
			Repo: repoclient.Repository(repo), Source: srcStruct, Revision: src.TargetRevision, RefSources: refs,
			AppName: app.Name, Namespace: app.Spec.Destination.Namespace, KubeVersion: kubeVersion, ApiVersions: apis,
			ProjectName: proj.Name, ProjectSourceRepos: proj.Spec.SourceRepos, NoCache: req.GetNoCache(),
		})
		if err != nil {
			return nil, repoServerError(err, fmt.Sprintf("render source %d of %d (%s)", i+1, len(sources), src.RepoURL))
		}
		for _, m := range resp.GetManifests() {
			masked, err := s.maskManifest(m)
			if err != nil {
				return nil, toStatus(ctx, s.d.Log, fmt.Errorf("source %d: %w", i+1, err))
			}
			out.Manifests = append(out.Manifests, masked)
		}
		out.Revision, out.SourceType = resp.GetRevision(), resp.GetSourceType()
	}
	return out, nil
}

// sourcesAt returns copies of the app's sources with the request's revisions applied.
func sourcesAt(app *v1alpha1.Application, req *apiv1.ApplicationServiceGetManifestsRequest) ([]v1alpha1.ApplicationSource, error) {
	var sources []v1alpha1.ApplicationSource
	for _, src := range app.Spec.GetSources() {
		sources = append(sources, *src.DeepCopy())
	}
	if len(sources) == 0 {
		return nil, invalid("spec.source", "the application has no source")
	}
	if rev := req.GetRevision(); rev != "" {
		if len(sources) > 1 {
			return nil, invalid("revision", "the application has several sources: use sourcePositions and revisions")
		}
		sources[0].TargetRevision = rev
	}
	revs, positions := req.GetRevisions(), req.GetSourcePositions()
	if len(revs) != len(positions) {
		return nil, invalid("sourcePositions", "give one position per revision")
	}
	for i, pos := range positions {
		if pos < 1 || int(pos) > len(sources) {
			return nil, invalid("sourcePositions", "position %d is not between 1 and %d", pos, len(sources))
		}
		sources[pos-1].TargetRevision = revs[i]
	}
	return sources, nil
}

// capabilities returns the destination's Kubernetes version and APIs (as the controller passes them to
// Helm), or nothing when the cluster cannot be asked: the render then goes on without them.
func (s *ApplicationServer) capabilities(ctx context.Context, app *v1alpha1.Application) (string, []string) {
	d, err := s.destinationOf(app)
	if err != nil {
		return "", nil
	}
	disco := d.kube.Discovery()
	ver, err := disco.ServerVersion()
	if err != nil {
		s.d.Log.WarnContext(ctx, "destination version unknown; rendering without capabilities", "app", app.Name, "error", err)
		return "", nil
	}
	var apis []string
	if _, lists, err := disco.ServerGroupsAndResources(); err == nil {
		for _, l := range lists {
			apis = append(apis, l.GroupVersion)
			for _, res := range l.APIResources {
				if !strings.Contains(res.Name, "/") {
					apis = append(apis, l.GroupVersion+"/"+res.Kind)
				}
			}
		}
	}
	return strings.TrimPrefix(ver.GitVersion, "v"), apis
}

// maskManifest masks the values of a rendered Secret; other manifests pass unchanged.
func (s *ApplicationServer) maskManifest(m string) (string, error) {
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal([]byte(m), &u.Object); err != nil {
		return "", fmt.Errorf("decode rendered manifest: %w", err)
	}
	if u.GroupVersionKind().Group != "" || u.GetKind() != "Secret" {
		return m, nil
	}
	return s.manifestOf(u)
}

// repoServerError keeps the repo-server's code and says which step failed; an unreachable repo-server is
// Unavailable with a message that says so.
func repoServerError(err error, step string) error {
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unavailable:
		return status.Errorf(codes.Unavailable, "repo-server unavailable: %s: %s", step, st.Message())
	case codes.Unknown:
		return status.Errorf(codes.Internal, "%s: %s", step, st.Message())
	case codes.DeadlineExceeded:
		return status.Errorf(codes.DeadlineExceeded, "repo-server did not answer in time: %s", step)
	}
	return status.Errorf(st.Code(), "%s: %s", step, st.Message())
}

// RevisionMetadata returns the author, date, tags and message of a commit of one of the app's Git sources
// (of a past deployment with versionId), with the result of the signature check against the project's keys.
func (s *ApplicationServer) RevisionMetadata(ctx context.Context, req *apiv1.ApplicationServiceRevisionMetadataRequest) (*apiv1.ApplicationServiceRevisionMetadataResponse, error) {
	app, err := s.cachedApp(ctx, req.GetName(), req.GetProject(), rbac.ActionGet)
	if err != nil {
		return nil, err
	}
	if req.GetRevision() == "" {
		return nil, invalidStatus(invalid("revision", "must not be empty"))
	}
	sources := app.Spec.GetSources()
	if req.VersionId != nil {
		found := false
		for _, h := range app.Status.History {
			if h.ID == int64(req.GetVersionId()) {
				sources, found = h.Sources, true
				if h.Source != nil && len(h.Sources) == 0 {
					sources = v1alpha1.ApplicationSources{*h.Source}
				}
				break
			}
		}
		if !found {
			return nil, invalidStatus(invalid("versionId", "no history entry %d", req.GetVersionId()))
		}
	}
	idx := int(req.GetSourceIndex())
	if idx < 0 || idx >= len(sources) {
		return nil, invalidStatus(invalid("sourceIndex", "the application has %d source(s)", len(sources)))
	}
	src := sources[idx]
	if src.Chart != "" {
		return nil, invalidStatus(invalid("sourceIndex", "source %d is a Helm chart: use RevisionChartDetails", idx))
	}
	proj, err := s.appProject(projectOf(app))
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	if s.d.RepoServer == nil || s.d.RepoSecrets == nil {
		return nil, status.Error(codes.Unavailable, "no repo-server is configured on this server")
	}
	secrets, err := s.d.RepoSecrets()
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, fmt.Errorf("list repository secrets: %w", err))
	}
	repo, err := repocreds.Resolve(secrets, src.RepoURL, proj.Name)
	if err != nil {
		return nil, invalidStatus(invalid("sourceIndex", "source %d (%s): %v", idx, src.RepoURL, err))
	}
	if repo.Type != "" && repo.Type != "git" {
		return nil, invalidStatus(invalid("sourceIndex", "source %d is a %s repository, not Git", idx, repo.Type))
	}
	wire := repoclient.Repository(repo)
	// The repo-server reads metadata of commits: resolve a branch or tag first.
	res, err := s.d.RepoServer.ResolveRevision(ctx, &reposerverv1.ResolveRevisionRequest{Repo: wire, Revision: req.GetRevision()})
	if err != nil {
		return nil, repoServerError(err, fmt.Sprintf("resolve revision %q of %s", req.GetRevision(), src.RepoURL))
	}
	var keys []string
	for _, k := range proj.Spec.SignatureKeys {
		keys = append(keys, k.KeyID)
	}
	mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	md, err := s.d.RepoServer.RPC().GetRevisionMetadata(mctx, &reposerverv1.GetRevisionMetadataRequest{
		Repo: wire, Revision: res.GetRevision(), SignatureKeyIds: keys})
	if err != nil {
		return nil, repoServerError(err, fmt.Sprintf("read commit %s of %s", res.GetRevision(), src.RepoURL))
	}
	out := &apiv1.ApplicationServiceRevisionMetadataResponse{
		Author: md.GetAuthor(), Tags: md.GetTags(), Message: md.GetMessage(), SignatureInfo: signatureInfo(md.GetSignature()),
	}
	if md.GetDate() != nil {
		out.Date = md.GetDate().AsTime().UTC().Format(time.RFC3339)
	}
	return out, nil
}

// signatureInfo words the result of a signature check; empty for an unsigned commit.
func signatureInfo(sig *reposerverv1.Signature) string {
	switch {
	case sig == nil || !sig.GetSigned():
		return ""
	case sig.GetVerified():
		return fmt.Sprintf("Valid signature from %s, key %s", sig.GetSigner(), sig.GetKeyId())
	case sig.GetMessage() != "":
		return "Signature not verified: " + sig.GetMessage()
	}
	return fmt.Sprintf("Signed with key %s, not verified", sig.GetKeyId())
}
