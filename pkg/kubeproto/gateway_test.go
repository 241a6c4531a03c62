package kubeproto_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/kubeproto"
)

func envelope(t testing.TB, d doc) *apiv1.Application {
	t.Helper()
	app := &apiv1.Application{}
	if err := kubeproto.ToEnvelope(d, app); err != nil {
		t.Fatal(err)
	}
	return app
}

func TestGatewayMarshalerMatchesMarshal(t *testing.T) {
	t.Parallel()
	app := envelope(t, appDoc("shop", withStatus(3, 2)))
	appJSON, err := kubeproto.Marshal(app)
	if err != nil {
		t.Fatal(err)
	}
	st := status.New(codes.NotFound, `application "x" not found`).Proto()
	stJSON, err := kubeproto.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   any
		want string
	}{
		{name: "message", in: app, want: string(appJSON)},
		{name: "stream chunk", in: map[string]any{"result": app}, want: `{"result":` + string(appJSON) + `}`},
		{name: "stream error chunk", in: map[string]proto.Message{"error": st}, want: `{"error":` + string(stJSON) + `}`},
		{name: "slice of messages", in: []proto.Message{app, app}, want: "[" + string(appJSON) + "," + string(appJSON) + "]"},
		{name: "nil", in: nil, want: "null"},
		{name: "plain value falls back to JSONPb", in: "text", want: `"text"`},
	}
	m := kubeproto.NewGatewayMarshaler()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := m.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestGatewayMarshalerEncoder(t *testing.T) {
	t.Parallel()
	m := kubeproto.NewGatewayMarshaler()
	meta := &apiv1.ObjectMeta{Name: "a", Generation: 7}
	var buf bytes.Buffer
	if err := m.NewEncoder(&buf).Encode(meta); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), `{"name":"a","generation":7}`+"\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// fakeApplications is an ApplicationService that stores what it is given.
type fakeApplications struct {
	apiv1.UnimplementedApplicationServiceServer
	mu   sync.Mutex
	apps map[string]*apiv1.Application
}

func (f *fakeApplications) Get(_ context.Context, req *apiv1.ApplicationServiceGetRequest) (*apiv1.ApplicationServiceGetResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	app, ok := f.apps[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "application %q not found", req.GetName())
	}
	return &apiv1.ApplicationServiceGetResponse{Application: app}, nil
}

func (f *fakeApplications) Create(_ context.Context, req *apiv1.ApplicationServiceCreateRequest) (*apiv1.ApplicationServiceCreateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apps[req.GetApplication().GetMetadata().GetName()] = req.GetApplication()
	return &apiv1.ApplicationServiceCreateResponse{Application: req.GetApplication()}, nil
}

func (f *fakeApplications) Watch(_ *apiv1.ApplicationServiceWatchRequest, stream grpc.ServerStreamingServer[apiv1.ApplicationServiceWatchResponse]) error {
	f.mu.Lock()
	apps := make([]*apiv1.Application, 0, len(f.apps))
	for _, name := range []string{"billing", "shop"} {
		if app, ok := f.apps[name]; ok {
			apps = append(apps, app)
		}
	}
	f.mu.Unlock()
	for _, app := range apps {
		if err := stream.Send(&apiv1.ApplicationServiceWatchResponse{Type: "ADDED", Application: app}); err != nil {
			return err
		}
	}
	return status.Error(codes.Unavailable, "watch closed")
}

// newGateway serves fake through a real gRPC server (on bufconn) and a grpc-gateway mux using
// GatewayMarshaler, as the API server does.
func newGateway(t *testing.T, fake apiv1.ApplicationServiceServer) *httptest.Server {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	apiv1.RegisterApplicationServiceServer(srv, fake)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	mux := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard, kubeproto.NewGatewayMarshaler()))
	if err := apiv1.RegisterApplicationServiceHandlerClient(t.Context(), mux, apiv1.NewApplicationServiceClient(conn)); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return hs
}

func TestGatewayServesKubernetesJSON(t *testing.T) {
	t.Parallel()
	shop := appDoc("shop", withStatus(3, 2), withOperation())
	billing := appDoc("billing")
	// Each case gets its own servers, holding shop and billing.
	serve := func(t *testing.T) *httptest.Server {
		return newGateway(t, &fakeApplications{apps: map[string]*apiv1.Application{
			"shop": envelope(t, shop), "billing": envelope(t, billing),
		}})
	}
	do := func(t *testing.T, hs *httptest.Server, method, path string, body []byte) (int, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, hs.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}

	t.Run("get returns the bare document", func(t *testing.T) {
		t.Parallel()
		hs := serve(t)
		code, body := do(t, hs, http.MethodGet, "/api/v1/applications/shop", nil)
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, body)
		}
		requireSameJSON(t, body, mustJSON(t, shop))
	})

	t.Run("create takes and returns the bare document", func(t *testing.T) {
		t.Parallel()
		hs := serve(t)
		checkout := appDoc("checkout", withOperation())
		code, body := do(t, hs, http.MethodPost, "/api/v1/applications?upsert=true", mustJSON(t, checkout))
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, body)
		}
		requireSameJSON(t, body, mustJSON(t, checkout))
		_, body = do(t, hs, http.MethodGet, "/api/v1/applications/checkout", nil)
		requireSameJSON(t, body, mustJSON(t, checkout))
	})

	t.Run("errors are JSON with a numeric code", func(t *testing.T) {
		t.Parallel()
		hs := serve(t)
		code, body := do(t, hs, http.MethodGet, "/api/v1/applications/missing", nil)
		if code != http.StatusNotFound {
			t.Fatalf("status %d: %s", code, body)
		}
		requireSameJSON(t, body, []byte(`{"code":5,"message":"application \"missing\" not found"}`))
	})

	t.Run("watch streams result chunks, then the error", func(t *testing.T) {
		t.Parallel()
		hs := serve(t)
		code, body := do(t, hs, http.MethodGet, "/api/v1/stream/applications", nil)
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, body)
		}
		var lines []string
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				lines = append(lines, line)
			}
		}
		if len(lines) != 3 {
			t.Fatalf("got %d chunks, want 3:\n%s", len(lines), body)
		}
		requireSameJSON(t, []byte(lines[0]), mustJSON(t, doc{"result": doc{"type": "ADDED", "application": billing}}))
		requireSameJSON(t, []byte(lines[1]), mustJSON(t, doc{"result": doc{"type": "ADDED", "application": shop}}))
		requireSameJSON(t, []byte(lines[2]), []byte(`{"error":{"code":14,"message":"watch closed"}}`))
	})
}
