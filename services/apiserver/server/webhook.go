package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	listers "github.com/moorcd/moor/pkg/client/listers/application/v1alpha1"
	"github.com/moorcd/moor/pkg/refresh"
	"github.com/moorcd/moor/pkg/webhook"
)

// Keys of argocd-secret that hold the webhook secrets. Gitea has no key of its own in Argo CD: it uses
// webhook.gogs.secret, unless Moor's webhook.gitea.secret is set.
const (
	KeyWebhookGitHub          = "webhook.github.secret"
	KeyWebhookGitLab          = "webhook.gitlab.secret"
	KeyWebhookBitbucketUUID   = "webhook.bitbucket.uuid"
	KeyWebhookBitbucketServer = "webhook.bitbucketserver.secret"
	KeyWebhookGogs            = "webhook.gogs.secret"
	KeyWebhookGitea           = "webhook.gitea.secret"
)

// WebhookSecrets reads the webhook secrets from the data of argocd-secret.
func WebhookSecrets(data map[string][]byte) webhook.Secrets {
	s := webhook.Secrets{
		GitHub: string(data[KeyWebhookGitHub]), GitLab: string(data[KeyWebhookGitLab]),
		BitbucketUUID: string(data[KeyWebhookBitbucketUUID]), BitbucketServer: string(data[KeyWebhookBitbucketServer]),
		Gogs: string(data[KeyWebhookGogs]), Gitea: string(data[KeyWebhookGitea]),
	}
	if s.Gitea == "" {
		s.Gitea = s.Gogs
	}
	return s
}

// Webhook serves POST /api/webhook: it verifies a Git push and asks the controller to refresh every
// application whose source follows the pushed ref. The request is one ConfigMap naming all of them
// (pkg/refresh), not a write per application, so a push used by a thousand apps costs one write.
type Webhook struct {
	Namespace string
	Kube      kubernetes.Interface
	Apps      listers.ApplicationNamespaceLister
	// Secrets returns the current webhook secrets.
	Secrets  func() webhook.Secrets
	MaxBytes int64
	// Limit and Burst bound the requests per second of one source address.
	Limit rate.Limit
	Burst int
	Log   *slog.Logger

	mu       sync.Mutex
	limiters map[string]*visitor
}

type visitor struct {
	lim  *rate.Limiter
	seen time.Time
}

// maxVisitors bounds the per-address limiters kept; idle ones are dropped first.
const maxVisitors = 10000

func (h *Webhook) allow(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.limiters == nil {
		h.limiters = map[string]*visitor{}
	}
	v := h.limiters[host]
	if v == nil {
		if len(h.limiters) >= maxVisitors {
			for k, old := range h.limiters {
				if now.Sub(old.seen) > time.Minute {
					delete(h.limiters, k)
				}
			}
		}
		v = &visitor{lim: rate.NewLimiter(h.Limit, h.Burst)}
		h.limiters[host] = v
	}
	v.seen = now
	return v.lim.AllowN(now, 1)
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "method not allowed"})
		return
	}
	if !h.allow(r) {
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": "too many webhook requests"})
		return
	}
	p := &webhook.Parser{Secrets: h.Secrets(), MaxBytes: h.MaxBytes}
	ev, err := p.Parse(r)
	switch {
	case errors.Is(err, webhook.ErrTooLarge):
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": webhook.ErrTooLarge.Error()})
		return
	case errors.Is(err, webhook.ErrSignature):
		h.Log.WarnContext(r.Context(), "webhook signature rejected", "remote", r.RemoteAddr)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": webhook.ErrSignature.Error()})
		return
	case err != nil:
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	case ev == nil:
		writeJSON(w, http.StatusOK, map[string]any{"refreshed": 0, "message": "event ignored: not a push"})
		return
	}
	n, err := h.refresh(r.Context(), ev)
	if err != nil {
		h.Log.ErrorContext(r.Context(), "webhook refresh", "error", err, "refreshed", n)
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "refresh failed", "refreshed": n})
		return
	}
	h.Log.InfoContext(r.Context(), "webhook push", "provider", ev.Provider, "ref", ev.Ref, "refreshed", n)
	writeJSON(w, http.StatusOK, map[string]any{"refreshed": n})
}

// refresh asks the controller to refresh every application the push concerns and returns how many.
func (h *Webhook) refresh(ctx context.Context, ev *webhook.Event) (int, error) {
	apps, err := h.Apps.List(labels.Everything())
	if err != nil {
		return 0, err
	}
	m := webhook.NewMatcher(ev)
	var names []string
	for _, a := range apps {
		if concerns(m, ev, a) {
			names = append(names, a.Name)
		}
	}
	reason := fmt.Sprintf("%s push to %s at %s", ev.Provider, ev.Ref, ev.Revision)
	if len(ev.RepoURLs) > 0 {
		reason += " of " + ev.RepoURLs[0]
	}
	for _, req := range refresh.Requests(h.Namespace, names, refresh.Normal, reason) {
		if _, err := h.Kube.CoreV1().ConfigMaps(h.Namespace).Create(ctx, req, metav1.CreateOptions{}); err != nil {
			return 0, fmt.Errorf("writing the refresh request: %w", err)
		}
	}
	return len(names), nil
}

func concerns(m *webhook.Matcher, ev *webhook.Event, a *v1alpha1.Application) bool {
	for _, src := range a.Spec.GetSources() {
		if m.Matches(src.RepoURL, src.TargetRevision) && webhook.PathsChanged(ev, src.Path, a.Annotations[webhook.ManifestGeneratePathsAnnotation]) {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
