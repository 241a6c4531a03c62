package helm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	chart "helm.sh/helm/v4/pkg/chart/v2"

	"github.com/moorcd/moor/pkg/render"
)

// ensureDependencies adds to c every dependency that Chart.yaml declares but charts/ does not hold:
// "file://" dependencies from the tree (jailed, relative to the chart), "https://" and "oci://" ones through
// the ChartSource at the version Chart.lock pins (else the Chart.yaml constraint). Repository aliases
// ("@name", "alias:name") need a local Helm repository list, which a repo-server does not have.
func (r *Renderer) ensureDependencies(ctx context.Context, c *chart.Chart, fsys fs.FS, chartDir string, b *budget) error {
	if c.Metadata == nil || len(c.Metadata.Dependencies) == 0 {
		return nil
	}
	present := map[string]bool{}
	for _, d := range c.Dependencies() {
		present[d.Name()] = true
	}
	locked := map[string]string{}
	if c.Lock != nil {
		for _, d := range c.Lock.Dependencies {
			if d != nil {
				locked[d.Name] = d.Version
			}
		}
	}
	for _, dep := range c.Metadata.Dependencies {
		if dep == nil || present[dep.Name] {
			continue
		}
		sub, err := r.fetchDependency(ctx, dep, locked[dep.Name], fsys, chartDir, b)
		if err != nil {
			return fmt.Errorf("chart %s: dependency %q (repository %q) is not in charts/: %w", c.Name(), dep.Name, redact(dep.Repository), err)
		}
		c.AddDependency(sub)
		present[dep.Name] = true
	}
	return nil
}

func (r *Renderer) fetchDependency(ctx context.Context, dep *chart.Dependency, lockedVersion string, fsys fs.FS, chartDir string, b *budget) (*chart.Chart, error) {
	repo := dep.Repository
	switch {
	case repo == "":
		return nil, &render.Error{File: path.Join(chartDir, "Chart.yaml"), Err: errors.New("no repository to fetch it from: vendor it (helm dependency build)")}
	case strings.HasPrefix(repo, "file://"):
		if fsys == nil {
			return nil, &render.Error{Err: errors.New("file:// dependencies need the chart's repository tree")}
		}
		dir, err := joinInside(chartDir, strings.TrimPrefix(repo, "file://"))
		if err != nil {
			return nil, err
		}
		files, err := chartFiles(fsys, dir, b)
		if err != nil {
			return nil, err
		}
		sub, err := loadChart(files, dir)
		if err != nil {
			return nil, err
		}
		return sub, r.ensureDependencies(ctx, sub, fsys, dir, b)
	case strings.HasPrefix(repo, "@") || strings.HasPrefix(repo, "alias:"):
		return nil, &render.Error{File: path.Join(chartDir, "Chart.yaml"), Err: errors.New("repository aliases are not supported: use the repository URL")}
	case strings.HasPrefix(repo, "https://"), strings.HasPrefix(repo, "http://"), strings.HasPrefix(repo, "oci://"):
		version := lockedVersion
		if version == "" {
			version = dep.Version
		}
		arc, err := r.source.Fetch(ctx, ChartRef{RepoURL: repo, Chart: dep.Name, Version: version}, r.creds(repo))
		if err != nil {
			return nil, err
		}
		files, err := untarChart(arc.Data, b)
		if err != nil {
			return nil, err
		}
		return loadChart(files, dep.Name+"-"+arc.Version+".tgz")
	default:
		return nil, &render.Error{File: path.Join(chartDir, "Chart.yaml"), Err: fmt.Errorf("unsupported repository %q", redact(repo))}
	}
}
