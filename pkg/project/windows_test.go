package project

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

func windowProject(ws ...v1alpha1.SyncWindow) *v1alpha1.AppProject {
	return &v1alpha1.AppProject{
		ObjectMeta: metav1.ObjectMeta{Name: "team"},
		Spec:       v1alpha1.AppProjectSpec{SyncWindows: ws},
	}
}

func windowApp(name, server, cluster, namespace string) *v1alpha1.Application {
	return &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ApplicationSpec{
			Destination: v1alpha1.ApplicationDestination{Server: server, Name: cluster, Namespace: namespace},
		},
	}
}

func windowTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func windowBool(b bool) *bool { return &b }

// nightlyDeny is a deny window for every app from 22:00 to 23:00 UTC.
func nightlyDeny() v1alpha1.SyncWindow {
	return v1alpha1.SyncWindow{Kind: "deny", Schedule: "0 22 * * *", Duration: "1h", Applications: []string{"*"}}
}

// officeAllow is an allow window for every app from 09:00 to 17:00 UTC on weekdays.
func officeAllow() v1alpha1.SyncWindow {
	return v1alpha1.SyncWindow{Kind: "allow", Schedule: "0 9 * * 1-5", Duration: "8h", Applications: []string{"*"}}
}

func withWindow(w v1alpha1.SyncWindow, edit func(*v1alpha1.SyncWindow)) v1alpha1.SyncWindow {
	edit(&w)
	return w
}

func TestValidateSyncWindows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		windows v1alpha1.SyncWindows
		want    []string // substrings of the error; none means valid
	}{
		{name: "none", windows: nil},
		{name: "valid", windows: v1alpha1.SyncWindows{nightlyDeny(), officeAllow(), withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) {
			w.TimeZone, w.Schedule = "Europe/Berlin", "@daily"
		})}},
		{
			name:    "bad schedule names index and field",
			windows: v1alpha1.SyncWindows{nightlyDeny(), withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule = "0 22 *" })},
			want:    []string{"syncWindows[1].schedule: expected exactly 5 fields"},
		},
		{
			name:    "seconds field is not standard",
			windows: v1alpha1.SyncWindows{withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule = "0 0 22 * * *" })},
			want:    []string{"syncWindows[0].schedule: expected exactly 5 fields"},
		},
		{
			name:    "schedule that never fires",
			windows: v1alpha1.SyncWindows{withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule = "0 0 30 2 *" })},
			want:    []string{"syncWindows[0].schedule: never fires"},
		},
		{
			name:    "@every has no fixed start",
			windows: v1alpha1.SyncWindows{withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule = "@every 1h" })},
			want:    []string{"syncWindows[0].schedule: @every"},
		},
		{
			name:    "time zone inside the schedule",
			windows: v1alpha1.SyncWindows{withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule = "CRON_TZ=UTC 0 22 * * *" })},
			want:    []string{"syncWindows[0].schedule: set the time zone with timeZone"},
		},
		{
			name:    "missing schedule",
			windows: v1alpha1.SyncWindows{withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule = "" })},
			want:    []string{"syncWindows[0].schedule: must be set"},
		},
		{
			name:    "bad duration",
			windows: v1alpha1.SyncWindows{withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Duration = "1 hour" })},
			want:    []string{"syncWindows[0].duration: time: unknown unit"},
		},
		{
			name:    "non-positive duration",
			windows: v1alpha1.SyncWindows{withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Duration = "-1h" })},
			want:    []string{"syncWindows[0].duration: must be positive"},
		},
		{
			name:    "bad time zone",
			windows: v1alpha1.SyncWindows{withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.TimeZone = "Mars/Olympus" })},
			want:    []string{"syncWindows[0].timeZone: unknown time zone Mars/Olympus"},
		},
		{
			name:    "host time zone",
			windows: v1alpha1.SyncWindows{withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.TimeZone = "Local" })},
			want:    []string{"syncWindows[0].timeZone:"},
		},
		{
			name:    "bad kind",
			windows: v1alpha1.SyncWindows{withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Kind = "block" })},
			want:    []string{`syncWindows[0].kind: must be "allow" or "deny", got "block"`},
		},
		{
			name: "every problem of every window",
			windows: v1alpha1.SyncWindows{
				withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Kind, w.Duration = "", "" }),
				nightlyDeny(),
				withWindow(officeAllow(), func(w *v1alpha1.SyncWindow) { w.Schedule, w.TimeZone = "61 * * * *", "Nowhere" }),
			},
			want: []string{
				"syncWindows[0].kind:", "syncWindows[0].duration: must be set",
				"syncWindows[2].schedule:", "syncWindows[2].timeZone:",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateSyncWindows(tt.windows)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("ValidateSyncWindows() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateSyncWindows() = nil, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ValidateSyncWindows() = %q, want it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "syncWindows[1]") && tt.name == "every problem of every window" {
				t.Errorf("ValidateSyncWindows() = %q blames the valid window 1", err)
			}
		})
	}
}

func TestWindowActive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		window    v1alpha1.SyncWindow
		t         string
		wantOn    bool
		wantUntil string // RFC 3339; "" when inactive; ">48h" for a chained lower bound
	}{
		{name: "at the start", window: nightlyDeny(), t: "2024-07-01T22:00:00Z", wantOn: true, wantUntil: "2024-07-01T23:00:00Z"},
		{name: "just before the start", window: nightlyDeny(), t: "2024-07-01T21:59:59.999Z"},
		{name: "inside", window: nightlyDeny(), t: "2024-07-01T22:30:00Z", wantOn: true, wantUntil: "2024-07-01T23:00:00Z"},
		{name: "just before the end", window: nightlyDeny(), t: "2024-07-01T22:59:59.999Z", wantOn: true, wantUntil: "2024-07-01T23:00:00Z"},
		{name: "at the end", window: nightlyDeny(), t: "2024-07-01T23:00:00Z"},
		{name: "far outside", window: nightlyDeny(), t: "2024-07-02T10:00:00Z"},
		{
			name:   "crosses midnight",
			window: withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule, w.Duration = "0 23 * * *", "2h" }),
			t:      "2024-07-02T00:30:00Z", wantOn: true, wantUntil: "2024-07-02T01:00:00Z",
		},
		{
			name:   "time given in another zone",
			window: nightlyDeny(),
			t:      "2024-07-01T18:30:00-04:00", wantOn: true, wantUntil: "2024-07-01T23:00:00Z",
		},
		{
			name:   "duration longer than the gap between activations",
			window: withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule, w.Duration = "0 8 1,2 * *", "36h" }),
			// Opened on the 1st at 08:00; the 2nd's opening starts before that one ends, so it lasts to the 3rd 20:00.
			t: "2024-07-02T07:00:00Z", wantOn: true, wantUntil: "2024-07-03T20:00:00Z",
		},
		{
			name:   "duration longer than the gap, covered only by the later activation",
			window: withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule, w.Duration = "0 8 1,2 * *", "36h" }),
			t:      "2024-07-03T19:59:00Z", wantOn: true, wantUntil: "2024-07-03T20:00:00Z",
		},
		{
			name:   "duration longer than the gap, closed",
			window: withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule, w.Duration = "0 8 1,2 * *", "36h" }),
			t:      "2024-07-03T20:00:00Z",
		},
		{
			name:   "duration longer than the period is always open",
			window: withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule, w.Duration = "0 0 * * *", "25h" }),
			t:      "2024-07-02T13:00:00Z", wantOn: true, wantUntil: ">48h",
		},
		{
			name:   "back-to-back openings chain",
			window: withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule, w.Duration = "0 22,23 * * *", "1h" }),
			t:      "2024-07-01T22:10:00Z", wantOn: true, wantUntil: "2024-07-02T00:00:00Z",
		},
		{
			name:   "every minute for a month",
			window: withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule, w.Duration = "* 3 1 * *", "720h" }),
			t:      "2024-07-25T12:00:00Z", wantOn: true, wantUntil: "2024-07-31T03:59:00Z",
		},
		{
			name:   "Berlin summer time, open",
			window: withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.TimeZone = "Europe/Berlin" }),
			t:      "2024-07-01T20:30:00Z", wantOn: true, wantUntil: "2024-07-01T21:00:00Z",
		},
		{
			name:   "Berlin summer time, 22:00 UTC is after the window",
			window: withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.TimeZone = "Europe/Berlin" }),
			t:      "2024-07-01T22:00:00Z",
		},
		{
			name:   "Berlin winter time, open",
			window: withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.TimeZone = "Europe/Berlin" }),
			t:      "2024-01-15T21:30:00Z", wantOn: true, wantUntil: "2024-01-15T22:00:00Z",
		},
		{
			name:   "Berlin winter time, 20:30 UTC is before the window",
			window: withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.TimeZone = "Europe/Berlin" }),
			t:      "2024-01-15T20:30:00Z",
		},
		{
			name:   "Berlin spring forward skips the 02:30 that does not exist",
			window: withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule, w.TimeZone = "30 2 * * *", "Europe/Berlin" }),
			t:      "2024-03-31T01:15:00Z",
		},
		{
			name:   "Berlin fall back opens at both 02:30s, which chain",
			window: withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule, w.TimeZone = "30 2 * * *", "Europe/Berlin" }),
			t:      "2024-10-27T00:45:00Z", wantOn: true, wantUntil: "2024-10-27T02:30:00Z",
		},
		{
			name:   "weekday schedule on a Saturday",
			window: officeAllow(),
			t:      "2024-07-06T10:00:00Z",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := windowTime(t, tt.t)
			on, until, err := WindowActive(tt.window, now)
			if err != nil {
				t.Fatalf("WindowActive() error = %v", err)
			}
			if on != tt.wantOn {
				t.Fatalf("WindowActive() active = %v, want %v", on, tt.wantOn)
			}
			switch tt.wantUntil {
			case "":
				if !until.IsZero() {
					t.Errorf("WindowActive() until = %v, want zero", until)
				}
			case ">48h":
				if !until.After(now.Add(48 * time.Hour)) {
					t.Errorf("WindowActive() until = %v, want after %v", until, now.Add(48*time.Hour))
				}
			default:
				if want := windowTime(t, tt.wantUntil); !until.Equal(want) {
					t.Errorf("WindowActive() until = %v, want %v", until, want)
				}
			}
		})
	}
}

func TestWindowActiveReportsTheZone(t *testing.T) {
	t.Parallel()
	w := withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.TimeZone = "Europe/Berlin" })
	_, until, err := WindowActive(w, windowTime(t, "2024-07-01T20:30:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if got := until.Format("15:04 MST"); got != "23:00 CEST" {
		t.Errorf("until = %q, want %q", got, "23:00 CEST")
	}
}

func TestWindowActiveInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		window v1alpha1.SyncWindow
		want   string
	}{
		{"schedule", withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule = "nope" }), "schedule:"},
		{"duration", withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Duration = "soon" }), "duration:"},
		{"time zone", withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.TimeZone = "Nowhere" }), "timeZone:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			on, _, err := WindowActive(tt.window, windowTime(t, "2024-07-01T22:30:00Z"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("WindowActive() error = %v, want it to contain %q", err, tt.want)
			}
			if on {
				t.Error("WindowActive() says an invalid window is active")
			}
		})
	}
}

func TestWindowMatches(t *testing.T) {
	t.Parallel()
	const server = "https://prod.example.com:6443"
	byName := windowApp("guestbook", "", "prod-eu", "web")
	byServer := windowApp("guestbook", server, "", "web")
	tests := []struct {
		name          string
		window        v1alpha1.SyncWindow
		app           *v1alpha1.Application
		clusterServer string
		want          bool
	}{
		{name: "no lists match nothing", window: v1alpha1.SyncWindow{Kind: "deny"}, app: byServer, clusterServer: server},
		{name: "nil app", window: nightlyDeny()},
		{name: "app glob", window: v1alpha1.SyncWindow{Applications: []string{"guest*"}}, app: byServer, want: true},
		{name: "app glob miss", window: v1alpha1.SyncWindow{Applications: []string{"shop-*"}}, app: byServer},
		{name: "namespace glob", window: v1alpha1.SyncWindow{Namespaces: []string{"w?b"}}, app: byServer, want: true},
		{name: "namespace miss", window: v1alpha1.SyncWindow{Namespaces: []string{"kube-*"}}, app: byServer},
		{name: "cluster by destination server", window: v1alpha1.SyncWindow{Clusters: []string{"https://prod.*"}}, app: byServer, want: true},
		{name: "cluster by destination name", window: v1alpha1.SyncWindow{Clusters: []string{"prod-*"}}, app: byName, want: true},
		{
			name:   "cluster by resolved server of a named destination",
			window: v1alpha1.SyncWindow{Clusters: []string{server}}, app: byName, clusterServer: server, want: true,
		},
		{name: "cluster miss", window: v1alpha1.SyncWindow{Clusters: []string{"staging-*"}}, app: byName, clusterServer: server},
		{
			name:   "any list suffices",
			window: v1alpha1.SyncWindow{Applications: []string{"shop"}, Namespaces: []string{"web"}}, app: byServer, want: true,
		},
		{
			name: "and operator, all lists match",
			window: v1alpha1.SyncWindow{
				Applications: []string{"guest*"}, Namespaces: []string{"web"}, Clusters: []string{"prod-*"}, AndOperator: windowBool(true),
			},
			app: byName, want: true,
		},
		{
			name: "and operator, one list misses",
			window: v1alpha1.SyncWindow{
				Applications: []string{"guest*"}, Namespaces: []string{"kube-system"}, AndOperator: windowBool(true),
			},
			app: byName,
		},
		{
			name:   "and operator ignores empty lists",
			window: v1alpha1.SyncWindow{Applications: []string{"guestbook"}, AndOperator: windowBool(true)}, app: byName, want: true,
		},
		{
			name:   "and operator with no lists matches nothing",
			window: v1alpha1.SyncWindow{AndOperator: windowBool(true)}, app: byName,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := WindowMatches(tt.window, tt.app, tt.clusterServer); got != tt.want {
				t.Errorf("WindowMatches() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSyncAllowed(t *testing.T) {
	t.Parallel()
	const (
		night   = "2024-07-01T22:30:00Z" // a Monday, inside nightlyDeny(), outside officeAllow()
		workday = "2024-07-01T10:00:00Z" // inside officeAllow(), outside nightlyDeny()
	)
	manualDeny := withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.ManualSync = windowBool(true) })
	tests := []struct {
		name       string
		project    *v1alpha1.AppProject
		manual     bool
		t          string
		wantOK     bool
		wantReason string // substring; the exact sentence when it starts with "="
	}{
		{name: "nil project", project: nil, t: night, wantOK: true},
		{name: "no windows", project: windowProject(), t: night, wantOK: true},
		{
			name:    "deny window for other apps",
			project: windowProject(withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Applications = []string{"shop"} })),
			t:       night, wantOK: true,
		},
		{name: "deny window inactive", project: windowProject(nightlyDeny()), t: workday, wantOK: true},
		{
			name: "deny window active", project: windowProject(nightlyDeny()), t: night,
			wantReason: `=sync blocked by deny window 0 (schedule "0 22 * * *", 1h) active until 23:00 UTC`,
		},
		{
			name: "deny window active, manual without manualSync", project: windowProject(nightlyDeny()), manual: true, t: night,
			wantReason: "deny window 0",
		},
		{name: "deny window active, manual with manualSync", project: windowProject(manualDeny), manual: true, t: night, wantOK: true},
		{
			name: "deny window with manualSync still blocks automated syncs", project: windowProject(manualDeny), t: night,
			wantReason: "deny window 0",
		},
		{
			name:    "manual needs every active deny window to allow it",
			project: windowProject(manualDeny, nightlyDeny()), manual: true, t: night,
			wantReason: "deny window 1",
		},
		{name: "allow window active", project: windowProject(officeAllow()), t: workday, wantOK: true},
		{
			name: "allow window inactive", project: windowProject(officeAllow()), t: night,
			wantReason: `=sync blocked: outside allow window 0 (schedule "0 9 * * 1-5", 8h); the next opens at 2024-07-02 09:00 UTC`,
		},
		{
			name: "allow window inactive, manual without manualSync", project: windowProject(officeAllow()), manual: true, t: night,
			wantReason: "outside allow window 0",
		},
		{
			name:    "allow window inactive, manual with manualSync",
			project: windowProject(withWindow(officeAllow(), func(w *v1alpha1.SyncWindow) { w.ManualSync = windowBool(true) })),
			manual:  true, t: night, wantOK: true,
		},
		{
			name: "one of several inactive allow windows with manualSync suffices",
			project: windowProject(officeAllow(), withWindow(officeAllow(), func(w *v1alpha1.SyncWindow) {
				w.Schedule, w.ManualSync = "0 6 * * 6", windowBool(true)
			})),
			manual: true, t: night, wantOK: true,
		},
		{
			name:    "one open allow window of several suffices",
			project: windowProject(officeAllow(), withWindow(officeAllow(), func(w *v1alpha1.SyncWindow) { w.Schedule = "0 22 * * *" })),
			t:       night, wantOK: true,
		},
		{
			name:    "deny wins over an active allow window",
			project: windowProject(withWindow(officeAllow(), func(w *v1alpha1.SyncWindow) { w.Schedule, w.Duration = "0 20 * * *", "4h" }), nightlyDeny()),
			t:       night, wantReason: "deny window 1",
		},
		{
			name:    "allow window for other apps does not restrict",
			project: windowProject(withWindow(officeAllow(), func(w *v1alpha1.SyncWindow) { w.Applications = []string{"shop"} })),
			t:       night, wantOK: true,
		},
		{
			name: "allow windows in Berlin time",
			project: windowProject(withWindow(officeAllow(), func(w *v1alpha1.SyncWindow) {
				w.TimeZone = "Europe/Berlin"
			})),
			t: "2024-07-01T07:30:00Z", wantOK: true, // 09:30 CEST
		},
		{
			name:    "invalid deny window fails closed",
			project: windowProject(withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule = "0 22 *" })),
			t:       workday, wantReason: "sync blocked by invalid deny window 0 (syncWindows[0].schedule: expected exactly 5 fields",
		},
		{
			name: "invalid deny window blocks manual syncs despite manualSync",
			project: windowProject(withWindow(manualDeny, func(w *v1alpha1.SyncWindow) {
				w.TimeZone = "Nowhere"
			})),
			manual: true, t: workday, wantReason: "syncWindows[0].timeZone",
		},
		{
			name:    "unknown kind fails closed",
			project: windowProject(withWindow(officeAllow(), func(w *v1alpha1.SyncWindow) { w.Kind = "permit" })),
			t:       workday, wantReason: `invalid window 0 (syncWindows[0].kind: must be "allow" or "deny", got "permit")`,
		},
		{
			name:    "invalid allow window never opens",
			project: windowProject(withWindow(officeAllow(), func(w *v1alpha1.SyncWindow) { w.Duration = "8 hours" })),
			t:       workday, wantReason: "invalid allow window 0 (syncWindows[0].duration:",
		},
		{
			name: "invalid window for other apps is ignored",
			project: windowProject(withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) {
				w.Schedule, w.Applications = "bad", []string{"shop"}
			})),
			t: workday, wantOK: true,
		},
	}
	app := windowApp("guestbook", "https://kubernetes.default.svc", "in-cluster", "web")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := SyncAllowed(tt.project, app, "https://kubernetes.default.svc", tt.manual, windowTime(t, tt.t))
			checkWindowDecision(t, got, tt.wantOK, tt.wantReason)
		})
	}
}

func checkWindowDecision(t *testing.T, got WindowDecision, wantOK bool, wantReason string) {
	t.Helper()
	if got.Allowed != wantOK {
		t.Fatalf("decision = %+v, want allowed %v", got, wantOK)
	}
	if wantOK {
		if got.Reason != "" {
			t.Errorf("allowed decision has reason %q", got.Reason)
		}
		return
	}
	if exact, ok := strings.CutPrefix(wantReason, "="); ok {
		if got.Reason != exact {
			t.Errorf("reason = %q\nwant     %q", got.Reason, exact)
		}
		return
	}
	if !strings.Contains(got.Reason, wantReason) {
		t.Errorf("reason = %q, want it to contain %q", got.Reason, wantReason)
	}
}

func TestSyncMayContinue(t *testing.T) {
	t.Parallel()
	overrunDeny := withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.SyncOverrun = windowBool(true) })
	overrunAllow := withWindow(officeAllow(), func(w *v1alpha1.SyncWindow) { w.SyncOverrun = windowBool(true) })
	tests := []struct {
		name       string
		project    *v1alpha1.AppProject
		manual     bool
		startedAt  string
		t          string
		wantOK     bool
		wantReason string
	}{
		{
			name: "nothing changed", project: windowProject(nightlyDeny()),
			startedAt: "2024-07-01T21:00:00Z", t: "2024-07-01T21:30:00Z", wantOK: true,
		},
		{
			name: "deny window opened, overrun allowed", project: windowProject(overrunDeny),
			startedAt: "2024-07-01T21:50:00Z", t: "2024-07-01T22:10:00Z", wantOK: true,
		},
		{
			name: "deny window opened, no overrun", project: windowProject(nightlyDeny()),
			startedAt: "2024-07-01T21:50:00Z", t: "2024-07-01T22:10:00Z",
			wantReason: `=sync stopped: deny window 0 (schedule "0 22 * * *", 1h) opened after the sync started and does not allow sync overrun`,
		},
		{
			name: "two deny windows opened, one without overrun", project: windowProject(overrunDeny, nightlyDeny()),
			startedAt: "2024-07-01T21:50:00Z", t: "2024-07-01T22:10:00Z", wantReason: "deny window 1",
		},
		{
			name: "started inside a deny window", project: windowProject(overrunDeny),
			startedAt: "2024-07-01T22:05:00Z", t: "2024-07-01T22:10:00Z", wantReason: "sync blocked by deny window 0",
		},
		{
			name:      "manual sync started inside a manualSync deny window",
			project:   windowProject(withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.ManualSync = windowBool(true) })),
			manual:    true,
			startedAt: "2024-07-01T22:05:00Z", t: "2024-07-01T22:10:00Z", wantOK: true,
		},
		{
			name: "allow window closed, overrun allowed", project: windowProject(overrunAllow),
			startedAt: "2024-07-01T16:50:00Z", t: "2024-07-01T17:10:00Z", wantOK: true,
		},
		{
			name: "allow window closed, no overrun", project: windowProject(officeAllow()),
			startedAt: "2024-07-01T16:50:00Z", t: "2024-07-01T17:10:00Z", wantReason: "does not allow sync overrun",
		},
		{
			name: "overrun of an allow window that was not open at the start does not count",
			project: windowProject(officeAllow(), withWindow(overrunAllow, func(w *v1alpha1.SyncWindow) {
				w.Schedule = "0 6 * * 6"
			})),
			startedAt: "2024-07-01T16:50:00Z", t: "2024-07-01T17:10:00Z", wantReason: "does not allow sync overrun",
		},
		{
			name: "deny window with overrun opened as the allow window without overrun closed",
			project: windowProject(officeAllow(), withWindow(overrunDeny, func(w *v1alpha1.SyncWindow) {
				w.Schedule = "0 17 * * *"
			})),
			startedAt: "2024-07-01T16:50:00Z", t: "2024-07-01T17:10:00Z", wantReason: "allow window open when the sync started",
		},
		{
			name: "both sides overrun", project: windowProject(overrunAllow, withWindow(overrunDeny, func(w *v1alpha1.SyncWindow) {
				w.Schedule = "0 17 * * *"
			})),
			startedAt: "2024-07-01T16:50:00Z", t: "2024-07-01T17:10:00Z", wantOK: true,
		},
		{
			name:      "invalid deny window stops the sync",
			project:   windowProject(withWindow(overrunDeny, func(w *v1alpha1.SyncWindow) { w.Duration = "" })),
			startedAt: "2024-07-01T21:50:00Z", t: "2024-07-01T22:10:00Z", wantReason: "syncWindows[0].duration: must be set",
		},
	}
	app := windowApp("guestbook", "https://kubernetes.default.svc", "", "web")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := SyncMayContinue(tt.project, app, "https://kubernetes.default.svc", tt.manual, windowTime(t, tt.startedAt), windowTime(t, tt.t))
			checkWindowDecision(t, got, tt.wantOK, tt.wantReason)
		})
	}
}

func TestNextChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		project *v1alpha1.AppProject
		t       string
		want    string // RFC 3339; "" for zero
	}{
		{name: "nil project", project: nil, t: "2024-07-01T10:00:00Z"},
		{name: "next opening", project: windowProject(nightlyDeny()), t: "2024-07-01T10:00:00Z", want: "2024-07-01T22:00:00Z"},
		{name: "end of the open window", project: windowProject(nightlyDeny()), t: "2024-07-01T22:10:00Z", want: "2024-07-01T23:00:00Z"},
		{name: "at the end, the next day's opening", project: windowProject(nightlyDeny()), t: "2024-07-01T23:00:00Z", want: "2024-07-02T22:00:00Z"},
		{name: "earliest of several windows", project: windowProject(nightlyDeny(), officeAllow()), t: "2024-07-01T10:00:00Z", want: "2024-07-01T17:00:00Z"},
		{
			name:    "end of a chained opening",
			project: windowProject(withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule = "0 22,23 * * *" })),
			t:       "2024-07-01T22:10:00Z", want: "2024-07-02T00:00:00Z",
		},
		{
			name:    "Berlin time",
			project: windowProject(withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.TimeZone = "Europe/Berlin" })),
			t:       "2024-07-01T10:00:00Z", want: "2024-07-01T20:00:00Z",
		},
		{
			name:    "nothing within 48h",
			project: windowProject(withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Schedule = "0 0 1 * *" })),
			t:       "2024-07-10T10:00:00Z",
		},
		{
			name:    "windows for other apps are ignored",
			project: windowProject(withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Applications = []string{"shop"} })),
			t:       "2024-07-01T10:00:00Z",
		},
		{
			name:    "invalid windows never change",
			project: windowProject(withWindow(nightlyDeny(), func(w *v1alpha1.SyncWindow) { w.Duration = "x" })),
			t:       "2024-07-01T10:00:00Z",
		},
	}
	app := windowApp("guestbook", "https://kubernetes.default.svc", "", "web")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := NextChange(tt.project, app, "https://kubernetes.default.svc", windowTime(t, tt.t))
			if tt.want == "" {
				if !got.IsZero() {
					t.Errorf("NextChange() = %v, want zero", got)
				}
				return
			}
			if want := windowTime(t, tt.want); !got.Equal(want) {
				t.Errorf("NextChange() = %v, want %v", got, want)
			}
		})
	}
}

// BenchmarkWindowActive shows the cost of the worst common case: an every-minute schedule with a month-long
// duration, where walking activations one by one would take tens of thousands of steps.
// The chained case follows openings that overlap their successors up to the 48h look-ahead.
func BenchmarkWindowActive(b *testing.B) {
	now := time.Date(2024, time.July, 1, 12, 0, 30, 0, time.UTC)
	for _, bb := range []struct{ name, schedule, duration string }{
		{"daily 1h", "0 22 * * *", "1h"},
		{"every minute 720h", "* * * * *", "720h"},
		{"every minute 1h chained", "* * * * *", "1h"},
		{"leap day", "0 0 29 2 *", "1h"},
	} {
		w := v1alpha1.SyncWindow{Kind: "deny", Schedule: bb.schedule, Duration: bb.duration, Applications: []string{"*"}}
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := WindowActive(w, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
