// Package refresh carries refresh requests from the api-server to the controller in bulk. A Git push can
// concern a thousand Applications; annotating each costs a thousand writes of a large object (about six
// seconds on a small control plane). Instead the api-server writes one ConfigMap naming every app, labelled
// Label; the controller (its leader) refreshes the apps and deletes the request. A request written while no
// controller runs waits for one, so none is lost. The per-app annotation argocd.argoproj.io/refresh keeps
// working for kubectl users and Argo CD tooling.
package refresh

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// Label marks a refresh request ConfigMap.
	Label = "moor.dev/refresh-request"
	// KeyApplications holds the application names, one per line.
	KeyApplications = "applications"
	// KeyLevel holds "normal" or "hard".
	KeyLevel = "level"
	// AnnotationReason says why the refresh was asked for (for people reading the object).
	AnnotationReason = "moor.dev/reason"

	// maxBytes bounds the names in one ConfigMap, well under the API server's 1 MiB object limit.
	maxBytes = 512 << 10
)

// Level of a requested refresh.
type Level string

const (
	Normal Level = "normal" // resolve the revision afresh and compare
	Hard   Level = "hard"   // also render again without the manifest cache
)

// Requests builds the ConfigMaps that ask for a refresh of apps in namespace: usually one, more when the
// names exceed what one object may hold. Names are sorted and de-duplicated.
func Requests(namespace string, apps []string, level Level, reason string) []*corev1.ConfigMap {
	apps = slices.Compact(slices.Sorted(slices.Values(apps)))
	var out []*corev1.ConfigMap
	for len(apps) > 0 {
		n, size := 0, 0
		for n < len(apps) && (n == 0 || size+len(apps[n])+1 <= maxBytes) {
			size += len(apps[n]) + 1
			n++
		}
		out = append(out, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				GenerateName: "moor-refresh-",
				Namespace:    namespace,
				Labels:       map[string]string{Label: "true"},
				Annotations:  map[string]string{AnnotationReason: reason},
			},
			Data: map[string]string{KeyApplications: strings.Join(apps[:n], "\n"), KeyLevel: string(level)},
		})
		apps = apps[n:]
	}
	return out
}

// Parse reads a request: the application names and the level.
func Parse(cm *corev1.ConfigMap) ([]string, Level, error) {
	if cm.Labels[Label] != "true" {
		return nil, "", errors.New("not a refresh request")
	}
	level := Level(cm.Data[KeyLevel])
	switch level {
	case "":
		level = Normal
	case Normal, Hard:
	default:
		return nil, "", fmt.Errorf("refresh request %s: %s %q is neither normal nor hard", cm.Name, KeyLevel, level)
	}
	var apps []string
	for name := range strings.SplitSeq(cm.Data[KeyApplications], "\n") {
		if name = strings.TrimSpace(name); name != "" {
			apps = append(apps, name)
		}
	}
	return apps, level, nil
}
