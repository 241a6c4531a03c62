package server

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
	"github.com/moorcd/moor/pkg/rbac"
)

// RESTReads serves the two hottest REST reads, GET /api/v1/applications and GET /api/v1/applications/{name},
// without the gateway's round trip (the response encoded to protobuf, decoded again, then written as JSON):
// it authenticates the request with the same Authenticator, selects and filters with the same code and RBAC
// as the gRPC methods, and writes each application's cached JSON, which is the gateway's encoding of the same
// message. Whatever it does not answer exactly as the gateway would (any error, a refresh, a query parameter
// it does not know) it hands to Fallback, the gateway, so errors and rare requests keep one implementation.
type RESTReads struct {
	Apps *ApplicationServer
	// Authenticate is auth.Authenticator.AuthenticateHTTP.
	Authenticate func(r *http.Request, fullMethod string) (context.Context, error)
	Fallback     http.Handler
}

const (
	methodList = "/moor.api.v1.ApplicationService/List"
	methodGet  = "/moor.api.v1.ApplicationService/Get"
)

// ServeHTTP answers GET /api/v1/applications and GET /api/v1/applications/{name} (routes of the mux).
func (h *RESTReads) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	var ok bool
	if name := r.PathValue("name"); name != "" {
		body, ok = h.get(r, name)
	} else {
		body, ok = h.list(r)
	}
	if !ok {
		h.Fallback.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

func (h *RESTReads) list(r *http.Request) ([]byte, bool) {
	req := &apiv1.ApplicationServiceListRequest{}
	if !parseQuery(r.URL.Query(), map[string]func([]string) bool{
		"name":             scalar(&req.Name),
		"refresh":          empty,
		"projects":         func(v []string) bool { req.Projects = v; return true },
		"project":          func(v []string) bool { req.Project = v; return true },
		"selector":         scalar(&req.Selector),
		"repo":             scalar(&req.Repo),
		"appNamespace":     scalar(&req.AppNamespace),
		"app_namespace":    scalar(&req.AppNamespace),
		"resourceVersion":  scalar(&req.ResourceVersion),
		"resource_version": scalar(&req.ResourceVersion),
		"continue":         scalar(&req.Continue),
		"limit": func(v []string) bool {
			n, err := strconv.ParseInt(v[0], 10, 64)
			req.Limit = n
			return len(v) == 1 && err == nil
		},
	}) {
		return nil, false
	}
	ctx, err := h.Authenticate(r, methodList)
	if err != nil {
		return nil, false
	}
	apps, meta, err := h.Apps.list(ctx, req)
	if err != nil {
		return nil, false
	}
	items := make([][]byte, len(apps))
	size := 64
	for i, a := range apps {
		if items[i], err = h.Apps.cache.json(a); err != nil {
			return nil, false
		}
		size += len(items[i]) + 1
	}
	head, err := kubeproto.Marshal(&apiv1.ApplicationList{ApiVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "ApplicationList", Metadata: meta})
	if err != nil || len(head) < 2 || head[len(head)-1] != '}' {
		return nil, false
	}
	if len(items) == 0 {
		return head, true // the gateway omits an empty items list too
	}
	var b bytes.Buffer
	b.Grow(len(head) + size)
	b.Write(head[:len(head)-1])
	b.WriteString(`,"items":[`)
	for i, item := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(item)
	}
	b.WriteString("]}")
	return b.Bytes(), true
}

func (h *RESTReads) get(r *http.Request, name string) ([]byte, bool) {
	var project, ns, rv string
	if !parseQuery(r.URL.Query(), map[string]func([]string) bool{
		"refresh":          empty,
		"project":          scalar(&project),
		"appNamespace":     scalar(&ns),
		"app_namespace":    scalar(&ns),
		"resourceVersion":  scalar(&rv),
		"resource_version": scalar(&rv),
	}) {
		return nil, false
	}
	ctx, err := h.Authenticate(r, methodGet)
	if err != nil || ns != "" && ns != h.Apps.d.Namespace {
		return nil, false
	}
	// The informer cache only: an app it does not hold yet goes to the gateway, which reads the API server.
	app, err := h.Apps.d.Apps.Get(name)
	if err != nil {
		return nil, false
	}
	if app, err = h.Apps.checkApp(ctx, app, nil, name, project, rbac.ActionGet); err != nil {
		return nil, false
	}
	b, err := h.Apps.cache.json(app)
	return b, err == nil
}

// parseQuery applies each parameter of q to its setter; false when one is unknown or refused.
func parseQuery(q url.Values, setters map[string]func([]string) bool) bool {
	for k, v := range q {
		set, ok := setters[k]
		if !ok || len(v) == 0 || !set(v) {
			return false
		}
	}
	return true
}

// scalar sets a string field from a single-valued parameter.
func scalar(dst *string) func([]string) bool {
	return func(v []string) bool { *dst = v[0]; return len(v) == 1 }
}

// empty accepts a parameter only when it has no value (a refresh goes through the gateway).
func empty(v []string) bool { return len(v) == 1 && v[0] == "" }
