package health

import (
	"fmt"
)

// Status is the health of one resource or of a whole application. The values and their spelling are Argo CD's,
// so Application.status.health.status written by Moor reads the same to Argo CD tooling.
type Status string

// The statuses, best first. Order matters: see IsWorse.
const (
	Healthy     Status = "Healthy"
	Suspended   Status = "Suspended"
	Progressing Status = "Progressing"
	Missing     Status = "Missing"
	Degraded    Status = "Degraded"
	Unknown     Status = "Unknown"
)

// order ranks the statuses from best (0) to worst, as Argo CD's healthOrder does.
var order = map[Status]int{
	Healthy:     0,
	Suspended:   1,
	Progressing: 2,
	Missing:     3,
	Degraded:    4,
	Unknown:     5,
}

// Statuses lists every status, best first.
func Statuses() []Status {
	return []Status{Healthy, Suspended, Progressing, Missing, Degraded, Unknown}
}

// Valid reports whether s is one of the six statuses (case-sensitive, like Argo CD).
func (s Status) Valid() bool {
	_, ok := order[s]
	return ok
}

// IsWorse reports whether b is worse than a. A status outside the six ranks as Unknown.
func IsWorse(a, b Status) bool {
	return rank(b) > rank(a)
}

func rank(s Status) int {
	if r, ok := order[s]; ok {
		return r
	}
	return order[Unknown]
}

// ParseStatus checks a status string from outside (a Lua script, a child Application's status).
func ParseStatus(s string) (Status, error) {
	st := Status(s)
	if !st.Valid() {
		return "", fmt.Errorf("%w %q (want one of Healthy, Suspended, Progressing, Missing, Degraded, Unknown)", ErrInvalidStatus, s)
	}
	return st, nil
}

// Result is the health of one resource.
type Result struct {
	Status  Status `json:"status"`
	Message string `json:"message,omitempty"`
}

func result(s Status, message string) *Result {
	return &Result{Status: s, Message: message}
}

func resultf(s Status, format string, args ...any) *Result {
	return &Result{Status: s, Message: fmt.Sprintf(format, args...)}
}
