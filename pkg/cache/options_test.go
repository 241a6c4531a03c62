package cache_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/moorcd/moor/pkg/cache"
)

func TestOptionsFlags(t *testing.T) {
	// Not parallel: t.Setenv.
	t.Setenv(cache.PasswordEnv, "from-env")
	tests := []struct {
		name string
		args []string
		want func(*cache.Options)
	}{
		{name: "defaults", want: func(o *cache.Options) { o.RedisPassword = "from-env" }},
		{
			name: "every flag",
			args: []string{
				"--cache-memory-bytes=1024", "--redis=redis:6379", "--redis-db=2", "--redis-username=moor",
				"--redis-password=from-flag", "--redis-tls", "--redis-compression=none",
				"--redis-key-prefix=x:", "--redis-timeout=2s",
			},
			want: func(o *cache.Options) {
				o.MemoryBytes, o.RedisAddr, o.RedisDB, o.RedisUsername = 1024, "redis:6379", 2, "moor"
				o.RedisPassword, o.RedisTLS, o.RedisCompression = "from-flag", true, cache.CompressionNone
				o.KeyPrefix, o.RedisTimeout = "x:", 2*time.Second
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := cache.NewOptions()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.BindFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			want := cache.NewOptions()
			tt.want(want)
			if *o != *want {
				t.Fatalf("parsed %+v\nwant   %+v", *o, *want)
			}
			if err := o.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if usage := fs.FlagUsages(); strings.Contains(usage, "from-env") {
				t.Fatalf("--help shows the password from the environment:\n%s", usage)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func(*cache.Options)
		wantErr string
	}{
		{name: "defaults", mutate: func(*cache.Options) {}},
		{name: "l1 off", mutate: func(o *cache.Options) { o.MemoryBytes = 0 }},
		{name: "ipv6 redis", mutate: func(o *cache.Options) { o.RedisAddr = "[::1]:6379" }},
		{name: "negative memory", mutate: func(o *cache.Options) { o.MemoryBytes = -1 }, wantErr: "--cache-memory-bytes"},
		{name: "redis without port", mutate: func(o *cache.Options) { o.RedisAddr = "redis" }, wantErr: "--redis must be host:port"},
		{name: "redis without host", mutate: func(o *cache.Options) { o.RedisAddr = ":6379" }, wantErr: "--redis must be host:port"},
		{name: "negative db", mutate: func(o *cache.Options) { o.RedisDB = -1 }, wantErr: "--redis-db"},
		{name: "unknown compression", mutate: func(o *cache.Options) { o.RedisCompression = "gzip" }, wantErr: "--redis-compression"},
		{name: "negative timeout", mutate: func(o *cache.Options) { o.RedisTimeout = -time.Second }, wantErr: "--redis-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := cache.NewOptions()
			tt.mutate(o)
			err := o.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, cache.ErrInvalidOptions) {
				t.Fatalf("Validate = %v, want ErrInvalidOptions mentioning %q", err, tt.wantErr)
			}
			if _, err := cache.New(*o, nil, nil); !errors.Is(err, cache.ErrInvalidOptions) {
				t.Fatalf("New = %v, want ErrInvalidOptions", err)
			}
		})
	}
}

func TestOptionsLogValueHidesPassword(t *testing.T) {
	t.Parallel()
	o := cache.NewOptions()
	o.RedisPassword = "s3cret"
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("cache", "options", *o)
	if strings.Contains(sb.String(), "s3cret") {
		t.Fatalf("password in log: %s", sb.String())
	}
}

func TestMetricsRegisterOncePerRegistry(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	if _, err := cache.New(*cache.NewOptions(), reg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.New(*cache.NewOptions(), reg, nil); err == nil {
		t.Fatalf("a second cache on the same registry registered duplicate metrics")
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range families {
		if f.GetHelp() == "" {
			t.Errorf("%s has no help text", f.GetName())
		}
		names = append(names, f.GetName())
	}
	want := "moor_cache_coalesced_waits_total moor_cache_evictions_total moor_cache_hits_total moor_cache_l1_bytes " +
		"moor_cache_l1_entries moor_cache_loads_total moor_cache_misses_total moor_cache_negative_hits_total moor_cache_redis_errors_total"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("metrics:\n got %s\nwant %s", got, want)
	}
}
