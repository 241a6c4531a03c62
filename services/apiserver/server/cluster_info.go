package server

import (
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/clusters"
)

// Cluster info (connection state, server version, application count) is probed by the api-server itself,
// at most once a minute per cluster and within a few seconds, so `cluster list` shows which clusters answer.
const (
	clusterProbeTTL     = time.Minute
	clusterProbeTimeout = 3 * time.Second
	clusterProbes       = 8 // in parallel
)

type clusterProbe struct {
	at      time.Time
	version string
	err     string
}

// withInfo fills the info of each API cluster (items[i] is list[i]).
func (s *ClusterServer) withInfo(list []*clusters.Cluster, items []*apiv1.Cluster) {
	var set *clusters.Set
	if s.d.Clusters != nil {
		set, _ = s.d.Clusters()
	}
	counts := s.appCounts()
	var g errgroup.Group
	g.SetLimit(clusterProbes)
	for i, c := range list {
		g.Go(func() error {
			pr := s.probe(set, c)
			state := &apiv1.ConnectionState{Status: "Successful", AttemptedAt: pr.at.UTC().Format(time.RFC3339)}
			if pr.err != "" {
				state.Status, state.Message = "Failed", pr.err
			}
			items[i].Info = &apiv1.ClusterInfo{ConnectionState: state, ServerVersion: pr.version,
				ApplicationsCount: counts[c.Server] + counts["name:"+c.Name]}
			items[i].ConnectionState, items[i].ServerVersion = state, pr.version
			return nil
		})
	}
	_ = g.Wait()
}

// probe asks the cluster for its version, from the cache when fresh.
func (s *ClusterServer) probe(set *clusters.Set, c *clusters.Cluster) clusterProbe {
	if pr, ok := s.probes.get(c.Server, clusterProbeTTL); ok {
		return pr
	}
	pr := clusterProbe{at: time.Now()}
	cfg := c.RESTConfig()
	if set != nil {
		if known, err := set.Lookup(c.Server, ""); err == nil {
			cfg = known.RESTConfig() // the in-cluster entry carries the server's own credentials
		}
	}
	cfg.Timeout = clusterProbeTimeout
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err == nil {
		var v *version.Info
		if v, err = dc.ServerVersion(); err == nil { // bounded by cfg.Timeout
			pr.version = v.GitVersion
		}
	}
	if err != nil {
		pr.err = oneLine(err) // client-go's messages carry the URL, never the credentials
	}
	s.probes.put(c.Server, pr)
	return pr
}

// appCounts counts applications by destination server ("name:<n>" for destinations given by name).
func (s *ClusterServer) appCounts() map[string]int64 {
	out := map[string]int64{}
	if s.d.Apps == nil {
		return out
	}
	apps, err := s.d.Apps.List(labels.Everything())
	if err != nil {
		return out
	}
	for _, a := range apps {
		if d := a.Spec.Destination; d.Server != "" {
			out[d.Server]++
		} else if d.Name != "" {
			out["name:"+d.Name]++
		}
	}
	return out
}
