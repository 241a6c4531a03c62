// Package repoclient is how the controller and the api-server call the repo-server: a gRPC connection with
// keepalives and per-call deadlines, retries with backoff on transient codes, and conversion of resolved
// repository credentials (pkg/repocreds) into the wire form.
package repoclient

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	reposerverv1 "github.com/moorcd/moor/pkg/api/moor/reposerver/v1"
	"github.com/moorcd/moor/pkg/repocreds"
)

// Options configure a Client.
type Options struct {
	// Timeout bounds one attempt of a call (default 3 minutes: a cold render of a large chart may be slow).
	Timeout time.Duration
	// Attempts is how many times a transient failure (Unavailable, ResourceExhausted from the transport,
	// Aborted) is tried in all (default 3).
	Attempts int
	// Backoff is the first wait between attempts, doubled each time with jitter (default 200 ms).
	Backoff time.Duration
	// DialOptions add to the defaults (plaintext on loopback/cluster network unless TLS credentials are given).
	DialOptions []grpc.DialOption
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Minute
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = 200 * time.Millisecond
	}
	return o
}

// Client calls the repo-server.
type Client struct {
	conn *grpc.ClientConn
	rpc  reposerverv1.RepoServerServiceClient
	opts Options
}

// Dial connects to the repo-server at addr (host:port). The connection is lazy: Dial does not block.
func Dial(addr string, opts Options) (*Client, error) {
	opts = opts.withDefaults()
	dial := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256 << 20)),
	}, opts.DialOptions...)
	conn, err := grpc.NewClient(addr, dial...)
	if err != nil {
		return nil, fmt.Errorf("repo-server %s: %w", addr, err)
	}
	return &Client{conn: conn, rpc: reposerverv1.NewRepoServerServiceClient(conn), opts: opts}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// GenerateManifests renders one source.
func (c *Client) GenerateManifests(ctx context.Context, req *reposerverv1.GenerateManifestsRequest) (*reposerverv1.GenerateManifestsResponse, error) {
	return call(ctx, c, req, c.rpc.GenerateManifests)
}

// ResolveRevision resolves a revision to a commit or chart version.
func (c *Client) ResolveRevision(ctx context.Context, req *reposerverv1.ResolveRevisionRequest) (*reposerverv1.ResolveRevisionResponse, error) {
	return call(ctx, c, req, c.rpc.ResolveRevision)
}

// RPC returns the raw client for the calls that need no retry policy of their own.
func (c *Client) RPC() reposerverv1.RepoServerServiceClient { return c.rpc }

// call runs one RPC with a per-attempt deadline, retrying transient failures with jittered backoff.
func call[Req proto.Message, Resp any](ctx context.Context, c *Client, req Req, rpc func(context.Context, Req, ...grpc.CallOption) (Resp, error)) (Resp, error) {
	var zero Resp
	wait := c.opts.Backoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
		resp, err := rpc(actx, req)
		cancel()
		if err == nil {
			return resp, nil
		}
		if attempt >= c.opts.Attempts || !transient(err) || ctx.Err() != nil {
			return zero, err
		}
		jittered := wait/2 + rand.N(wait)
		select {
		case <-time.After(jittered):
		case <-ctx.Done():
			return zero, err
		}
		wait *= 2
	}
}

// transient says whether a failure may pass on its own: the repo-server restarting or overloaded.
func transient(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Aborted:
		return true
	}
	return false
}

// Repository converts resolved credentials into the repo-server's wire form.
func Repository(r *repocreds.Repository) *reposerverv1.Repository {
	if r == nil {
		return nil
	}
	out := &reposerverv1.Repository{
		Url:      r.URL,
		Insecure: r.Git.Insecure,
		CaData:   []byte(r.Git.CAData),
		Proxy:    r.Git.Proxy, NoProxy: r.Git.NoProxy,
		EnableLfs: r.EnableLFS, Depth: r.Depth, ForceHttpBasicAuth: r.ForceHTTPBasicAuth, EnableOci: r.EnableOCI,
		Credentials: &reposerverv1.Credentials{
			Username: r.Git.Username, Password: r.Git.Password, BearerToken: r.Git.BearerToken,
			SshPrivateKey: r.Git.SSHPrivateKey, SshKnownHosts: r.Git.KnownHosts, InsecureIgnoreHostKey: r.Git.InsecureIgnoreHostKey,
			TlsClientCertData: []byte(r.Git.TLSClientCertData), TlsClientCertKey: []byte(r.Git.TLSClientCertKey),
		},
	}
	switch r.Type {
	case "helm":
		out.Type = reposerverv1.RepositoryType_REPOSITORY_TYPE_HELM
	case "oci":
		out.Type = reposerverv1.RepositoryType_REPOSITORY_TYPE_OCI
	default:
		out.Type = reposerverv1.RepositoryType_REPOSITORY_TYPE_GIT
	}
	return out
}
