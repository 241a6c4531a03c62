package session

import (
	"fmt"
	"sync"
	"time"
)

// maxTrackedUsers bounds the limiter's memory when logins are sprayed over many usernames.
const maxTrackedUsers = 10000

// outcome is how a login attempt ended, for the limiter.
type outcome int

const (
	attemptFailed    outcome = iota // wrong password or unknown user: counts
	attemptSucceeded                // clears the user's failures
	attemptNeutral                  // neither (the cluster could not be read, the account is disabled)
)

// limiter refuses a user's login attempts while maxFailures failures lie within the window. Attempts in flight
// count as failures until they end, so parallel guesses cannot slip past the limit.
type limiter struct {
	maxFailures int // <= 0 disables the limit
	window      time.Duration

	mu    sync.Mutex
	users map[string]*attempts
}

type attempts struct {
	failures []time.Time // the most recent failures inside the window, oldest first, at most maxFailures
	inFlight int
}

func newLimiter(maxFailures int, window time.Duration) *limiter {
	return &limiter{maxFailures: maxFailures, window: window, users: map[string]*attempts{}}
}

// begin admits an attempt of user at now or returns ErrTooManyAttempts. An admitted attempt must be ended.
func (l *limiter) begin(user string, now time.Time) error {
	if l.maxFailures <= 0 {
		return nil
	}
	key := limiterKey(user)
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.users[key]
	if a == nil {
		if len(l.users) >= maxTrackedUsers {
			l.evict(now)
		}
		a = &attempts{}
		l.users[key] = a
	}
	a.failures = l.recent(a.failures, now)
	if n := len(a.failures) + a.inFlight; n >= l.maxFailures {
		// The attempt is admitted again once enough of the counted failures leave the window.
		if i := n - l.maxFailures; i < len(a.failures) {
			wait := a.failures[i].Add(l.window).Sub(now).Round(time.Second)
			return fmt.Errorf("%w for user %s: try again in %s", ErrTooManyAttempts, truncate(user), max(wait, time.Second))
		}
		return fmt.Errorf("%w for user %s: try again in a moment", ErrTooManyAttempts, truncate(user))
	}
	a.inFlight++
	return nil
}

// end records how an admitted attempt ended.
func (l *limiter) end(user string, now time.Time, o outcome) {
	if l.maxFailures <= 0 {
		return
	}
	key := limiterKey(user)
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.users[key]
	if a == nil {
		return // evicted meanwhile
	}
	if a.inFlight > 0 {
		a.inFlight--
	}
	switch o {
	case attemptFailed:
		a.failures = append(l.recent(a.failures, now), now)
		if extra := len(a.failures) - l.maxFailures; extra > 0 {
			a.failures = a.failures[extra:]
		}
	case attemptSucceeded:
		a.failures = nil
	}
	if a.inFlight == 0 && len(a.failures) == 0 {
		delete(l.users, key)
	}
}

// recent drops the failures that left the window.
func (l *limiter) recent(failures []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(failures) && !failures[i].Add(l.window).After(now) {
		i++
	}
	return failures[i:]
}

// evict makes room: it drops users without recent failures and, if that is not enough, an arbitrary idle one.
func (l *limiter) evict(now time.Time) {
	for key, a := range l.users {
		if a.inFlight == 0 && len(l.recent(a.failures, now)) == 0 {
			delete(l.users, key)
		}
	}
	if len(l.users) < maxTrackedUsers {
		return
	}
	for key, a := range l.users {
		if a.inFlight == 0 {
			delete(l.users, key)
			return
		}
	}
}

// limiterKey bounds the memory a sprayed username takes. Valid names are never cut, so they never collide.
func limiterKey(user string) string {
	if len(user) > MaxUsernameLength+1 {
		return user[:MaxUsernameLength+1]
	}
	return user
}
