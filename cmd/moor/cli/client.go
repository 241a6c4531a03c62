package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// globalOptions are the connection flags every command that talks to moor-server shares (persistent flags on
// the root command). Flags win over the environment (MOOR_SERVER, MOOR_AUTH_TOKEN), which wins over the
// current context of the config file.
type globalOptions struct {
	server     string
	insecure   bool
	plaintext  bool
	authToken  string
	configPath string
	context    string
}

func (o *globalOptions) bind(fs *pflag.FlagSet) {
	fs.StringVar(&o.server, "server", "", "moor-server address host:port (env MOOR_SERVER; default: the current context)")
	fs.BoolVar(&o.insecure, "insecure", false, "skip verification of the server's TLS certificate")
	fs.BoolVar(&o.plaintext, "plaintext", false, "connect without TLS (a server started with --insecure)")
	fs.StringVar(&o.authToken, "auth-token", "", "session or API token (env MOOR_AUTH_TOKEN; default: the current context's)")
	fs.StringVar(&o.configPath, "config", "", "config file (env MOOR_CONFIG; default: <user config dir>/moor/config)")
	fs.StringVar(&o.context, "moor-context", "", "use this context of the config file instead of the current one")
}

// target is a resolved server to talk to.
type target struct {
	ServerConfig
	Token string
}

// configFile returns the config path and its content.
func (o *globalOptions) configFile() (string, *Config, error) {
	path := o.configPath
	if path == "" {
		var err error
		if path, err = DefaultConfigPath(); err != nil {
			return "", nil, err
		}
	}
	c, err := ReadConfig(path)
	return path, c, err
}

// resolve merges flags, environment and config into the server and token to use.
func (o *globalOptions) resolve() (target, error) {
	var t target
	_, cfg, err := o.configFile()
	if err != nil {
		return t, err
	}
	if _, s, u, ok := cfg.Context(o.context); ok {
		t.ServerConfig, t.Token = s, u.AuthToken
	} else if o.context != "" {
		return t, usageErrorf("no context %q in the config file (see 'moor context')", o.context)
	}
	server := t.Server
	if v := os.Getenv("MOOR_SERVER"); v != "" {
		server = v
	}
	if o.server != "" {
		server = o.server
	}
	if server != t.Server {
		// Another server than the context's: its token and settings are never sent there; a context of
		// that server lends its own.
		t = target{ServerConfig: ServerConfig{Server: server}}
		for _, c := range cfg.Contexts {
			if c.Server == server {
				_, s, u, _ := cfg.Context(c.Name)
				t.ServerConfig, t.Token = s, u.AuthToken
				break
			}
		}
	}
	if v := os.Getenv("MOOR_AUTH_TOKEN"); v != "" {
		t.Token = v
	}
	if o.authToken != "" {
		t.Token = o.authToken
	}
	t.Insecure = t.Insecure || o.insecure
	t.PlainText = t.PlainText || o.plaintext
	if t.Server == "" {
		return t, usageErrorf("no server: pass --server, set MOOR_SERVER or run 'moor login SERVER'")
	}
	return t, nil
}

// dial connects to t. The connection carries the token on every call.
func dial(t target) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256 << 20))}
	switch {
	case t.PlainText:
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	default:
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: t.Insecure, MinVersion: tls.VersionTLS12}))) //nolint:gosec // only with --insecure
	}
	if t.Token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer{token: t.Token, plaintext: t.PlainText}))
	}
	conn, err := grpc.NewClient(strings.TrimPrefix(strings.TrimPrefix(t.Server, "https://"), "http://"), opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", t.Server, err)
	}
	return conn, nil
}

// conn resolves the target and connects to it.
func (o *globalOptions) conn() (*grpc.ClientConn, error) {
	t, err := o.resolve()
	if err != nil {
		return nil, err
	}
	return dial(t)
}

// bearer attaches "authorization: Bearer <token>" to each call.
type bearer struct {
	token     string
	plaintext bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearer) RequireTransportSecurity() bool { return !b.plaintext }
