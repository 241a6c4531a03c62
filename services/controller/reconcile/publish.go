package reconcile

import (
	"context"
	"encoding/json"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/appstate"
	"github.com/moorcd/moor/pkg/health"
	"github.com/moorcd/moor/pkg/livestate"
)

// Publisher stores what the api-server shows of an app besides its status.
type Publisher interface {
	Publish(ctx context.Context, ns, app string, st *appstate.State) error
}

// Masker hides Secret values in objects handed to the api-server.
type Masker interface {
	MaskSecret(u *unstructured.Unstructured) *unstructured.Unstructured
}

// publish builds the app's resource tree and managed resources and hands them to the publisher.
func (r *Reconciler) publish(ctx context.Context, ns, app string, conn *Cluster, cmp *comparison, assessor *health.Assessor, orphaned []livestate.Resource) {
	if r.d.Publisher == nil {
		return
	}
	st := &appstate.State{Tree: tree(conn.Live, app, assessor)}
	for _, o := range orphaned {
		st.Tree.OrphanedNodes = append(st.Tree.OrphanedNodes, &apiv1.ResourceNode{
			Group: o.GVK.Group, Version: o.GVK.Version, Kind: o.GVK.Kind, Namespace: o.Namespace, Name: o.Name,
			Uid: string(o.UID), ResourceVersion: o.ResourceVersion,
		})
	}
	masker, _ := conn.Differ.(Masker)
	for _, m := range cmp.resources {
		d := &apiv1.ResourceDiff{
			Group: m.key.Group, Kind: m.key.Kind, Namespace: m.key.Namespace, Name: m.key.Name,
			Hook: m.hook, Modified: m.status != "Synced",
			TargetState: state(masked(masker, m.desired)), LiveState: state(masked(masker, m.live)),
		}
		if m.live != nil {
			d.ResourceVersion = m.live.GetResourceVersion()
		}
		if m.result != nil {
			d.NormalizedLiveState = state(m.result.NormalizedLive) // the diff engine masks these
			d.PredictedLiveState = state(m.result.PredictedLive)
		}
		st.Managed = append(st.Managed, d)
	}
	if err := r.d.Publisher.Publish(ctx, ns, app, st); err != nil {
		r.d.Log.WarnContext(ctx, "publish app state", "app", app, "error", err)
	}
}

func masked(m Masker, u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil || u.GetKind() != "Secret" || u.GroupVersionKind().Group != "" {
		return u
	}
	if m == nil {
		return nil // never hand out a Secret unmasked
	}
	return m.MaskSecret(u)
}

func state(u *unstructured.Unstructured) string {
	if u == nil {
		return ""
	}
	b, err := json.Marshal(u.Object)
	if err != nil {
		return ""
	}
	return string(b)
}

// LiveTree is what the tree needs of the live-state cache.
type LiveTree interface {
	Tree(app string) []livestate.Node
}

func tree(live LiveState, app string, assessor *health.Assessor) *apiv1.ApplicationTree {
	lt, ok := live.(LiveTree)
	if !ok {
		return &apiv1.ApplicationTree{}
	}
	nodes := lt.Tree(app)
	out := &apiv1.ApplicationTree{Nodes: make([]*apiv1.ResourceNode, 0, len(nodes))}
	for _, n := range nodes {
		rn := &apiv1.ResourceNode{
			Group: n.GVK.Group, Version: n.GVK.Version, Kind: n.GVK.Kind, Namespace: n.Namespace, Name: n.Name,
			Uid: string(n.UID), ResourceVersion: n.ResourceVersion,
		}
		for _, p := range n.ParentRefs {
			rn.ParentRefs = append(rn.ParentRefs, &apiv1.ResourceRef{Group: p.Group, Version: p.Version, Kind: p.Kind,
				Namespace: p.Namespace, Name: p.Name, Uid: string(p.UID)})
		}
		if n.Object != nil {
			rn.CreatedAt = n.Object.GetCreationTimestamp().UTC().Format("2006-01-02T15:04:05Z")
			rn.Images = images(n.Object)
			if res, _ := assessor.Assess(n.Object); res != nil {
				rn.Health = &apiv1.HealthStatus{Status: string(res.Status), Message: res.Message}
			}
		}
		out.Nodes = append(out.Nodes, rn)
	}
	sort.SliceStable(out.Nodes, func(i, j int) bool {
		a, b := out.Nodes[i], out.Nodes[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return out
}

// images lists the container images of a Pod, a pod template, or a CronJob's job template.
func images(u *unstructured.Unstructured) []string {
	var out []string
	for _, path := range [][]string{{"spec"}, {"spec", "template", "spec"}, {"spec", "jobTemplate", "spec", "template", "spec"}} {
		for _, field := range []string{"initContainers", "containers"} {
			list, _, _ := unstructured.NestedSlice(u.Object, append(append([]string{}, path...), field)...)
			for _, c := range list {
				if cm, ok := c.(map[string]any); ok {
					if img, ok := cm["image"].(string); ok && img != "" {
						out = append(out, img)
					}
				}
			}
		}
	}
	return out
}
