package server

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/clusters"
	"github.com/moorcd/moor/pkg/rbac"
)

// ClusterServer serves moor.api.v1.ClusterService: cluster Secrets through clusters.Store, plus the
// in-cluster destination, which exists without a Secret unless argocd-cm sets
// cluster.inClusterEnabled: "false". RotateAuth and InvalidateCache answer Unimplemented.
type ClusterServer struct {
	apiv1.UnimplementedClusterServiceServer
	*core
	probes ttlCache[clusterProbe]
}

// keyInClusterEnabled is the argocd-cm key that turns the in-cluster destination off.
const keyInClusterEnabled = "cluster.inClusterEnabled"

func (s *ClusterServer) store() *clusters.Store {
	return clusters.NewStore(s.d.Kube, s.d.Namespace)
}

// clusterObject is the RBAC object of a cluster: "<project>/<server>" when it is project-scoped, else the
// server URL (Argo CD's form).
func clusterObject(c *clusters.Cluster) string {
	if c.Project != "" {
		return c.Project + "/" + c.Server
	}
	return c.Server
}

// clusterStatus maps the errors of clusters to gRPC codes; the rest goes through toStatus.
func (c *core) clusterStatus(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, clusters.ErrInvalidCluster):
		return status.Error(codes.InvalidArgument, oneLine(err))
	case errors.Is(err, clusters.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, clusters.ErrAlreadyExists):
		return status.Error(codes.AlreadyExists, err.Error())
	}
	return toStatus(ctx, c.d.Log, err)
}

func (s *ClusterServer) inClusterEnabled() bool {
	return s.d.Settings == nil || s.d.Settings()[keyInClusterEnabled] != "false"
}

// all returns the stored clusters and, when no Secret names it, the in-cluster destination.
func (s *ClusterServer) all(ctx context.Context) ([]*clusters.Cluster, error) {
	list, err := s.store().List(ctx)
	if err != nil {
		return nil, err
	}
	if !s.inClusterEnabled() {
		return list, nil
	}
	for _, c := range list {
		if c.Server == clusters.InClusterServer {
			return list, nil
		}
	}
	return append([]*clusters.Cluster{clusters.InCluster(nil)}, list...), nil
}

// List returns the clusters the caller may get, without credentials.
func (s *ClusterServer) List(ctx context.Context, req *apiv1.ClusterServiceListRequest) (*apiv1.ClusterServiceListResponse, error) {
	list, err := s.all(ctx)
	if err != nil {
		return nil, s.clusterStatus(ctx, err)
	}
	server, name := req.GetServer(), req.GetName()
	if id := req.GetId(); id.GetValue() != "" {
		if id.GetType() == "name" {
			name = id.GetValue()
		} else {
			server = id.GetValue()
		}
	}
	out := &apiv1.ClusterList{Metadata: &apiv1.ListMeta{}, Items: []*apiv1.Cluster{}}
	var shown []*clusters.Cluster
	for _, c := range list {
		if server != "" && strings.TrimSuffix(server, "/") != c.Server || name != "" && name != c.Name {
			continue
		}
		if !s.allowed(ctx, rbac.ResourceClusters, rbac.ActionGet, clusterObject(c)) {
			continue
		}
		shown = append(shown, c)
		out.Items = append(out.Items, clusterToAPI(c))
	}
	s.withInfo(shown, out.Items)
	return &apiv1.ClusterServiceListResponse{List: out}, nil
}

// find returns the cluster id names (by server unless id.type is "name") and authorizes action on it. A
// missing cluster answers NotFound only to callers who could act on it if it existed.
func (s *ClusterServer) find(ctx context.Context, id *apiv1.ClusterID, server, name, action string) (*clusters.Cluster, error) {
	if id.GetValue() != "" {
		if id.GetType() == "name" {
			server, name = "", id.GetValue()
		} else {
			server, name = id.GetValue(), ""
		}
	}
	if server == "" && name == "" {
		return nil, status.Error(codes.InvalidArgument, "id.value: required")
	}
	list, err := s.all(ctx)
	if err != nil {
		return nil, s.clusterStatus(ctx, err)
	}
	for _, c := range list {
		if server != "" && strings.TrimSuffix(strings.TrimSpace(server), "/") == c.Server || server == "" && name == c.Name {
			if err := s.authorize(ctx, rbac.ResourceClusters, action, clusterObject(c)); err != nil {
				return nil, err
			}
			return c, nil
		}
	}
	object := server
	if object == "" {
		object = name
	}
	if err := s.authorize(ctx, rbac.ResourceClusters, action, object); err != nil {
		return nil, err
	}
	if server != "" {
		return nil, status.Errorf(codes.NotFound, "cluster %q not found", server)
	}
	return nil, status.Errorf(codes.NotFound, "cluster named %q not found", name)
}

// Get returns one cluster, without credentials.
func (s *ClusterServer) Get(ctx context.Context, req *apiv1.ClusterServiceGetRequest) (*apiv1.ClusterServiceGetResponse, error) {
	c, err := s.find(ctx, req.GetId(), req.GetServer(), req.GetName(), rbac.ActionGet)
	if err != nil {
		return nil, err
	}
	out := clusterToAPI(c)
	s.withInfo([]*clusters.Cluster{c}, []*apiv1.Cluster{out})
	return &apiv1.ClusterServiceGetResponse{Cluster: out}, nil
}

// Create stores a cluster; with upsert it replaces an existing one.
func (s *ClusterServer) Create(ctx context.Context, req *apiv1.ClusterServiceCreateRequest) (*apiv1.ClusterServiceCreateResponse, error) {
	c, err := clusterFromAPI(req.GetCluster())
	if err != nil {
		return nil, s.clusterStatus(ctx, err)
	}
	if err := s.authorize(ctx, rbac.ResourceClusters, rbac.ActionCreate, clusterObject(c)); err != nil {
		return nil, err
	}
	if req.GetUpsert() {
		if old, err := s.store().Get(ctx, c.Server); err == nil && old.Project != c.Project {
			if err := s.authorize(ctx, rbac.ResourceClusters, rbac.ActionUpdate, clusterObject(old)); err != nil {
				return nil, err
			}
		}
	}
	created, err := s.store().Create(ctx, c, req.GetUpsert())
	if err != nil {
		return nil, s.clusterStatus(ctx, err)
	}
	return &apiv1.ClusterServiceCreateResponse{Cluster: clusterToAPI(created)}, nil
}

// Update replaces a cluster, or only the fields named in updated_fields (JSON names: name, namespaces,
// config, project, labels, annotations, clusterResources). Updating the in-cluster destination without a
// Secret writes one.
func (s *ClusterServer) Update(ctx context.Context, req *apiv1.ClusterServiceUpdateRequest) (*apiv1.ClusterServiceUpdateResponse, error) {
	id := req.GetId()
	if id.GetValue() == "" {
		id = &apiv1.ClusterID{Value: req.GetCluster().GetServer()}
	}
	old, err := s.find(ctx, id, "", "", rbac.ActionUpdate)
	if err != nil {
		return nil, err
	}
	in, err := clusterFromAPI(req.GetCluster())
	if err != nil {
		return nil, s.clusterStatus(ctx, err)
	}
	next, err := mergeCluster(old, in, req.GetUpdatedFields())
	if err != nil {
		return nil, s.clusterStatus(ctx, err)
	}
	if next.Project != old.Project {
		if err := s.authorize(ctx, rbac.ResourceClusters, rbac.ActionUpdate, clusterObject(next)); err != nil {
			return nil, err
		}
	}
	var updated *clusters.Cluster
	if _, err = s.store().Get(ctx, next.Server); errors.Is(err, clusters.ErrNotFound) && next.Server == clusters.InClusterServer {
		updated, err = s.store().Create(ctx, next, true)
	} else {
		updated, err = s.store().Update(ctx, next)
	}
	if err != nil {
		return nil, s.clusterStatus(ctx, err)
	}
	return &apiv1.ClusterServiceUpdateResponse{Cluster: clusterToAPI(updated)}, nil
}

// mergeCluster is old with in's fields: all of them, or those named in fields. The server never changes.
func mergeCluster(old, in *clusters.Cluster, fields []string) (*clusters.Cluster, error) {
	if len(fields) == 0 {
		next := *in
		next.Server = old.Server
		return &next, nil
	}
	next := clusters.Redacted(old) // a copy; the credentials come back below
	next.Config = old.Config
	for _, f := range fields {
		switch f {
		case "name":
			next.Name = in.Name
		case "namespaces":
			next.Namespaces = in.Namespaces
		case "config":
			next.Config = in.Config
		case "project":
			next.Project = in.Project
		case "labels":
			next.Labels = in.Labels
		case "annotations":
			next.Annotations = in.Annotations
		case "clusterResources":
			next.ClusterResources = in.ClusterResources
		default:
			return nil, &clusters.FieldError{Field: "updatedFields", Reason: "unknown field " + f}
		}
	}
	return next, nil
}

// Delete removes a cluster's Secret.
func (s *ClusterServer) Delete(ctx context.Context, req *apiv1.ClusterServiceDeleteRequest) (*apiv1.ClusterServiceDeleteResponse, error) {
	c, err := s.find(ctx, req.GetId(), req.GetServer(), req.GetName(), rbac.ActionDelete)
	if err != nil {
		return nil, err
	}
	if err := s.store().Delete(ctx, c.Server); err != nil {
		return nil, s.clusterStatus(ctx, err)
	}
	return &apiv1.ClusterServiceDeleteResponse{}, nil
}

// clusterFromAPI reads a request's cluster; settings Moor cannot store are refused rather than dropped.
func clusterFromAPI(in *apiv1.Cluster) (*clusters.Cluster, error) {
	if in == nil {
		return nil, &clusters.FieldError{Field: "server", Reason: "required"}
	}
	var errs []error
	unsupported := func(set bool, field string) {
		if set {
			errs = append(errs, &clusters.FieldError{Field: field, Reason: "not supported by Moor"})
		}
	}
	cfg := in.GetConfig()
	unsupported(cfg.GetAwsAuthConfig() != nil, "config.awsAuthConfig")
	unsupported(cfg.GetExecProviderConfig() != nil, "config.execProviderConfig")
	unsupported(in.Shard != nil, "shard")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	tlsc := cfg.GetTlsClientConfig()
	return &clusters.Cluster{
		Server: strings.TrimSpace(in.GetServer()), Name: strings.TrimSpace(in.GetName()), Namespaces: in.GetNamespaces(),
		ClusterResources: in.GetClusterResources(), Project: in.GetProject(), Labels: in.GetLabels(), Annotations: in.GetAnnotations(),
		Config: clusters.Config{
			Username: cfg.GetUsername(), Password: cfg.GetPassword(), BearerToken: cfg.GetBearerToken(),
			DisableCompression: cfg.GetDisableCompression(), ProxyURL: cfg.GetProxyUrl(),
			TLSClientConfig: clusters.TLSClientConfig{
				Insecure: tlsc.GetInsecure(), ServerName: tlsc.GetServerName(),
				CertData: tlsc.GetCertData(), KeyData: tlsc.GetKeyData(), CAData: tlsc.GetCaData(),
			},
		},
	}, nil
}

// clusterToAPI is the answer for c: Redacted, so no credential leaves the server.
func clusterToAPI(c *clusters.Cluster) *apiv1.Cluster {
	red := clusters.Redacted(c)
	delete(red.Labels, clusters.SecretTypeLabel) // how the Secret is found, not a label of the cluster
	tlsc := red.Config.TLSClientConfig
	return &apiv1.Cluster{
		Server: red.Server, Name: red.Name, Namespaces: red.Namespaces, ClusterResources: red.ClusterResources,
		Project: red.Project, Labels: red.Labels, Annotations: red.Annotations,
		Config: &apiv1.ClusterConfig{
			Username: red.Config.Username, DisableCompression: red.Config.DisableCompression, ProxyUrl: red.Config.ProxyURL,
			TlsClientConfig: &apiv1.TLSClientConfig{
				Insecure: tlsc.Insecure, ServerName: tlsc.ServerName, CertData: tlsc.CertData, CaData: tlsc.CAData,
			},
		},
	}
}
