package server

import (
	"encoding/base64"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/kubeproto"
)

// appCache keeps the API message of each application, converted once per resourceVersion, so that List and
// Get only filter, sort and assemble. Converting an Application to its envelope (JSON, then Struct fields)
// costs tens of microseconds; at 10,000 apps that is most of a list.
//
// The cached messages are shared by every response that holds them: nothing may change them after put.
// The cache holds at most one entry per name; entries of deleted apps go at the next sweep, which runs when
// the cache has grown well past the number of live apps it last saw. The zero value is ready to use.
type appCache struct {
	mu      sync.RWMutex
	entries map[string]*appEntry
	// live is the number of applications at the last sweep; puts grows the cache past it.
	live int
}

type appEntry struct {
	uid types.UID
	rv  string
	msg *apiv1.Application

	// The REST form of msg (kubeproto.Marshal), made on first use: the REST fast path writes it as is.
	jsonOnce sync.Once
	json     []byte
	jsonErr  error
}

// JSON returns the entry's REST form.
func (e *appEntry) JSON() ([]byte, error) {
	e.jsonOnce.Do(func() { e.json, e.jsonErr = kubeproto.Marshal(e.msg) })
	return e.json, e.jsonErr
}

// minSweep is the cache size below which no sweep runs.
const minSweep = 1024

// message returns the API message of a, from the cache when a's UID and resourceVersion match the entry.
// a comes from a lister and is shared: it is never changed.
func (c *appCache) message(a *v1alpha1.Application) (*apiv1.Application, error) {
	e, err := c.entry(a)
	if err != nil {
		return nil, err
	}
	return e.msg, nil
}

// json returns the REST form of a (the JSON kubectl prints), cached like message.
func (c *appCache) json(a *v1alpha1.Application) ([]byte, error) {
	e, err := c.entry(a)
	if err != nil {
		return nil, err
	}
	return e.JSON()
}

func (c *appCache) entry(a *v1alpha1.Application) (*appEntry, error) {
	c.mu.RLock()
	e, ok := c.entries[a.Name]
	c.mu.RUnlock()
	if ok && e.uid == a.UID && e.rv == a.ResourceVersion && a.ResourceVersion != "" {
		return e, nil
	}
	msg, err := appMessage(a)
	if err != nil {
		return nil, err
	}
	e = &appEntry{uid: a.UID, rv: a.ResourceVersion, msg: msg}
	if a.ResourceVersion == "" {
		return e, nil
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]*appEntry{}
	}
	// Two callers converting different versions at once may leave the older one here: the next caller then
	// sees a version mismatch and converts again, so the cache is never wrong, only briefly cold.
	c.entries[a.Name] = e
	c.mu.Unlock()
	return e, nil
}

// needsSweep reports whether the cache has grown enough past the live apps to be swept.
func (c *appCache) needsSweep() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries) > max(minSweep, 2*c.live)
}

// sweep drops the entries of applications that are not in all (every live application).
func (c *appCache) sweep(all []*v1alpha1.Application) {
	names := make(map[string]types.UID, len(all))
	for _, a := range all {
		names[a.Name] = a.UID
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, e := range c.entries {
		if uid, ok := names[name]; !ok || uid != e.uid {
			delete(c.entries, name)
		}
	}
	c.live = len(all)
}

// continuePrefix versions the continue token, so its form can change without misreading old tokens.
const continuePrefix = "v1:"

// encodeContinue returns the opaque token that resumes a list after the application named last.
func encodeContinue(last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(continuePrefix + last))
}

// decodeContinue returns the name a continue token resumes after.
func decodeContinue(token string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", false
	}
	last, ok := strings.CutPrefix(string(b), continuePrefix)
	return last, ok && last != ""
}
