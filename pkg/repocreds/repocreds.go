package repocreds

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/moorcd/moor/pkg/git"
)

// Labels and types of Argo CD repository Secrets.
const (
	LabelSecretType      = "argocd.argoproj.io/secret-type"
	SecretTypeRepository = "repository"
	SecretTypeRepoCreds  = "repo-creds"
)

// Repository types (field "type").
const (
	TypeGit  = "git"
	TypeHelm = "helm"
	TypeOCI  = "oci"
)

// ErrInvalidSecret is a repository Secret that cannot be used (a field that does not parse).
var ErrInvalidSecret = errors.New("invalid repository secret")

// GitHubApp is GitHub App authentication, to be exchanged for an installation token by the caller.
type GitHubApp struct {
	ID                int64
	InstallationID    int64
	PrivateKey        string
	EnterpriseBaseURL string
}

// Repository is a repository's settings and credentials.
type Repository struct {
	// URL is the repository URL as asked for (or as written in the repository Secret).
	URL string
	// Type is git, helm or oci (default git).
	Type    string
	Name    string
	Project string
	// Git carries the credentials in the form pkg/git takes; its URL is URL.
	Git git.Repo
	// GitHubApp is set when the credentials are a GitHub App.
	GitHubApp *GitHubApp

	EnableLFS          bool
	EnableOCI          bool
	ForceHTTPBasicAuth bool
	// Depth is a shallow-clone depth hint; 0 means full history.
	Depth int64

	// SecretName is the repository Secret used ("" when only a template matched); CredsSecretName and
	// CredsURL name the template credentials came from ("" when none).
	SecretName      string
	CredsSecretName string
	CredsURL        string
}

// HasCredentials reports whether any credential is set.
func (r *Repository) HasCredentials() bool {
	g := r.Git
	return g.Username != "" || g.Password != "" || g.BearerToken != "" || g.SSHPrivateKey != "" ||
		g.TLSClientCertData != "" || g.TLSClientCertKey != "" || r.GitHubApp != nil
}

// entry is one parsed Secret.
type entry struct {
	secretName string
	kind       string // repository or repo-creds
	repo       Repository
	has        map[string]bool // fields present in the Secret
}

// Resolve returns the settings and credentials for repoURL as seen by project ("" for none). It returns
// a Repository with no credentials when nothing matches: public repositories need none.
func Resolve(secrets []corev1.Secret, repoURL, project string) (*Repository, error) {
	var repos, templates []*entry
	for i := range secrets {
		s := &secrets[i]
		kind := s.Labels[LabelSecretType]
		if kind != SecretTypeRepository && kind != SecretTypeRepoCreds {
			continue
		}
		e, err := parse(s, kind)
		if err != nil {
			return nil, err
		}
		if kind == SecretTypeRepository {
			repos = append(repos, e)
		} else {
			templates = append(templates, e)
		}
	}

	want := git.NormalizeURL(repoURL)
	var best *entry
	for _, e := range repos {
		if e.repo.URL == "" || git.NormalizeURL(e.repo.URL) != want {
			continue
		}
		if e.repo.Project != "" && e.repo.Project != project {
			continue
		}
		if best == nil || betterRepo(e, best, project) {
			best = e
		}
	}
	tmpl := bestTemplate(templates, repoURL, project)

	var out Repository
	switch {
	case best != nil:
		out = best.repo
		out.SecretName = best.secretName
		if tmpl != nil {
			if inherit(&out, best.has, tmpl) {
				out.CredsSecretName, out.CredsURL = tmpl.secretName, tmpl.repo.URL
			}
		}
	case tmpl != nil:
		out = tmpl.repo
		out.Name, out.Project = "", ""
		out.CredsSecretName, out.CredsURL = tmpl.secretName, tmpl.repo.URL
	default:
		out = Repository{Type: TypeGit}
	}
	out.URL = repoURL
	out.Git.URL = repoURL
	if out.Type == "" {
		out.Type = TypeGit
	}
	return &out, nil
}

// Repositories lists the repository Secrets (not templates), sorted by URL then Secret name, with
// credentials inherited from templates.
func Repositories(secrets []corev1.Secret) ([]*Repository, error) {
	var out []*Repository
	for i := range secrets {
		s := &secrets[i]
		if s.Labels[LabelSecretType] != SecretTypeRepository {
			continue
		}
		e, err := parse(s, SecretTypeRepository)
		if err != nil {
			return nil, err
		}
		if e.repo.URL == "" {
			continue
		}
		r, err := Resolve(secrets, e.repo.URL, e.repo.Project)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].URL != out[j].URL {
			return out[i].URL < out[j].URL
		}
		return out[i].SecretName < out[j].SecretName
	})
	return out, nil
}

// betterRepo orders candidate repository Secrets for one URL: the caller's project first, then global,
// then by name so the answer does not depend on list order.
func betterRepo(a, b *entry, project string) bool {
	ap, bp := a.repo.Project == project && project != "", b.repo.Project == project && project != ""
	if ap != bp {
		return ap
	}
	return a.secretName < b.secretName
}

// bestTemplate is the template with the longest url prefix of repoURL (case-insensitive).
func bestTemplate(templates []*entry, repoURL, project string) *entry {
	lower := strings.ToLower(strings.TrimSpace(repoURL))
	var best *entry
	for _, e := range templates {
		prefix := strings.ToLower(strings.TrimSpace(e.repo.URL))
		if prefix == "" || !strings.HasPrefix(lower, prefix) {
			continue
		}
		if e.repo.Project != "" && e.repo.Project != project {
			continue
		}
		switch {
		case best == nil, len(e.repo.URL) > len(best.repo.URL):
			best = e
		case len(e.repo.URL) == len(best.repo.URL) && betterRepo(e, best, project):
			best = e
		}
	}
	return best
}

// inherit fills the credential groups the repository Secret leaves empty from the template and reports
// whether anything was taken.
func inherit(dst *Repository, has map[string]bool, tmpl *entry) bool {
	src := tmpl.repo
	took := false
	if dst.Git.Username == "" && dst.Git.Password == "" && (src.Git.Username != "" || src.Git.Password != "") {
		dst.Git.Username, dst.Git.Password = src.Git.Username, src.Git.Password
		took = true
	}
	if dst.Git.BearerToken == "" && src.Git.BearerToken != "" {
		dst.Git.BearerToken = src.Git.BearerToken
		took = true
	}
	if dst.Git.SSHPrivateKey == "" && src.Git.SSHPrivateKey != "" {
		dst.Git.SSHPrivateKey = src.Git.SSHPrivateKey
		took = true
	}
	if dst.Git.TLSClientCertData == "" && dst.Git.TLSClientCertKey == "" && src.Git.TLSClientCertData != "" {
		dst.Git.TLSClientCertData, dst.Git.TLSClientCertKey = src.Git.TLSClientCertData, src.Git.TLSClientCertKey
		took = true
	}
	if dst.GitHubApp == nil && src.GitHubApp != nil {
		app := *src.GitHubApp
		dst.GitHubApp = &app
		took = true
	}
	if dst.Git.Proxy == "" && src.Git.Proxy != "" {
		dst.Git.Proxy, dst.Git.NoProxy = src.Git.Proxy, src.Git.NoProxy
	}
	for field, set := range map[string]func(){
		"insecure":              func() { dst.Git.Insecure = src.Git.Insecure },
		"insecureIgnoreHostKey": func() { dst.Git.InsecureIgnoreHostKey = src.Git.InsecureIgnoreHostKey },
		"forceHttpBasicAuth":    func() { dst.ForceHTTPBasicAuth = src.ForceHTTPBasicAuth },
		"enableOCI":             func() { dst.EnableOCI = src.EnableOCI },
		"type":                  func() { dst.Type = src.Type },
	} {
		if !has[field] && tmpl.has[field] {
			set()
		}
	}
	return took
}

func parse(s *corev1.Secret, kind string) (*entry, error) {
	e := &entry{secretName: s.Name, kind: kind, has: map[string]bool{}}
	get := func(k string) string {
		if v, ok := s.Data[k]; ok {
			e.has[k] = true
			return string(v)
		}
		if v, ok := s.StringData[k]; ok {
			e.has[k] = true
			return v
		}
		return ""
	}
	var errs []error
	boolean := func(k string) bool {
		v := strings.TrimSpace(get(k))
		if v == "" {
			return false
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("field %s: %q is not a boolean", k, v))
		}
		return b
	}
	integer := func(k string) int64 {
		v := strings.TrimSpace(get(k))
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("field %s: %q is not an integer", k, v))
		}
		return n
	}

	r := &e.repo
	r.URL = strings.TrimSpace(get("url"))
	r.Type = strings.TrimSpace(get("type"))
	r.Name = get("name")
	r.Project = get("project")
	r.Git.Username = get("username")
	r.Git.Password = get("password")
	r.Git.BearerToken = get("bearerToken")
	r.Git.SSHPrivateKey = get("sshPrivateKey")
	r.Git.TLSClientCertData = get("tlsClientCertData")
	r.Git.TLSClientCertKey = get("tlsClientCertKey")
	r.Git.Proxy = strings.TrimSpace(get("proxy"))
	r.Git.NoProxy = strings.TrimSpace(get("noProxy"))
	insecure := boolean("insecure")
	r.Git.Insecure = insecure
	r.Git.InsecureIgnoreHostKey = boolean("insecureIgnoreHostKey") || insecure
	r.EnableLFS = boolean("enableLfs")
	r.EnableOCI = boolean("enableOCI")
	r.ForceHTTPBasicAuth = boolean("forceHttpBasicAuth")
	r.Depth = integer("depth")
	if id, inst, key := integer("githubAppID"), integer("githubAppInstallationID"), get("githubAppPrivateKey"); id != 0 || inst != 0 || key != "" {
		r.GitHubApp = &GitHubApp{ID: id, InstallationID: inst, PrivateKey: key,
			EnterpriseBaseURL: strings.TrimSpace(get("githubAppEnterpriseBaseUrl"))}
	}
	if r.Git.Proxy != "" {
		if _, err := url.Parse(r.Git.Proxy); err != nil {
			errs = append(errs, fmt.Errorf("field proxy does not parse"))
		}
	}
	switch r.Type {
	case "", TypeGit, TypeHelm, TypeOCI:
	default:
		errs = append(errs, fmt.Errorf("field type: unknown repository type %q", r.Type))
	}
	if len(errs) > 0 {
		// Name the Secret and the field, never a value that could be a credential.
		return nil, fmt.Errorf("%w %s/%s: %w", ErrInvalidSecret, s.Namespace, s.Name, errors.Join(errs...))
	}
	return e, nil
}
