package diff

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// contextLines is how many unchanged lines surround each change in Diff.
const contextLines = 3

// maxDiffCells bounds the LCS table of one line diff (lines of a x lines of b, after the common prefix and
// suffix are trimmed); beyond it the changed middle is shown as removed and added whole.
const maxDiffCells = 4 << 20

// unifiedYAML renders live and predicted as YAML and diffs them line by line, "-" for live and "+" for
// predicted, in hunks with a few lines of context.
func unifiedYAML(live, predicted *unstructured.Unstructured) (string, error) {
	a, err := yamlLines(live)
	if err != nil {
		return "", err
	}
	b, err := yamlLines(predicted)
	if err != nil {
		return "", err
	}
	ops := LineDiff(a, b)
	var sb strings.Builder
	sb.WriteString("--- live\n+++ desired\n")
	for _, h := range Hunks(ops, contextLines) {
		fmt.Fprintf(&sb, "@@ -%d,%d +%d,%d @@\n", h.AStart+1, h.ALen, h.BStart+1, h.BLen)
		for _, op := range ops[h.From:h.To] {
			sb.WriteByte(op.Kind)
			sb.WriteString(op.Line)
			sb.WriteByte('\n')
		}
	}
	return sb.String(), nil
}

func yamlLines(u *unstructured.Unstructured) ([]string, error) {
	if u == nil {
		return nil, nil
	}
	b, err := yaml.Marshal(u.Object)
	if err != nil {
		return nil, fmt.Errorf("render diff: %w", err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"), nil
}

// LineOp is one line of a line diff.
type LineOp struct {
	Kind byte // ' ' (in both), '-' (only in a) or '+' (only in b)
	Line string
}

// LineDiff is a longest-common-subsequence line diff of a and b.
func LineDiff(a, b []string) []LineOp {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ops := make([]LineOp, 0, len(a)+len(b))
	for _, l := range a[:pre] {
		ops = append(ops, LineOp{' ', l})
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	if len(ma)*len(mb) > maxDiffCells {
		for _, l := range ma {
			ops = append(ops, LineOp{'-', l})
		}
		for _, l := range mb {
			ops = append(ops, LineOp{'+', l})
		}
	} else {
		ops = lcsOps(ops, ma, mb)
	}
	for _, l := range a[len(a)-suf:] {
		ops = append(ops, LineOp{' ', l})
	}
	return ops
}

// lcsOps appends the LCS diff of a and b to ops.
func lcsOps(ops []LineOp, a, b []string) []LineOp {
	n, m := len(a), len(b)
	// t[i*(m+1)+j] is the LCS length of a[i:] and b[j:].
	t := make([]int32, (n+1)*(m+1))
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				t[i*(m+1)+j] = t[(i+1)*(m+1)+j+1] + 1
			} else {
				t[i*(m+1)+j] = max(t[(i+1)*(m+1)+j], t[i*(m+1)+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, LineOp{' ', a[i]})
			i++
			j++
		case t[(i+1)*(m+1)+j] >= t[i*(m+1)+j+1]:
			ops = append(ops, LineOp{'-', a[i]})
			i++
		default:
			ops = append(ops, LineOp{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, LineOp{'-', a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, LineOp{'+', b[j]})
	}
	return ops
}

// Hunk is a run of ops[From:To] with context; AStart and BStart count from 0.
type Hunk struct {
	From, To     int
	AStart, ALen int
	BStart, BLen int
}

// Hunks groups the changes of ops with context unchanged lines around each; changes closer than twice the
// context share a hunk. No changes, no hunks.
func Hunks(ops []LineOp, context int) []Hunk {
	var out []Hunk
	aLine, bLine := make([]int, len(ops)+1), make([]int, len(ops)+1)
	for i, op := range ops {
		aLine[i+1], bLine[i+1] = aLine[i], bLine[i]
		if op.Kind != '+' {
			aLine[i+1]++
		}
		if op.Kind != '-' {
			bLine[i+1]++
		}
	}
	for i := 0; i < len(ops); {
		if ops[i].Kind == ' ' {
			i++
			continue
		}
		from := max(0, i-context)
		to := i
		for to < len(ops) {
			if ops[to].Kind != ' ' {
				to++
				continue
			}
			next := to
			for next < len(ops) && ops[next].Kind == ' ' {
				next++
			}
			if next < len(ops) && next-to <= 2*context {
				to = next
				continue
			}
			to = min(len(ops), to+context)
			break
		}
		if len(out) > 0 && from < out[len(out)-1].To {
			from = out[len(out)-1].To
		}
		out = append(out, Hunk{
			From: from, To: to,
			AStart: aLine[from], ALen: aLine[to] - aLine[from],
			BStart: bLine[from], BLen: bLine[to] - bLine[from],
		})
		i = to
	}
	return out
}

// changedPaths lists the fields that differ between live and predicted, naming list items by their "name"
// when every item has a unique one.
func changedPaths(live, predicted map[string]any) []string {
	var out []string
	var walk func(p string, a, b any)
	walk = func(p string, a, b any) {
		am, aIsMap := a.(map[string]any)
		bm, bIsMap := b.(map[string]any)
		// A map or list on one side only is walked against an empty one, so the paths name its leaves.
		if aIsMap && b == nil || bIsMap && a == nil {
			aIsMap, bIsMap = true, true
		}
		if aIsMap && bIsMap {
			keys := make([]string, 0, len(am)+len(bm))
			for k := range am {
				keys = append(keys, k)
			}
			for k := range bm {
				if _, ok := am[k]; !ok {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			for _, k := range keys {
				walk(joinField(p, k), am[k], bm[k])
			}
			return
		}
		al, aIsList := a.([]any)
		bl, bIsList := b.([]any)
		if aIsList && b == nil || bIsList && a == nil {
			aIsList, bIsList = true, true
		}
		if aIsList && bIsList {
			an, aok := indexByName(al)
			bn, bok := indexByName(bl)
			if aok && bok {
				names := make([]string, 0, len(an)+len(bn))
				for n := range an {
					names = append(names, n)
				}
				for n := range bn {
					if _, ok := an[n]; !ok {
						names = append(names, n)
					}
				}
				slices.Sort(names)
				reordered := false
				for _, n := range names {
					ai, inA := an[n]
					bi, inB := bn[n]
					var av, bv any
					if inA {
						av = al[ai]
					}
					if inB {
						bv = bl[bi]
					}
					reordered = reordered || (inA && inB && ai != bi)
					walk(fmt.Sprintf("%s[name=%s]", p, n), av, bv)
				}
				if reordered {
					out = append(out, p+" (order)")
				}
				return
			}
			for i := range max(len(al), len(bl)) {
				var av, bv any
				if i < len(al) {
					av = al[i]
				}
				if i < len(bl) {
					bv = bl[i]
				}
				walk(fmt.Sprintf("%s[%d]", p, i), av, bv)
			}
			return
		}
		if !equalValues(a, b) {
			out = append(out, p)
		}
	}
	walk("", live, predicted)
	return out
}

func joinField(p, k string) string {
	if strings.ContainsAny(k, ".[]") {
		k = "[" + k + "]"
		return p + k
	}
	if p == "" {
		return k
	}
	return p + "." + k
}
