package app

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/api/openapi"
	"github.com/moorcd/moor/pkg/kubeproto"
	"github.com/moorcd/moor/pkg/session"
	"github.com/moorcd/moor/services/apiserver/auth"
	"github.com/moorcd/moor/services/apiserver/server"
	"github.com/moorcd/moor/services/apiserver/sso"
)

// transport is the one listener's handler: gRPC (HTTP/2 with content-type application/grpc) goes to the gRPC
// server, everything else to the REST mux. The REST gateway calls the same gRPC server over an in-memory
// connection, so REST calls pass the same interceptors (authentication, metrics, recovery).
type transport struct {
	handler http.Handler
	inproc  *bufconn.Listener
	tls     *tls.Config // nil: plaintext with h2c
	grace   time.Duration
}

type gatewayRegistrar func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error

func (a *App) newTransport(ctx context.Context) (*transport, error) {
	t := &transport{inproc: bufconn.Listen(4 << 20), grace: a.opts.ShutdownGrace}
	if !a.opts.Insecure {
		cert, err := serverCertificate(ctx, a.kube, a.opts.Namespace, a.opts.TLSCert, a.opts.TLSKey)
		if err != nil {
			return nil, err
		}
		t.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	conn, err := grpc.NewClient("passthrough:///moor-server",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return t.inproc.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20), grpc.MaxCallSendMsgSize(16<<20)))
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { conn.Close() })
	gw := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, kubeproto.NewGatewayMarshaler()),
		runtime.WithUnescapingMode(runtime.UnescapingModeAllExceptReserved),
		runtime.WithForwardResponseOption(sessionCookie(!a.opts.Insecure)),
	)
	// Each Register*Handler builds the service's client on the in-memory connection.
	for _, register := range []gatewayRegistrar{
		apiv1.RegisterApplicationServiceHandler,
		apiv1.RegisterProjectServiceHandler,
		apiv1.RegisterSessionServiceHandler,
		apiv1.RegisterSettingsServiceHandler,
		apiv1.RegisterVersionServiceHandler,
		apiv1.RegisterAccountServiceHandler,
		apiv1.RegisterApplicationSetServiceHandler,
		apiv1.RegisterClusterServiceHandler,
		apiv1.RegisterRepositoryServiceHandler,
		apiv1.RegisterRepoCredsServiceHandler,
	} {
		if err := register(ctx, gw, conn); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/api/webhook", a.webhook)
	mux.HandleFunc("GET /swagger.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.Document())
	})
	settings := a.kubeInf.Core().V1().ConfigMaps().Lister().ConfigMaps(a.opts.Namespace)
	secrets := a.kubeInf.Core().V1().Secrets().Lister().Secrets(a.opts.Namespace)
	mux.Handle("/auth/", sso.New(sso.Options{
		Settings: func() map[string]string {
			cm, err := settings.Get(session.ConfigMapName)
			if err != nil {
				return nil
			}
			return cm.Data
		},
		Secret: func() map[string][]byte {
			s, err := secrets.Get(session.SecretName)
			if err != nil {
				return nil
			}
			return s.Data
		},
		Sessions: a.sessions, Secure: !a.opts.Insecure, Log: a.log,
	}))
	mux.Handle("/", gw)
	reads := &server.RESTReads{Apps: a.apps, Authenticate: a.authn.AuthenticateHTTP, Fallback: gw}
	mux.Handle("GET /api/v1/applications", reads)
	mux.Handle("GET /api/v1/applications/{name}", reads)
	grpcServer := a.grpc.Server
	t.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			grpcServer.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	return t, nil
}

// sessionCookie sets the argocd.token cookie on a REST login and clears it on logout.
func sessionCookie(secure bool) func(context.Context, http.ResponseWriter, proto.Message) error {
	return func(_ context.Context, w http.ResponseWriter, m proto.Message) error {
		c := &http.Cookie{Name: auth.CookieName, Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
		switch resp := m.(type) {
		case *apiv1.SessionServiceCreateResponse:
			c.Value = resp.GetToken()
		case *apiv1.SessionServiceDeleteResponse:
			c.MaxAge = -1
		default:
			return nil
		}
		http.SetCookie(w, c)
		return nil
	}
}

// serve serves the handler on lis (TLS with HTTP/2 and HTTP/1.1, or plaintext HTTP/1.1 and h2c) until ctx
// ends, then shuts down within the grace period.
func (t *transport) serve(ctx context.Context, lis net.Listener) error {
	srv := &http.Server{Handler: t.handler, ReadHeaderTimeout: 10 * time.Second, Protocols: new(http.Protocols)}
	srv.Protocols.SetHTTP1(true)
	if t.tls != nil {
		srv.Protocols.SetHTTP2(true)
		srv.TLSConfig = t.tls
	} else {
		srv.Protocols.SetUnencryptedHTTP2(true)
	}
	errc := make(chan error, 1)
	go func() {
		if t.tls != nil {
			errc <- srv.ServeTLS(lis, "", "")
		} else {
			errc <- srv.Serve(lis)
		}
	}()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), t.grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return srv.Close()
	}
	return nil
}
