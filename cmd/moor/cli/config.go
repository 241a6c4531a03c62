package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"sigs.k8s.io/yaml"
)

// Config is the CLI's configuration file: named contexts, each a server and the token used there, like the
// argocd CLI's. It lives in $MOOR_CONFIG, else <user config dir>/moor/config, mode 0600 (it holds tokens).
type Config struct {
	CurrentContext string         `json:"current-context,omitempty"`
	Contexts       []ContextRef   `json:"contexts,omitempty"`
	Servers        []ServerConfig `json:"servers,omitempty"`
	Users          []UserConfig   `json:"users,omitempty"`
}

// ContextRef names a server and a user.
type ContextRef struct {
	Name   string `json:"name"`
	Server string `json:"server"`
	User   string `json:"user"`
}

// ServerConfig is how to reach one server.
type ServerConfig struct {
	Server    string `json:"server"`
	Insecure  bool   `json:"insecure,omitempty"`
	PlainText bool   `json:"plain-text,omitempty"`
}

// UserConfig holds a session token.
type UserConfig struct {
	Name      string `json:"name"`
	AuthToken string `json:"auth-token,omitempty"`
}

// DefaultConfigPath returns where the config file is read from and written to.
func DefaultConfigPath() (string, error) {
	if p := os.Getenv("MOOR_CONFIG"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the config directory: %w (set MOOR_CONFIG)", err)
	}
	return filepath.Join(dir, "moor", "config"), nil
}

// ReadConfig reads path; a missing file is an empty config.
func ReadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	var c Config
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, nil
}

// Write stores the config at path with mode 0600, atomically.
func (c *Config) Write(path string) error {
	b, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Context returns the named context (the current one when name is empty) with its server and user.
func (c *Config) Context(name string) (ContextRef, ServerConfig, UserConfig, bool) {
	if name == "" {
		name = c.CurrentContext
	}
	i := slices.IndexFunc(c.Contexts, func(x ContextRef) bool { return x.Name == name })
	if i < 0 {
		return ContextRef{}, ServerConfig{}, UserConfig{}, false
	}
	ctx := c.Contexts[i]
	var s ServerConfig
	if j := slices.IndexFunc(c.Servers, func(x ServerConfig) bool { return x.Server == ctx.Server }); j >= 0 {
		s = c.Servers[j]
	}
	var u UserConfig
	if j := slices.IndexFunc(c.Users, func(x UserConfig) bool { return x.Name == ctx.User }); j >= 0 {
		u = c.Users[j]
	}
	return ctx, s, u, true
}

// Upsert records a context (server and token) and makes it current.
func (c *Config) Upsert(name string, s ServerConfig, token string) {
	user := name
	c.Servers = upsert(c.Servers, s, func(x ServerConfig) bool { return x.Server == s.Server })
	c.Users = upsert(c.Users, UserConfig{Name: user, AuthToken: token}, func(x UserConfig) bool { return x.Name == user })
	c.Contexts = upsert(c.Contexts, ContextRef{Name: name, Server: s.Server, User: user}, func(x ContextRef) bool { return x.Name == name })
	c.CurrentContext = name
}

// Remove deletes a context and its user; it reports whether it existed.
func (c *Config) Remove(name string) bool {
	n := len(c.Contexts)
	c.Contexts = slices.DeleteFunc(c.Contexts, func(x ContextRef) bool { return x.Name == name })
	c.Users = slices.DeleteFunc(c.Users, func(x UserConfig) bool { return x.Name == name })
	if c.CurrentContext == name {
		c.CurrentContext = ""
	}
	return len(c.Contexts) != n
}

func upsert[T any](list []T, v T, match func(T) bool) []T {
	if i := slices.IndexFunc(list, match); i >= 0 {
		list[i] = v
		return list
	}
	return append(list, v)
}
