package appstate

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
)

// Without Redis, the controller's published state lives in its own process. It serves it over HTTP on its
// metrics listener (Handler), and the api-server reads it from there (Remote). Requests carry a token
// derived from argocd-secret's server.secretkey, which both read, so nothing else on the network can read
// managed resources.

// Reader reads published app states; Store and Remote are Readers.
type Reader interface {
	Tree(ctx context.Context, ns, app string) (*apiv1.ApplicationTree, bool, error)
	Managed(ctx context.Context, ns, app string) ([]*apiv1.ResourceDiff, bool, error)
}

var (
	_ Reader = (*Store)(nil)
	_ Reader = (*Remote)(nil)
)

// HandlerPath is where Handler is mounted.
const HandlerPath = "/appstate/"

// Token is the bearer token of the state endpoint for a server key.
func Token(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("moor appstate v1"))
	return hex.EncodeToString(m.Sum(nil))
}

// Handler serves GET /appstate/{tree|managed}/<ns>/<app> from s as protobuf (404 when nothing is published).
// key returns the current server key; a request without its token is refused.
func Handler(s *Store, key func(context.Context) ([]byte, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := key(r.Context())
		if err != nil || len(k) == 0 {
			http.Error(w, "no server key to check the token against", http.StatusServiceUnavailable)
			return
		}
		got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !hmac.Equal([]byte(got), []byte(Token(k))) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		kind, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, HandlerPath), "/")
		ns, app, ok := strings.Cut(rest, "/")
		if !ok || ns == "" || app == "" || strings.Contains(app, "/") {
			http.Error(w, "want "+HandlerPath+"{tree|managed}/<namespace>/<app>", http.StatusBadRequest)
			return
		}
		var key string
		switch kind {
		case "tree":
			key = treeKey(ns, app)
		case "managed":
			key = managedKey(ns, app)
		default:
			http.Error(w, "unknown state "+kind, http.StatusBadRequest)
			return
		}
		b, found := s.cache.GetLatest(r.Context(), key)
		if !found {
			http.Error(w, "not published", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(b)
	})
}

// Remote reads states from a controller's Handler.
type Remote struct {
	// Base is the controller's metrics address, e.g. http://127.0.0.1:8082.
	Base string
	// Key returns the server key the token is derived from.
	Key    func(context.Context) ([]byte, error)
	Client *http.Client
}

// maxStateBytes bounds one state read.
const maxStateBytes = 64 << 20

func (r *Remote) get(ctx context.Context, kind, ns, app string, into proto.Message) (bool, error) {
	k, err := r.Key(ctx)
	if err != nil {
		return false, err
	}
	u := strings.TrimSuffix(r.Base, "/") + HandlerPath + kind + "/" + url.PathEscape(ns) + "/" + url.PathEscape(app)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+Token(k))
	c := r.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return false, fmt.Errorf("read app state from the controller: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return false, nil
	default:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return false, fmt.Errorf("read app state from the controller: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxStateBytes+1))
	if err != nil {
		return false, err
	}
	if len(b) > maxStateBytes {
		return false, errors.New("app state larger than 64 MiB")
	}
	return true, proto.Unmarshal(b, into)
}

// Tree reads an app's resource tree; ok is false when none was published.
func (r *Remote) Tree(ctx context.Context, ns, app string) (*apiv1.ApplicationTree, bool, error) {
	t := &apiv1.ApplicationTree{}
	ok, err := r.get(ctx, "tree", ns, app, t)
	if !ok || err != nil {
		return nil, false, err
	}
	return t, true, nil
}

// Managed reads an app's managed resources; ok is false when none were published.
func (r *Remote) Managed(ctx context.Context, ns, app string) ([]*apiv1.ResourceDiff, bool, error) {
	m := &apiv1.ApplicationServiceManagedResourcesResponse{}
	ok, err := r.get(ctx, "managed", ns, app, m)
	if !ok || err != nil {
		return nil, false, err
	}
	return m.Items, true, nil
}
