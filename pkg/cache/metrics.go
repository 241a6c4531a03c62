package cache

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	levelL1 = "l1"
	levelL2 = "l2"
)

// metrics are declared once here; each service registers them on its own registry through New.
type metrics struct {
	hits        *prometheus.CounterVec
	misses      *prometheus.CounterVec
	negHits     *prometheus.CounterVec
	evictions   *prometheus.CounterVec
	redisErrors *prometheus.CounterVec
	coalesced   prometheus.Counter
	loads       *prometheus.CounterVec

	// Curried children for the hot paths, so a hit does no label lookup.
	l1Hit, l1Miss, l2Hit, l2Miss, l1NegHit, l2NegHit prometheus.Counter
	loadOK, loadErr                                  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, l1 *lru) (*metrics, error) {
	m := &metrics{
		hits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "moor", Subsystem: "cache", Name: "hits_total",
			Help: "Lookups answered by a cache level (l1: in-process, l2: Redis), negative entries included.",
		}, []string{"level"}),
		misses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "moor", Subsystem: "cache", Name: "misses_total",
			Help: "Lookups a cache level could not answer (l1: in-process, l2: Redis).",
		}, []string{"level"}),
		negHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "moor", Subsystem: "cache", Name: "negative_hits_total",
			Help: "Lookups answered with a cached failure instead of running the load again.",
		}, []string{"level"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "moor", Subsystem: "cache", Name: "evictions_total",
			Help: "Entries dropped from the in-process level, by reason (size: over the byte budget; expired).",
		}, []string{"reason"}),
		redisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "moor", Subsystem: "cache", Name: "redis_errors_total",
			Help: "Redis operations that failed or returned an unreadable entry; the call went on without Redis.",
		}, []string{"op"}),
		coalesced: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "moor", Subsystem: "cache", Name: "coalesced_waits_total",
			Help: "Calls that waited for an identical load already running instead of starting their own.",
		}),
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "moor", Subsystem: "cache", Name: "loads_total",
			Help: "Load functions run on a miss or a bypass, by result (ok, error).",
		}, []string{"result"}),
	}
	collectors := []prometheus.Collector{
		m.hits, m.misses, m.negHits, m.evictions, m.redisErrors, m.coalesced, m.loads,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "moor", Subsystem: "cache", Name: "l1_bytes",
			Help: "Bytes of keys and values held in the in-process level.",
		}, func() float64 { b, _ := l1.stats(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "moor", Subsystem: "cache", Name: "l1_entries",
			Help: "Entries held in the in-process level.",
		}, func() float64 { _, n := l1.stats(); return float64(n) }),
	}
	if reg != nil {
		for _, c := range collectors {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register cache metrics: %w", err)
			}
		}
	}
	m.l1Hit, m.l1Miss = m.hits.WithLabelValues(levelL1), m.misses.WithLabelValues(levelL1)
	m.l2Hit, m.l2Miss = m.hits.WithLabelValues(levelL2), m.misses.WithLabelValues(levelL2)
	m.l1NegHit, m.l2NegHit = m.negHits.WithLabelValues(levelL1), m.negHits.WithLabelValues(levelL2)
	m.loadOK, m.loadErr = m.loads.WithLabelValues("ok"), m.loads.WithLabelValues("error")
	for _, r := range []evictReason{evictSize, evictExpired} {
		m.evictions.WithLabelValues(string(r))
	}
	for _, op := range []string{opGet, opSet, opDel, opDecode} {
		m.redisErrors.WithLabelValues(op)
	}
	return m, nil
}

func (m *metrics) evicted(reason evictReason, n int) {
	m.evictions.WithLabelValues(string(reason)).Add(float64(n))
}
