package rbac

import (
	"sync"
	"sync/atomic"
)

// maxDecisions bounds the decision cache of one Enforcer (a few MB at most).
const maxDecisions = 32 << 10

// decisions remembers casbin's answers. An Enforcer never changes, so an answer never goes stale; the cache
// is emptied when it grows past its bound, which keeps the memory that distinct requests can pin small.
// A nil *decisions remembers nothing.
type decisions struct {
	m sync.Map // decisionKey -> bool
	n atomic.Int64
}

// decisionKey is an answer of one partition (a set of policy lines), whichever subject led to it.
type decisionKey struct {
	p                        *partition
	resource, action, object string
}

func (d *decisions) get(k decisionKey) (allowed, ok bool) {
	if d == nil {
		return false, false
	}
	v, ok := d.m.Load(k)
	if !ok {
		return false, false
	}
	return v.(bool), true
}

func (d *decisions) put(k decisionKey, allowed bool) {
	if d == nil {
		return
	}
	if d.n.Add(1) > maxDecisions {
		d.m.Clear()
		d.n.Store(0)
	}
	d.m.Store(k, allowed)
}
