package project

import (
	"errors"
	"fmt"
	"strings"
	"time"
	// The controller image may carry no zoneinfo; without it every window with a timeZone would be invalid
	// and its deny windows would block all syncs. The embedded copy is only used when the system has none.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// Sync windows, as an AppProject declares them in spec.syncWindows.
//
// A window opens at each activation of its cron schedule (five fields, read in its timeZone, UTC when unset)
// and stays open for its duration: it is active at t when some activation s satisfies s <= t < s+duration.
// Activations that overlap or touch form one continuous opening.
//
// A window applies to an Application when the app's name, its destination namespace, or its destination
// cluster (server URL or cluster name) matches one of the window's applications, namespaces or clusters globs;
// with andOperator every non-empty list must match. A window with no lists applies to nothing.
//
// For the windows that apply, in this order:
//   - an active deny window blocks, unless the sync is manual and every active deny window has manualSync;
//   - when there are allow windows and none is active, the sync is blocked, unless it is manual and one of
//     those allow windows has manualSync;
//   - otherwise the sync may run.
//
// A sync that was allowed when it started may keep running after the state changes against it when the
// deny window that opened, or the allow window that was open at its start, has syncOverrun.
//
// Invalid windows fail closed: an invalid deny window (or one whose kind is neither allow nor deny) counts as
// always active, an invalid allow window as never active, and neither grants manualSync or syncOverrun.

// WindowDecision is the outcome of checking an app against its project's sync windows.
type WindowDecision struct {
	Allowed bool
	// Reason is a sentence saying why the sync is blocked; empty when it is allowed.
	Reason string
}

const (
	windowKindAllow = "allow"
	windowKindDeny  = "deny"

	// windowLookahead bounds how far NextChange looks and how far WindowActive follows chained
	// activations, so the work per window stays small whatever the schedule.
	windowLookahead = 48 * time.Hour
	// windowMaxChain bounds the chained activations WindowActive follows; each step costs a few dozen Next calls.
	windowMaxChain = 64
)

// cronParser reads the standard five cron fields and descriptors such as @daily. It is a value, not shared
// state: Parser holds only its options.
func cronParser() cron.Parser {
	return cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
}

// windowFieldError names the window field at fault, so callers can prefix the window's index.
type windowFieldError struct {
	field string
	err   error
}

func (e *windowFieldError) Error() string { return e.field + ": " + e.err.Error() }
func (e *windowFieldError) Unwrap() error { return e.err }

// windowTiming is a window's parsed schedule, duration and time zone.
type windowTiming struct {
	schedule cron.Schedule
	duration time.Duration
	loc      *time.Location
}

// parseTiming parses the fields that decide when a window is open, reporting every bad field.
func parseTiming(w v1alpha1.SyncWindow) (windowTiming, error) {
	var tm windowTiming
	var errs []error

	tm.loc = time.UTC
	switch tz := w.TimeZone; {
	case tz == "" || tz == "UTC":
	case tz == "Local":
		// The controller host's zone would make the decision depend on where the controller runs.
		errs = append(errs, &windowFieldError{"timeZone", errors.New(`"Local" is not allowed; name an IANA time zone`)})
	default:
		loc, err := time.LoadLocation(tz)
		if err != nil {
			errs = append(errs, &windowFieldError{"timeZone", err})
		} else {
			tm.loc = loc
		}
	}

	switch s := strings.TrimSpace(w.Schedule); {
	case s == "":
		errs = append(errs, &windowFieldError{"schedule", errors.New("must be set")})
	case strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ="):
		errs = append(errs, &windowFieldError{"schedule", errors.New("set the time zone with timeZone, not in the schedule")})
	case strings.HasPrefix(s, "@every"):
		// @every counts from whenever it is asked, so it has no fixed opening times.
		errs = append(errs, &windowFieldError{"schedule", errors.New("@every has no fixed opening times; use a cron expression")})
	default:
		sched, err := cronParser().Parse(s)
		switch {
		case err != nil:
			errs = append(errs, &windowFieldError{"schedule", err})
		case sched.Next(time.Date(2000, time.January, 1, 0, 0, 0, 0, tm.loc)).IsZero():
			// Such as "0 0 30 2 *": the window would silently never open.
			errs = append(errs, &windowFieldError{"schedule", errors.New("never fires")})
		default:
			tm.schedule = sched
		}
	}

	switch {
	case w.Duration == "":
		errs = append(errs, &windowFieldError{"duration", errors.New("must be set")})
	default:
		d, err := time.ParseDuration(w.Duration)
		switch {
		case err != nil:
			errs = append(errs, &windowFieldError{"duration", err})
		case d <= 0:
			errs = append(errs, &windowFieldError{"duration", fmt.Errorf("must be positive, got %s", w.Duration)})
		default:
			tm.duration = d
		}
	}
	return tm, errors.Join(errs...)
}

// validateKind checks the kind on its own: WindowActive does not need it, the decisions do.
func validateKind(w v1alpha1.SyncWindow) error {
	if w.Kind != windowKindAllow && w.Kind != windowKindDeny {
		return &windowFieldError{"kind", fmt.Errorf(`must be "allow" or "deny", got %q`, w.Kind)}
	}
	return nil
}

// validateWindow returns every problem of window i, each prefixed with syncWindows[i].
func validateWindow(i int, w v1alpha1.SyncWindow) error {
	var errs []error
	if err := validateKind(w); err != nil {
		errs = append(errs, err)
	}
	if _, err := parseTiming(w); err != nil {
		errs = append(errs, err)
	}
	return indexErrors(i, errors.Join(errs...))
}

// indexErrors prefixes each field error in err with syncWindows[i].
func indexErrors(i int, err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range flattenErrors(err) {
		out = append(out, fmt.Errorf("syncWindows[%d].%w", i, e))
	}
	return errors.Join(out...)
}

// flatten unpacks nested errors.Join results so each field error gets its own prefix.
func flattenErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flattenErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// oneLine joins the messages of a joined error with "; " so they fit in a reason sentence.
func oneLine(err error) string {
	var msgs []string
	for _, e := range flattenErrors(err) {
		msgs = append(msgs, e.Error())
	}
	return strings.Join(msgs, "; ")
}

// ValidateSyncWindows reports every invalid field of every window, naming each by index and field, e.g.
// "syncWindows[1].schedule: expected exactly 5 fields, found 3: [0 22 *]". It returns nil when all are valid.
func ValidateSyncWindows(ws v1alpha1.SyncWindows) error {
	var errs []error
	for i, w := range ws {
		if err := validateWindow(i, w); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// lastActivation returns the latest activation s with after < s <= upTo.
//
// It bisects on "is there an activation in (x, upTo]?", which holds for every x below the answer and for
// none at or above it, so the cost is about log2 of the range in seconds (≈22 calls for a month) instead of
// one call per activation, which matters for an every-minute schedule with a long duration.
func (tm windowTiming) lastActivation(after, upTo time.Time) (time.Time, bool) {
	after, upTo = after.In(tm.loc), upTo.In(tm.loc)
	hasActivation := func(x time.Time) bool {
		s := tm.schedule.Next(x)
		return !s.IsZero() && !s.After(upTo)
	}
	if !hasActivation(after) {
		return time.Time{}, false
	}
	lo, hi := after, upTo // an activation lies in (lo, upTo]; none lies in (hi, upTo]
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if hasActivation(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	// Activations fall on whole seconds and (lo, hi] is at most a second long, so it holds exactly the
	// latest one.
	return tm.schedule.Next(lo), true
}

// active says whether the window is open at t and, if so, when it closes. Activations that start before
// (or exactly when) the current opening ends extend it; past windowLookahead or windowMaxChain steps, the returned end
// is a lower bound.
func (tm windowTiming) active(t time.Time) (bool, time.Time) {
	s, ok := tm.lastActivation(t.Add(-tm.duration), t)
	if !ok {
		return false, time.Time{}
	}
	until := s.Add(tm.duration)
	for range windowMaxChain {
		if until.After(t.Add(windowLookahead)) {
			break
		}
		next, ok := tm.lastActivation(s, until)
		if !ok {
			break
		}
		s, until = next, next.Add(tm.duration)
	}
	return true, until.In(tm.loc)
}

// next returns the first activation after t, or zero when the schedule has none within five years.
func (tm windowTiming) next(t time.Time) time.Time {
	return tm.schedule.Next(t.In(tm.loc))
}

// WindowActive says whether the window is open at t and, when it is, until when (in the window's time zone).
// When activations keep chaining into each other beyond 48 hours after t, until is a lower bound. The error
// names the bad field (schedule, duration or timeZone); the kind is not checked.
func WindowActive(w v1alpha1.SyncWindow, t time.Time) (active bool, until time.Time, err error) {
	tm, err := parseTiming(w)
	if err != nil {
		return false, time.Time{}, err
	}
	active, until = tm.active(t)
	return active, until, nil
}

// WindowMatches says whether the window applies to the app. clusterServer is the app's resolved destination
// server URL (the app may name its cluster instead); clusters patterns match it, spec.destination.server or
// spec.destination.name.
func WindowMatches(w v1alpha1.SyncWindow, app *v1alpha1.Application, clusterServer string) bool {
	if app == nil || (len(w.Applications) == 0 && len(w.Namespaces) == 0 && len(w.Clusters) == 0) {
		return false
	}
	dest := app.Spec.Destination
	anyMatches := func(patterns []string, values ...string) bool {
		for _, p := range patterns {
			for _, v := range values {
				// An unset value is not a match, even for "*": a window for "*" clusters says nothing
				// about an app that has no cluster name.
				if v != "" && globMatch(p, v) {
					return true
				}
			}
		}
		return false
	}
	lists := []struct {
		set     bool
		matches bool
	}{
		{len(w.Applications) > 0, anyMatches(w.Applications, app.Name)},
		{len(w.Namespaces) > 0, anyMatches(w.Namespaces, dest.Namespace)},
		{len(w.Clusters) > 0, anyMatches(w.Clusters, clusterServer, dest.Server, dest.Name)},
	}
	and := w.AndOperator != nil && *w.AndOperator
	for _, l := range lists {
		if !l.set {
			continue
		}
		if and && !l.matches {
			return false
		}
		if !and && l.matches {
			return true
		}
	}
	return and
}

// windowState is one window that applies to the app, evaluated at one instant.
type windowState struct {
	index  int
	w      v1alpha1.SyncWindow
	err    error // the window is invalid; it then counts as an active deny or an inactive allow
	deny   bool  // kind deny, or an unknown kind (fail closed)
	active bool
	until  time.Time
	next   time.Time // next activation after the instant, for inactive allow windows
}

func isTrue(b *bool) bool { return b != nil && *b }

func (s windowState) manualSync() bool  { return s.err == nil && isTrue(s.w.ManualSync) }
func (s windowState) syncOverrun() bool { return s.err == nil && isTrue(s.w.SyncOverrun) }

// describe names the window as users wrote it: index, schedule and duration.
func (s windowState) describe() string {
	if s.err != nil {
		kind := s.w.Kind + " "
		if s.w.Kind != windowKindAllow && s.w.Kind != windowKindDeny {
			kind = ""
		}
		return fmt.Sprintf("invalid %swindow %d (%s)", kind, s.index, oneLine(s.err))
	}
	return fmt.Sprintf("%s window %d (schedule %q, %s)", s.w.Kind, s.index, s.w.Schedule, s.w.Duration)
}

// compiledWindow is a window that applies to the app, parsed once so it can be evaluated at several instants.
type compiledWindow struct {
	index  int
	w      v1alpha1.SyncWindow
	timing windowTiming
	err    error
}

// compileWindows parses the windows of p that apply to the app.
func compileWindows(p *v1alpha1.AppProject, app *v1alpha1.Application, clusterServer string) []compiledWindow {
	if p == nil {
		return nil
	}
	var out []compiledWindow
	for i, w := range p.Spec.SyncWindows {
		if !WindowMatches(w, app, clusterServer) {
			continue
		}
		tm, _ := parseTiming(w)
		out = append(out, compiledWindow{index: i, w: w, timing: tm, err: validateWindow(i, w)})
	}
	return out
}

// evaluateWindows states every window at t.
func evaluateWindows(ws []compiledWindow, t time.Time) []windowState {
	out := make([]windowState, 0, len(ws))
	for _, cw := range ws {
		s := windowState{index: cw.index, w: cw.w, err: cw.err, deny: cw.w.Kind != windowKindAllow}
		switch {
		case s.err != nil:
			s.active = s.deny
		default:
			s.active, s.until = cw.timing.active(t)
			if !s.active {
				s.next = cw.timing.next(t)
			}
		}
		out = append(out, s)
	}
	return out
}

// windowRules is the rule set shared by SyncAllowed and SyncMayContinue, split into its two sides.
type windowRules struct {
	activeDenies  []windowState
	denyExempt    bool // manual, and every active deny window has manualSync
	allows        []windowState
	allowOpen     bool // some allow window is active
	allowExempt   bool // manual, and some allow window has manualSync
	blockedByDeny bool
	blockedByOut  bool // allow windows exist, none is active, no exemption
}

func decideWindows(states []windowState, manual bool) windowRules {
	var d windowRules
	for _, s := range states {
		switch {
		case s.deny && s.active:
			d.activeDenies = append(d.activeDenies, s)
		case !s.deny:
			d.allows = append(d.allows, s)
			d.allowOpen = d.allowOpen || s.active
			d.allowExempt = d.allowExempt || (manual && s.manualSync())
		}
	}
	d.denyExempt = manual && len(d.activeDenies) > 0
	for _, s := range d.activeDenies {
		d.denyExempt = d.denyExempt && s.manualSync()
	}
	d.blockedByDeny = len(d.activeDenies) > 0 && !d.denyExempt
	d.blockedByOut = len(d.allows) > 0 && !d.allowOpen && !d.allowExempt
	return d
}

// allowed applies the rules in order: an active deny decides alone, then the allow windows.
func (d windowRules) allowed() bool {
	if len(d.activeDenies) > 0 {
		return d.denyExempt
	}
	return !d.blockedByOut
}

func (d windowRules) reason(t time.Time) string {
	if len(d.activeDenies) > 0 {
		s := d.activeDenies[0]
		for _, c := range d.activeDenies {
			if !c.manualSync() { // name a window that the user would have to change
				s = c
				break
			}
		}
		if s.err != nil {
			return "sync blocked by " + s.describe()
		}
		return fmt.Sprintf("sync blocked by %s active until %s", s.describe(), formatWhen(s.until, t))
	}
	names := make([]string, 0, len(d.allows))
	var next time.Time
	for _, s := range d.allows {
		names = append(names, s.describe())
		if !s.next.IsZero() && (next.IsZero() || s.next.Before(next)) {
			next = s.next
		}
	}
	msg := "sync blocked: outside " + strings.Join(names, ", ")
	if !next.IsZero() {
		msg += "; the next opens at " + formatWhen(next, t)
	}
	return msg
}

// formatWhen shows a time in its own zone, with the date only when it is not on ref's day there.
func formatWhen(x, ref time.Time) string {
	ry, rm, rd := ref.In(x.Location()).Date()
	if y, m, d := x.Date(); y == ry && m == rm && d == rd {
		return x.Format("15:04 MST")
	}
	return x.Format("2006-01-02 15:04 MST")
}

// SyncAllowed decides whether a sync of app (manual, or automated when manual is false) may start at t under
// p's sync windows. A nil project or one without windows allows everything.
func SyncAllowed(p *v1alpha1.AppProject, app *v1alpha1.Application, clusterServer string, manual bool, t time.Time) WindowDecision {
	ws := compileWindows(p, app, clusterServer)
	if len(ws) == 0 {
		return WindowDecision{Allowed: true}
	}
	d := decideWindows(evaluateWindows(ws, t), manual)
	if d.allowed() {
		return WindowDecision{Allowed: true}
	}
	return WindowDecision{Reason: d.reason(t)}
}

// SyncMayContinue decides whether a sync that started at startedAt may keep running at t. It is allowed when
// a sync could start at t; otherwise only when the sync was allowed at startedAt and each change against it
// is covered by syncOverrun: every deny window that blocks at t (and so opened after startedAt) has
// syncOverrun, and, when no allow window is open any more, one that was open at startedAt has syncOverrun.
func SyncMayContinue(p *v1alpha1.AppProject, app *v1alpha1.Application, clusterServer string, manual bool, startedAt, t time.Time) WindowDecision {
	ws := compileWindows(p, app, clusterServer)
	if len(ws) == 0 {
		return WindowDecision{Allowed: true}
	}
	now := decideWindows(evaluateWindows(ws, t), manual)
	if now.allowed() {
		return WindowDecision{Allowed: true}
	}
	blocked := WindowDecision{Reason: now.reason(t)}
	if startedAt.IsZero() || startedAt.After(t) {
		return blocked
	}
	atStart := decideWindows(evaluateWindows(ws, startedAt), manual)
	if !atStart.allowed() {
		return blocked
	}
	if now.blockedByDeny {
		for _, s := range now.activeDenies {
			if manual && s.manualSync() {
				continue
			}
			if !s.syncOverrun() {
				if s.err != nil {
					return WindowDecision{Reason: "sync stopped by " + s.describe()}
				}
				return WindowDecision{Reason: fmt.Sprintf("sync stopped: %s opened after the sync started and does not allow sync overrun", s.describe())}
			}
		}
	}
	if now.blockedByOut {
		for _, s := range atStart.allows {
			if s.active && s.syncOverrun() {
				return WindowDecision{Allowed: true}
			}
		}
		return WindowDecision{Reason: "sync stopped: the allow window open when the sync started has closed and does not allow sync overrun"}
	}
	return WindowDecision{Allowed: true}
}

// NextChange returns when the window state for the app may next change after t (the earliest start or end of
// any matching window), so the controller can requeue then; zero time if none within 48h. Invalid windows
// never change and are skipped.
func NextChange(p *v1alpha1.AppProject, app *v1alpha1.Application, clusterServer string, t time.Time) time.Time {
	var earliest time.Time
	for _, cw := range compileWindows(p, app, clusterServer) {
		if cw.err != nil {
			continue
		}
		c := cw.timing.next(t)
		if active, until := cw.timing.active(t); active {
			c = until // activations inside an opening change nothing
		}
		if c.IsZero() || c.After(t.Add(windowLookahead)) {
			continue
		}
		if earliest.IsZero() || c.Before(earliest) {
			earliest = c
		}
	}
	return earliest
}
