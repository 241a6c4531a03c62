package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// opProgress is where a sync (or rollback) operation stands, read from the application.
type opProgress struct {
	App string
	// Phase is Pending (requested, not started), Running, Terminating, Succeeded, Failed or Error.
	Phase string
	// SyncPhase (PreSync, Sync, PostSync, SyncFail) and Wave of the most recent resource result.
	SyncPhase string
	Wave      int64
	HasWave   bool
	// Done of Total resources synced (hooks not counted).
	Done, Total int
	Health      string
	Message     string
	Started     time.Time
	Results     []v1alpha1.ResourceResult
}

// readProgress summarises app's operation.
func readProgress(app *v1alpha1.Application) opProgress {
	p := opProgress{App: app.Name, Health: appOrUnknown(string(app.Status.Health.Status))}
	st := app.Status.OperationState
	if app.Operation != nil && (st == nil || appPhaseCompleted(st.Phase)) {
		p.Phase = "Pending"
		p.Total = countTargets(app, app.Operation)
		return p
	}
	if st == nil {
		p.Phase = "Pending"
		return p
	}
	p.Phase, p.Message, p.Started = string(st.Phase), st.Message, st.StartedAt.Time
	// The resources to sync: the selected ones, else every non-hook resource of the status, plus any the
	// results name beyond those (a namespace created by CreateNamespace, a resource new in this revision).
	targets := map[string]bool{}
	waves := map[string]int64{}
	selected := st.Operation.Sync != nil && len(st.Operation.Sync.Resources) > 0
	if selected {
		for _, r := range st.Operation.Sync.Resources {
			targets[r.Group+"/"+r.Kind+"/"+r.Namespace+"/"+r.Name] = true
		}
	}
	for _, r := range app.Status.Resources {
		k := r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
		waves[k] = r.SyncWave
		if !r.Hook && !selected {
			targets[k] = true
		}
	}
	if sr := st.SyncResult; sr != nil {
		p.Results = sr.Resources
		for _, r := range sr.Resources {
			if r.HookType != "" {
				continue
			}
			k := r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
			targets[k] = true
			switch r.Status {
			case v1alpha1.ResultCodeSynced, v1alpha1.ResultCodePruned, v1alpha1.ResultCodePruneSkipped:
				p.Done++
			}
		}
		if n := len(sr.Resources); n > 0 {
			last := sr.Resources[n-1]
			p.SyncPhase = last.SyncPhase
			p.Wave, p.HasWave = waves[last.Group+"/"+last.Kind+"/"+last.Namespace+"/"+last.Name]
		}
	}
	p.Total = max(len(targets), p.Done)
	return p
}

// countTargets is how many resources the operation syncs: the selected ones, else every non-hook resource.
func countTargets(app *v1alpha1.Application, op *v1alpha1.Operation) int {
	if op != nil && op.Sync != nil && len(op.Sync.Resources) > 0 {
		return len(op.Sync.Resources)
	}
	n := 0
	for _, r := range app.Status.Resources {
		if !r.Hook {
			n++
		}
	}
	return n
}

// where says "Sync wave 1" or "" before the first result.
func (p opProgress) where() string {
	switch {
	case p.SyncPhase != "" && p.HasWave:
		return fmt.Sprintf("%s wave %d", p.SyncPhase, p.Wave)
	case p.SyncPhase != "":
		return p.SyncPhase
	}
	return ""
}

// line is the one-line summary printed off a terminal, e.g.
// "guestbook  Running  Sync wave 1  3/5 synced  health Progressing  waiting for healthy state of ...".
func (p opProgress) line() string {
	parts := []string{p.App, p.Phase}
	if w := p.where(); w != "" {
		parts = append(parts, w)
	}
	parts = append(parts, fmt.Sprintf("%d/%d synced", p.Done, p.Total), "health "+p.Health)
	if p.Message != "" {
		parts = append(parts, oneLine(p.Message))
	}
	return strings.Join(parts, "  ")
}

// progressPrinter shows an operation's progress. On a terminal it redraws a small block in place (status
// line, message, latest resource results); elsewhere it prints a timestamped line each time the summary
// changes, so logs of CI jobs stay readable.
type progressPrinter struct {
	w     io.Writer
	live  bool
	color bool
	now   func() time.Time
	width int

	mu       sync.Mutex
	cur      *opProgress
	lastLine string
	drawn    int // lines of the block drawn last on a terminal
	frame    int
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// maxResultLines bounds the resource results the live block shows.
const maxResultLines = 8

// newProgressPrinter returns a printer for w: live when w is a terminal.
func newProgressPrinter(w io.Writer) *progressPrinter {
	p := &progressPrinter{w: w, live: isTerminal(w), color: colorEnabled(w), now: time.Now, width: 120}
	if f, ok := w.(*os.File); ok && p.live {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
			p.width = cols
		}
	}
	if p.live {
		p.stop = make(chan struct{})
		p.wg.Add(1)
		go p.tick()
	}
	return p
}

// Update shows the state of app.
func (p *progressPrinter) Update(app *v1alpha1.Application) {
	pr := readProgress(app)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cur = &pr
	if p.live {
		p.draw()
		return
	}
	if l := pr.line(); l != p.lastLine {
		p.lastLine = l
		fmt.Fprintf(p.w, "%s  %s\n", p.now().Format("15:04:05"), l)
	}
}

// Finish stops redrawing; the last block stays on screen.
func (p *progressPrinter) Finish() {
	if !p.live {
		return
	}
	p.stopOnce.Do(func() { close(p.stop) })
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil {
		p.frame = -1
		p.draw()
	}
}

func (p *progressPrinter) tick() {
	defer p.wg.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.cur != nil {
				p.frame++
				p.draw()
			}
			p.mu.Unlock()
		}
	}
}

var progressSpinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// draw redraws the block in place; p.mu is held.
func (p *progressPrinter) draw() {
	lines := p.block(*p.cur)
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn) // back to the block's first line
	}
	b.WriteString("\r\x1b[J") // clear from there to the end of the screen
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	p.drawn = len(lines)
	_, _ = io.WriteString(p.w, b.String())
}

// block renders the live display of pr, each line cut to the terminal width.
func (p *progressPrinter) block(pr opProgress) []string {
	mark := " "
	if p.frame >= 0 && !appPhaseCompleted(v1alpha1.OperationPhase(pr.Phase)) {
		mark = paint(p.color, ansiCyan, progressSpinner[p.frame%len(progressSpinner)])
	}
	head := []string{mark, pr.App, p.phaseColor(pr.Phase)}
	if w := pr.where(); w != "" {
		head = append(head, w)
	}
	head = append(head, fmt.Sprintf("%d/%d synced", pr.Done, pr.Total), "health "+p.healthColor(pr.Health))
	if !pr.Started.IsZero() {
		head = append(head, appAge(p.now().Sub(pr.Started)))
	}
	lines := []string{strings.Join(head, "  ")}
	if pr.Message != "" {
		lines = append(lines, "  "+oneLine(pr.Message))
	}
	results := pr.Results
	if len(results) > maxResultLines {
		lines = append(lines, fmt.Sprintf("  … %d earlier", len(results)-maxResultLines))
		results = results[len(results)-maxResultLines:]
	}
	for _, r := range results {
		lines = append(lines, "  "+p.resultLine(r))
	}
	for i, l := range lines {
		lines[i] = clipVisible(l, p.width-1)
	}
	return lines
}

func (p *progressPrinter) resultLine(r v1alpha1.ResourceResult) string {
	state := string(r.Status)
	mark := "✓"
	color := ansiGreen
	switch {
	case r.HookType != "" && r.HookPhase != "" && !appPhaseCompleted(r.HookPhase):
		mark, color, state = "…", ansiYellow, string(r.HookPhase)
	case r.HookType != "" && r.HookPhase != "" && r.HookPhase != v1alpha1.OperationSucceeded:
		mark, color, state = "✗", ansiRed, string(r.HookPhase)
	case r.HookType != "":
		state = string(r.HookPhase)
	case r.Status == v1alpha1.ResultCodeSyncFailed:
		mark, color = "✗", ansiRed
	case r.Status == "":
		mark, color = "…", ansiYellow
	}
	kind := r.Kind
	if r.Group != "" {
		kind = r.Group + "/" + r.Kind
	}
	name := r.Name
	if r.Namespace != "" {
		name = r.Namespace + "/" + r.Name
	}
	parts := []string{paint(p.color, color, mark), kind, name, state}
	if r.HookType != "" {
		parts = append(parts, r.HookType+" hook")
	}
	if r.Message != "" {
		parts = append(parts, oneLine(r.Message))
	}
	return strings.Join(parts, " ")
}

func (p *progressPrinter) phaseColor(phase string) string {
	switch v1alpha1.OperationPhase(phase) {
	case v1alpha1.OperationSucceeded:
		return paint(p.color, ansiGreen, phase)
	case v1alpha1.OperationFailed, v1alpha1.OperationError:
		return paint(p.color, ansiRed, phase)
	}
	return paint(p.color, ansiYellow, phase)
}

func (p *progressPrinter) healthColor(h string) string { return appPaintHealth(p.color, h) }

// appPaintHealth colours a health status: green Healthy, red Degraded or Missing, yellow otherwise.
func appPaintHealth(on bool, h string) string {
	switch v1alpha1.HealthStatusCode(h) {
	case v1alpha1.HealthStatusHealthy:
		return paint(on, ansiGreen, h)
	case v1alpha1.HealthStatusDegraded, v1alpha1.HealthStatusMissing:
		return paint(on, ansiRed, h)
	case "":
		return h
	}
	return paint(on, ansiYellow, h)
}

// clipVisible cuts s to n visible characters, not counting ANSI colour sequences.
func clipVisible(s string, n int) string {
	if n <= 0 {
		return s
	}
	visible := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b {
			j := strings.IndexByte(s[i:], 'm')
			if j < 0 {
				break
			}
			i += j + 1
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		visible++
		if visible > n {
			if strings.Contains(s, "\x1b[") {
				return s[:i] + ansiReset
			}
			return s[:i]
		}
		i += size
	}
	return s
}
