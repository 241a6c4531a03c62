package gittest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHOptions configure an SSH Git server.
type SSHOptions struct {
	// AuthorizedKeys are accepted in addition to the generated SSHServer.ClientKeyPEM.
	AuthorizedKeys []ssh.PublicKey
}

// SSHServer is an in-process SSH server that runs git-upload-pack and git-receive-pack for repositories
// under its root, for clients that authenticate with an authorized public key.
type SSHServer struct {
	// Addr is host:port.
	Addr string
	// HostKey is the server's public host key; KnownHosts is its known_hosts line.
	HostKey    ssh.PublicKey
	KnownHosts string
	// ClientKeyPEM is an OpenSSH private key the server authorizes.
	ClientKeyPEM []byte

	root       string
	authorized map[string]bool
	execs      atomic.Int64
	authFails  atomic.Int64
}

// NewSSHKey generates an ed25519 key pair: the private key as OpenSSH PEM and the public key.
func NewSSHKey(t testing.TB) ([]byte, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	return pem.EncodeToMemory(block), sshPub
}

// KnownHostsLine returns a known_hosts line binding addr (host:port) to key.
func KnownHostsLine(addr string, key ssh.PublicKey) string {
	return knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n"
}

// NewSSHServer starts a server; t.Cleanup stops it and waits for its connections.
func NewSSHServer(t testing.TB, opts SSHOptions) *SSHServer {
	t.Helper()
	RequireGit(t)
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	clientPEM, clientPub := NewSSHKey(t)
	s := &SSHServer{
		HostKey:      hostSigner.PublicKey(),
		ClientKeyPEM: clientPEM,
		root:         t.TempDir(),
		authorized:   map[string]bool{string(clientPub.Marshal()): true},
	}
	for _, k := range opts.AuthorizedKeys {
		s.authorized[string(k.Marshal())] = true
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if s.authorized[string(key.Marshal())] {
				return &ssh.Permissions{}, nil
			}
			s.authFails.Add(1)
			return nil, errors.New("unauthorized key")
		},
		MaxAuthTries: 3,
	}
	cfg.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	s.Addr = ln.Addr().String()
	s.KnownHosts = KnownHostsLine(s.Addr, s.HostKey)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serveConn(ctx, conn, cfg)
			}()
		}
	}()
	t.Cleanup(func() {
		cancel()
		_ = ln.Close()
		wg.Wait()
	})
	return s
}

// Add serves repo r under name and returns its ssh:// URL.
func (s *SSHServer) Add(t testing.TB, name string, r *Repo) string {
	t.Helper()
	link(t, s.root, name, r)
	return "ssh://git@" + s.Addr + "/" + strings.TrimPrefix(name, "/")
}

// Execs counts git commands run (every ls-remote and every fetch is one).
func (s *SSHServer) Execs() int64 { return s.execs.Load() }

// AuthFailures counts refused public keys.
func (s *SSHServer) AuthFailures() int64 { return s.authFails.Load() }

func (s *SSHServer) serveConn(ctx context.Context, conn net.Conn, cfg *ssh.ServerConfig) {
	defer conn.Close()
	// Bound every connection, so a stuck client cannot hold the test.
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	sconn, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	defer sconn.Close()
	go ssh.DiscardRequests(reqs)
	go func() {
		<-ctx.Done()
		_ = sconn.Close()
	}()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go s.serveSession(ctx, ch, chReqs)
	}
}

func (s *SSHServer) serveSession(ctx context.Context, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var env []string
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			if ssh.Unmarshal(req.Payload, &kv) == nil && kv.Name == "GIT_PROTOCOL" {
				env = append(env, kv.Name+"="+kv.Value)
				_ = req.Reply(true, nil)
				continue
			}
			_ = req.Reply(false, nil)
		case "exec":
			var p struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &p); err != nil {
				_ = req.Reply(false, nil)
				return
			}
			cmd, cancel, err := s.command(ctx, p.Command)
			if err != nil {
				_ = req.Reply(true, nil)
				fmt.Fprintf(ch.Stderr(), "gittest: %v\n", err)
				sendExit(ch, 128)
				return
			}
			_ = req.Reply(true, nil)
			s.execs.Add(1)
			code := run(cmd, ch, env)
			cancel()
			sendExit(ch, code)
			return
		default:
			_ = req.Reply(false, nil)
		}
	}
}

// command parses "git-upload-pack '/repo.git'" and jails the path to the server's root.
func (s *SSHServer) command(ctx context.Context, line string) (*exec.Cmd, context.CancelFunc, error) {
	verb, arg, ok := strings.Cut(strings.TrimSpace(line), " ")
	if !ok {
		return nil, nil, fmt.Errorf("unsupported command")
	}
	var sub string
	switch verb {
	case "git-upload-pack", "git upload-pack":
		sub = "upload-pack"
	case "git-receive-pack":
		sub = "receive-pack"
	default:
		return nil, nil, fmt.Errorf("unsupported command %q", verb)
	}
	arg = strings.Trim(strings.TrimSpace(arg), `'"`)
	rel := strings.TrimPrefix(path.Clean("/"+arg), "/")
	if rel == "" || strings.ContainsAny(rel, "\x00\n") {
		return nil, nil, fmt.Errorf("bad repository path")
	}
	dir := filepath.Join(s.root, filepath.FromSlash(rel))
	if r, err := filepath.Rel(s.root, dir); err != nil || r == ".." || strings.HasPrefix(r, "../") {
		return nil, nil, fmt.Errorf("repository path escapes the root")
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	return exec.CommandContext(cctx, "git", sub, dir), cancel, nil
}

func run(cmd *exec.Cmd, ch ssh.Channel, env []string) int {
	cmd.Env = append(Env(), env...)
	cmd.Stdout = ch
	cmd.Stderr = ch.Stderr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 128
	}
	if err := cmd.Start(); err != nil {
		return 128
	}
	// Copy the client's input without making Wait depend on it: the client may keep its side open.
	go func() {
		_, _ = io.Copy(stdin, ch)
		_ = stdin.Close()
	}()
	if err := cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return exitErr.ExitCode()
		}
		return 128
	}
	return 0
}

func sendExit(ch ssh.Channel, code int) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(code))
	_, _ = ch.SendRequest("exit-status", false, b[:])
}
