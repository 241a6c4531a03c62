package repocreds

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// Argo CD's ConfigMaps for SSH known hosts and TLS certificates.
const (
	KnownHostsConfigMap = "argocd-ssh-known-hosts-cm"
	KnownHostsKey       = "ssh_known_hosts"
	TLSCertsConfigMap   = "argocd-tls-certs-cm"
)

// SecretLister lists Secrets of one namespace; client-go's corelisters.SecretNamespaceLister is one.
type SecretLister interface {
	List(selector labels.Selector) ([]*corev1.Secret, error)
}

// ConfigMapGetter reads ConfigMaps of one namespace; client-go's corelisters.ConfigMapNamespaceLister
// is one.
type ConfigMapGetter interface {
	Get(name string) (*corev1.ConfigMap, error)
}

// Resolver resolves credentials from an informer cache of one namespace (Argo CD's namespace).
type Resolver struct {
	Secrets SecretLister
	// ConfigMaps, when set, supplies known_hosts (argocd-ssh-known-hosts-cm) and per-host CA bundles
	// (argocd-tls-certs-cm, one key per host name).
	ConfigMaps ConfigMapGetter
}

// secretTypes selects repository and repo-creds Secrets.
var secretTypes = func() labels.Selector {
	req, err := labels.NewRequirement(LabelSecretType, selection.In, []string{SecretTypeRepository, SecretTypeRepoCreds})
	if err != nil {
		panic(err) // constant input
	}
	return labels.NewSelector().Add(*req)
}()

// Resolve returns repoURL's settings and credentials as seen by project.
func (r *Resolver) Resolve(ctx context.Context, repoURL, project string) (*Repository, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	list, err := r.Secrets.List(secretTypes)
	if err != nil {
		return nil, fmt.Errorf("list repository secrets: %w", err)
	}
	secrets := make([]corev1.Secret, 0, len(list))
	for _, s := range list {
		secrets = append(secrets, *s)
	}
	repo, err := Resolve(secrets, repoURL, project)
	if err != nil {
		return nil, err
	}
	if r.ConfigMaps != nil {
		if err := r.addHostTrust(repo); err != nil {
			return nil, err
		}
	}
	return repo, nil
}

func (r *Resolver) addHostTrust(repo *Repository) error {
	cm, err := r.ConfigMaps.Get(KnownHostsConfigMap)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("read %s: %w", KnownHostsConfigMap, err)
	default:
		repo.Git.KnownHosts = cm.Data[KnownHostsKey]
	}
	host := hostOf(repo.URL)
	if host == "" {
		return nil
	}
	cm, err = r.ConfigMaps.Get(TLSCertsConfigMap)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("read %s: %w", TLSCertsConfigMap, err)
	default:
		if pem, ok := cm.Data[host]; ok {
			repo.Git.CAData = pem
		}
	}
	return nil
}

// hostOf is the host name (no port) of an https URL; TLS certificates are keyed by it.
func hostOf(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "oci") {
		return ""
	}
	return strings.ToLower(u.Hostname())
}
