package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	// cacheTTL bounds how stale a read may be: a revoked token or disabled account stops working within it.
	cacheTTL = time.Second
	// fetchTimeout bounds a cache refresh, which runs detached from the request that started it.
	fetchTimeout = 15 * time.Second
	// maxWriteAttempts bounds the retries of a write that keeps losing races with other writers.
	maxWriteAttempts = 10
	// bcryptCost is the work factor of password hashes, Argo CD's.
	bcryptCost = 10
	// MinPasswordLength is the shortest password SetPassword accepts, in characters.
	MinPasswordLength = 8
	// maxPasswordBytes is bcrypt's limit; longer passwords would be silently truncated by other implementations.
	maxPasswordBytes = 72
	signingKeyBytes  = 32
)

// Errors of the Store.
var (
	ErrInvalidPassword = errors.New("invalid password")
	ErrNoSigningKey    = errors.New("argocd-secret has no server.secretkey (Bootstrap creates it)")
)

// Store reads and writes accounts in the ConfigMap argocd-cm and the Secret argocd-secret of one namespace.
type Store struct {
	kube      kubernetes.Interface
	namespace string

	loads singleflight.Group
	mu    sync.Mutex
	snap  *snapshot
	// gen counts writes; a read that began before a write is not cached after it.
	gen uint64
}

// snapshot is one read of argocd-cm and argocd-secret.
type snapshot struct {
	at         time.Time
	signingKey []byte
	accounts   accountSet
	revoked    map[string]int64 // RevokedSessionsKey
}

// NewStore returns a Store for the accounts of namespace.
func NewStore(kube kubernetes.Interface, namespace string) *Store {
	return &Store{kube: kube, namespace: namespace}
}

// Bootstrap makes sure argocd-secret has server.secretkey (random 32 bytes, base64) and, when admin is enabled
// and has no password, a random admin password whose bcrypt hash goes to argocd-secret and plain text to
// argocd-initial-admin-secret. It is idempotent and safe when replicas race: objects are created with Create
// (the loser of a race reads the winner's) and changed only by resourceVersion-guarded updates.
func (s *Store) Bootstrap(ctx context.Context) error {
	defer s.invalidate()
	err := s.updateSecret(ctx, func(data map[string][]byte) (bool, error) {
		if len(data[SigningKeyKey]) > 0 {
			return false, nil
		}
		key := make([]byte, signingKeyBytes)
		if _, err := rand.Read(key); err != nil {
			return false, err
		}
		data[SigningKeyKey] = []byte(base64.StdEncoding.EncodeToString(key))
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("bootstrap signing key: %w", err)
	}
	if err := s.bootstrapAdminPassword(ctx); err != nil {
		return fmt.Errorf("bootstrap admin password: %w", err)
	}
	return nil
}

func (s *Store) bootstrapAdminPassword(ctx context.Context) error {
	snap, err := s.fetch(ctx)
	if err != nil {
		return err
	}
	admin := snap.accounts.accounts[AdminUsername]
	if err := snap.accounts.errs[AdminUsername]; err != nil {
		return err
	}
	if !admin.Enabled || admin.PasswordHash != "" {
		return nil
	}
	// The initial admin Secret decides the password: whoever creates it wins, and every replica hashes that
	// same password, so whichever hash lands in argocd-secret matches what kubectl shows.
	password, err := s.initialAdminPassword(ctx)
	if err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	mtime := time.Now().UTC().Format(time.RFC3339)
	return s.updateSecret(ctx, func(data map[string][]byte) (bool, error) {
		if len(data[secretKey(AdminUsername, fieldPassword)]) > 0 {
			return false, nil
		}
		data[secretKey(AdminUsername, fieldPassword)] = hash
		data[secretKey(AdminUsername, fieldPasswordMtime)] = []byte(mtime)
		return true, nil
	})
}

// initialAdminPassword returns the password in argocd-initial-admin-secret, creating the Secret with a random
// password when it does not exist.
func (s *Store) initialAdminPassword(ctx context.Context) (string, error) {
	secrets := s.kube.CoreV1().Secrets(s.namespace)
	for range maxWriteAttempts {
		cur, err := secrets.Get(ctx, InitialAdminSecretName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			password := rand.Text()
			obj := newSecret(s.namespace, InitialAdminSecretName, map[string][]byte{InitialAdminPasswordKey: []byte(password)})
			_, err := secrets.Create(ctx, obj, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("create secret %s: %w", InitialAdminSecretName, err)
			}
			return password, nil
		case err != nil:
			return "", fmt.Errorf("read secret %s: %w", InitialAdminSecretName, err)
		}
		if p := cur.Data[InitialAdminPasswordKey]; len(p) > 0 {
			return string(p), nil
		}
		password := rand.Text()
		next := cur.DeepCopy()
		if next.Data == nil {
			next.Data = map[string][]byte{}
		}
		next.Data[InitialAdminPasswordKey] = []byte(password)
		_, err = secrets.Update(ctx, next, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("update secret %s: %w", InitialAdminSecretName, err)
		}
		return password, nil
	}
	return "", fmt.Errorf("write secret %s: gave up after %d conflicting writes", InitialAdminSecretName, maxWriteAttempts)
}

// Accounts returns every account, sorted by name. An invalid entry in the settings fails the whole list.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	snap, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	if len(snap.accounts.errs) > 0 {
		names := make([]string, 0, len(snap.accounts.errs))
		for name := range snap.accounts.errs {
			names = append(names, name)
		}
		sort.Strings(names)
		errs := make([]error, 0, len(names))
		for _, name := range names {
			errs = append(errs, fmt.Errorf("account %s: %w", name, snap.accounts.errs[name]))
		}
		return nil, errors.Join(errs...)
	}
	out := make([]Account, 0, len(snap.accounts.accounts))
	for _, a := range snap.accounts.accounts {
		out = append(out, *a.clone())
	}
	slices.SortFunc(out, func(a, b Account) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Account returns the named account, ErrAccountNotFound when there is none.
func (s *Store) Account(ctx context.Context, name string) (*Account, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: %q", ErrAccountNotFound, truncate(name))
	}
	snap, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	return snap.account(name)
}

// lookup is Account within one snapshot.
func (snap *snapshot) lookup(name string) (*Account, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: %q", ErrAccountNotFound, truncate(name))
	}
	return snap.account(name)
}

func (snap *snapshot) account(name string) (*Account, error) {
	a, ok := snap.accounts.accounts[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrAccountNotFound, name)
	}
	if err := snap.accounts.errs[name]; err != nil {
		return nil, fmt.Errorf("account %s: %w", name, err)
	}
	return a.clone(), nil
}

// SigningKey returns the key that signs sessions (the bytes of argocd-secret server.secretkey).
func (s *Store) SigningKey(ctx context.Context) ([]byte, error) {
	snap, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	if len(snap.signingKey) == 0 {
		return nil, ErrNoSigningKey
	}
	return slices.Clone(snap.signingKey), nil
}

// SetPassword sets the account's password (bcrypt) and its change time, which invalidates every token issued
// before it.
func (s *Store) SetPassword(ctx context.Context, name, newPassword string) error {
	if n := utf8.RuneCountInString(newPassword); n < MinPasswordLength {
		return fmt.Errorf("%w: a password must have at least %d characters", ErrInvalidPassword, MinPasswordLength)
	}
	if len(newPassword) > maxPasswordBytes {
		return fmt.Errorf("%w: a password must have at most %d bytes", ErrInvalidPassword, maxPasswordBytes)
	}
	if _, err := s.freshAccount(ctx, name); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(newPassword), bcryptCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err) // bcrypt's errors never quote the password
	}
	// Seconds precision, like the iat of tokens: a session issued after the change is never older than it.
	mtime := time.Now().UTC().Format(time.RFC3339)
	defer s.invalidate()
	err = s.updateSecret(ctx, func(data map[string][]byte) (bool, error) {
		data[secretKey(name, fieldPassword)] = hash
		data[secretKey(name, fieldPasswordMtime)] = []byte(mtime)
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("set password of account %s: %w", name, err)
	}
	return nil
}

// AddToken records an API token of the account, which must have the apiKey capability.
func (s *Store) AddToken(ctx context.Context, name string, t Token) error {
	if t.ID == "" {
		return errors.New("add token: empty token id")
	}
	acct, err := s.freshAccount(ctx, name)
	if err != nil {
		return err
	}
	if !acct.HasCapability(CapabilityAPIKey) {
		return fmt.Errorf("%w %s: account %s", ErrMissingCapability, CapabilityAPIKey, name)
	}
	defer s.invalidate()
	err = s.updateSecret(ctx, func(data map[string][]byte) (bool, error) {
		key := secretKey(name, fieldTokens)
		tokens, err := parseTokens(data[key])
		if err != nil {
			return false, fmt.Errorf("%w: %s key %s: %w", ErrInvalidSettings, SecretName, key, err)
		}
		if slices.ContainsFunc(tokens, func(x Token) bool { return x.ID == t.ID }) {
			return false, ErrTokenExists
		}
		return true, writeTokens(data, key, append(tokens, t))
	})
	if err != nil {
		return fmt.Errorf("add token to account %s: %w", name, err)
	}
	return nil
}

// RemoveToken revokes the account's API token id; ErrTokenNotFound when the account has no such token.
func (s *Store) RemoveToken(ctx context.Context, name, id string) error {
	if _, err := s.freshAccount(ctx, name); err != nil {
		return err
	}
	defer s.invalidate()
	err := s.updateSecret(ctx, func(data map[string][]byte) (bool, error) {
		key := secretKey(name, fieldTokens)
		tokens, err := parseTokens(data[key])
		if err != nil {
			return false, fmt.Errorf("%w: %s key %s: %w", ErrInvalidSettings, SecretName, key, err)
		}
		i := slices.IndexFunc(tokens, func(x Token) bool { return x.ID == id })
		if i < 0 {
			return false, ErrTokenNotFound
		}
		return true, writeTokens(data, key, slices.Delete(tokens, i, i+1))
	})
	if err != nil {
		return fmt.Errorf("remove token from account %s: %w", name, err)
	}
	return nil
}

func writeTokens(data map[string][]byte, key string, tokens []Token) error {
	if len(tokens) == 0 {
		delete(data, key)
		return nil
	}
	b, err := json.Marshal(tokens)
	if err != nil {
		return err
	}
	data[key] = b
	return nil
}

// freshAccount reads the account past the cache, for writes that must not act on a stale view.
func (s *Store) freshAccount(ctx context.Context, name string) (*Account, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: %q", ErrAccountNotFound, truncate(name))
	}
	snap, err := s.fetch(ctx)
	if err != nil {
		return nil, err
	}
	if _, ok := snap.accounts.accounts[name]; !ok {
		return nil, fmt.Errorf("%w: %s", ErrAccountNotFound, name)
	}
	return snap.accounts.accounts[name].clone(), nil
}

// updateSecret applies mutate to argocd-secret's data and writes the result when mutate reports a change:
// Create when the Secret does not exist, else an Update carrying the resourceVersion that was read. A lost
// race (AlreadyExists, Conflict) reads again and reapplies mutate.
func (s *Store) updateSecret(ctx context.Context, mutate func(data map[string][]byte) (bool, error)) error {
	secrets := s.kube.CoreV1().Secrets(s.namespace)
	for range maxWriteAttempts {
		cur, err := secrets.Get(ctx, SecretName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			data := map[string][]byte{}
			changed, err := mutate(data)
			if err != nil || !changed {
				return err
			}
			_, err = secrets.Create(ctx, newSecret(s.namespace, SecretName, data), metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			if err != nil {
				return fmt.Errorf("create secret %s: %w", SecretName, err)
			}
			return nil
		case err != nil:
			return fmt.Errorf("read secret %s: %w", SecretName, err)
		}
		next := cur.DeepCopy()
		if next.Data == nil {
			next.Data = map[string][]byte{}
		}
		changed, err := mutate(next.Data)
		if err != nil || !changed {
			return err
		}
		_, err = secrets.Update(ctx, next, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("update secret %s: %w", SecretName, err)
		}
		return nil
	}
	return fmt.Errorf("write secret %s: gave up after %d conflicting writes", SecretName, maxWriteAttempts)
}

func newSecret(namespace, name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: namespace,
			Labels:    map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "argocd"},
		},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
}

// current returns a snapshot at most cacheTTL old. Concurrent callers share one read; a caller whose context
// ends stops waiting while the read, bounded by fetchTimeout, completes for the others.
func (s *Store) current(ctx context.Context) (*snapshot, error) {
	s.mu.Lock()
	snap, gen := s.snap, s.gen
	s.mu.Unlock()
	if snap != nil && time.Since(snap.at) < cacheTTL {
		return snap, nil
	}
	ch := s.loads.DoChan(strconv.FormatUint(gen, 10), func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		snap, err := s.fetch(fctx)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		if s.gen == gen {
			s.snap = snap
		}
		s.mu.Unlock()
		return snap, nil
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*snapshot), nil
	}
}

// invalidate drops the cache after a write so this Store sees its own writes at once.
func (s *Store) invalidate() {
	s.mu.Lock()
	s.gen++
	s.snap = nil
	s.mu.Unlock()
}

// fetch reads argocd-cm and argocd-secret; a missing object reads as empty.
func (s *Store) fetch(ctx context.Context) (*snapshot, error) {
	at := time.Now()
	var cmData map[string]string
	cm, err := s.kube.CoreV1().ConfigMaps(s.namespace).Get(ctx, ConfigMapName, metav1.GetOptions{})
	switch {
	case err == nil:
		cmData = cm.Data
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("read configmap %s: %w", ConfigMapName, err)
	}
	var secretData map[string][]byte
	secret, err := s.kube.CoreV1().Secrets(s.namespace).Get(ctx, SecretName, metav1.GetOptions{})
	switch {
	case err == nil:
		secretData = secret.Data
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("read secret %s: %w", SecretName, err)
	}
	return &snapshot{
		at:         at,
		signingKey: slices.Clone(secretData[SigningKeyKey]),
		accounts:   parseAccounts(cmData, secretData),
		revoked:    parseRevoked(secretData[RevokedSessionsKey]),
	}, nil
}

// truncate shortens a name from a request before it goes into an error.
func truncate(name string) string {
	if len(name) > MaxUsernameLength+8 {
		return name[:MaxUsernameLength+8] + "..."
	}
	return name
}
