package cache

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/pflag"
)

// Defaults for Options.
const (
	DefaultMemoryBytes  = 256 << 20
	DefaultKeyPrefix    = "moor:v1:"
	DefaultRedisTimeout = 500 * time.Millisecond
	DefaultErrorTTL     = 10 * time.Second
	// DefaultRedisBackoff is how long Redis is left alone after it failed, before the next attempt.
	DefaultRedisBackoff = time.Second

	// PasswordEnv is read when --redis-password is not given, so the password need not be on a command line.
	PasswordEnv = "MOOR_REDIS_PASSWORD"
)

// Compression values for Options.RedisCompression.
const (
	CompressionZstd = "zstd"
	CompressionNone = "none"
)

// Clock tells the time; tests inject a fake one to expire entries without sleeping.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Options configure a Cache. Flags cover what an operator sets; Clock and Codec are for code. Start from
// NewOptions: the zero value has no in-process level and no key prefix.
type Options struct {
	// MemoryBytes bounds the in-process level by the bytes of keys and values. 0 turns it off.
	MemoryBytes int64
	// RedisAddr is host:port of a Redis server shared by replicas; empty means in-process only.
	RedisAddr string
	// RedisDB selects the Redis database.
	RedisDB int
	// RedisUsername and RedisPassword authenticate to Redis (ACL user, or just a password).
	RedisUsername string
	RedisPassword string
	// RedisTLS connects with TLS, verifying the server against the system roots.
	RedisTLS bool
	// RedisCompression is how values are stored in Redis: "zstd" (default) or "none".
	RedisCompression string
	// KeyPrefix namespaces every Redis key, so services and format versions do not collide.
	KeyPrefix string
	// RedisTimeout bounds one Redis round trip; a slower Redis counts as failed and the call goes on without it.
	RedisTimeout time.Duration

	// Codec turns load errors into negative entries and back. Default: SentinelCodec(nil), which keeps
	// only the message (and KindPanic).
	Codec ErrorCodec
	// Clock defaults to the system clock.
	Clock Clock
}

// NewOptions returns Options with the defaults set, ready for BindFlags.
func NewOptions() *Options {
	return &Options{
		MemoryBytes:      DefaultMemoryBytes,
		RedisCompression: CompressionZstd,
		KeyPrefix:        DefaultKeyPrefix,
		RedisTimeout:     DefaultRedisTimeout,
	}
}

// BindFlags registers the cache flags on fs, with the current values as defaults. The Redis password is
// taken from MOOR_REDIS_PASSWORD when the flag is not given; it is never shown as a default in --help.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	fs.Int64Var(&o.MemoryBytes, "cache-memory-bytes", o.MemoryBytes, "Bytes of keys and values kept in the in-process cache (0 turns it off)")
	fs.StringVar(&o.RedisAddr, "redis", o.RedisAddr, "Redis host:port shared by replicas as the second cache level (empty: in-process only)")
	fs.IntVar(&o.RedisDB, "redis-db", o.RedisDB, "Redis database number")
	fs.StringVar(&o.RedisUsername, "redis-username", o.RedisUsername, "Redis ACL user name")
	password := o.RedisPassword
	fs.StringVar(&o.RedisPassword, "redis-password", "", "Redis password (default: $"+PasswordEnv+")")
	if password == "" {
		password = os.Getenv(PasswordEnv)
	}
	o.RedisPassword = password
	fs.BoolVar(&o.RedisTLS, "redis-tls", o.RedisTLS, "Connect to Redis with TLS")
	fs.StringVar(&o.RedisCompression, "redis-compression", o.RedisCompression, "Compression of values stored in Redis: zstd or none")
	fs.StringVar(&o.KeyPrefix, "redis-key-prefix", o.KeyPrefix, "Prefix of every Redis key")
	fs.DurationVar(&o.RedisTimeout, "redis-timeout", o.RedisTimeout, "Timeout of one Redis round trip; slower calls go on without Redis")
}

// Validate reports every invalid option at once; each problem wraps ErrInvalidOptions.
func (o *Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidOptions}, args...)...))
	}
	if o.MemoryBytes < 0 {
		bad("--cache-memory-bytes must not be negative, got %d", o.MemoryBytes)
	}
	if o.RedisAddr != "" {
		if host, port, err := net.SplitHostPort(o.RedisAddr); err != nil || host == "" || port == "" {
			bad("--redis must be host:port, got %q", o.RedisAddr)
		}
	}
	if o.RedisDB < 0 {
		bad("--redis-db must not be negative, got %d", o.RedisDB)
	}
	switch o.RedisCompression {
	case CompressionZstd, CompressionNone, "":
	default:
		bad("--redis-compression must be %s or %s, got %q", CompressionZstd, CompressionNone, o.RedisCompression)
	}
	if o.RedisTimeout < 0 {
		bad("--redis-timeout must not be negative, got %s", o.RedisTimeout)
	}
	return errors.Join(errs...)
}

// LogValue keeps the password out of logs.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int64("memoryBytes", o.MemoryBytes),
		slog.String("redis", o.RedisAddr),
		slog.Int("redisDB", o.RedisDB),
		slog.Bool("redisTLS", o.RedisTLS),
		slog.Bool("redisPassword", o.RedisPassword != ""),
		slog.String("redisCompression", o.RedisCompression),
		slog.String("keyPrefix", o.KeyPrefix),
	)
}

func (o Options) withDefaults() Options {
	if o.RedisCompression == "" {
		o.RedisCompression = CompressionZstd
	}
	if o.RedisTimeout == 0 {
		o.RedisTimeout = DefaultRedisTimeout
	}
	if o.Codec == nil {
		o.Codec = SentinelCodec(nil)
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	return o
}
