package manifests

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/render"
)

// maxOverrideBytes caps a .argocd-source file; they hold a few parameters.
const maxOverrideBytes = 1 << 20

// applyOverrides merges the app path's .argocd-source.yaml, then .argocd-source-<app>.yaml, over the
// source (JSON merge patch, as Argo CD does). The image updater's Git write-back writes these files.
func applyOverrides(fsys fs.FS, appPath, appName string, src *v1alpha1.ApplicationSource) (*v1alpha1.ApplicationSource, error) {
	names := []string{path.Join(appPath, ".argocd-source.yaml")}
	if appName != "" {
		names = append(names, path.Join(appPath, ".argocd-source-"+appName+".yaml"))
	}
	var merged map[string]any
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if len(data) > maxOverrideBytes {
			return nil, fmt.Errorf("%s: %w", name, render.ErrTooLarge)
		}
		var patch map[string]any
		if err := yaml.Unmarshal(data, &patch); err != nil {
			return nil, &render.Error{File: name, Err: err}
		}
		if merged == nil {
			b, err := json.Marshal(src)
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(b, &merged); err != nil {
				return nil, err
			}
		}
		merged = mergePatch(merged, patch)
	}
	if merged == nil {
		return src, nil
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return nil, err
	}
	var out v1alpha1.ApplicationSource
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, &render.Error{File: names[len(names)-1], Err: fmt.Errorf("overrides do not fit an application source: %w", err)}
	}
	return &out, nil
}

// mergePatch applies an RFC 7386 JSON merge patch: objects merge, null deletes, anything else replaces.
func mergePatch(target, patch map[string]any) map[string]any {
	if target == nil {
		target = map[string]any{}
	}
	for k, v := range patch {
		if v == nil {
			delete(target, k)
			continue
		}
		if pm, ok := v.(map[string]any); ok {
			tm, _ := target[k].(map[string]any)
			target[k] = mergePatch(tm, pm)
			continue
		}
		target[k] = v
	}
	return target
}
