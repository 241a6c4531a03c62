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

// maxDiffLines bounds the line diff's quadratic table; beyond it the whole of both sides is shown.
const maxDiffLines = 4000

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
	ops := lineDiff(a, b)
	var sb strings.Builder
	sb.WriteString("--- live\n+++ desired\n")
	for _, h := range hunks(ops) {
		fmt.Fprintf(&sb, "@@ -%d,%d +%d,%d @@\n", h.aStart+1, h.aLen, h.bStart+1, h.bLen)
		for _, op := range ops[h.from:h.to] {
			sb.WriteByte(op.kind)
			sb.WriteString(op.line)
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

type lineOp struct {
	kind byte // ' ', '-' or '+'
	line string
}

// lineDiff is a longest-common-subsequence diff; manifests are small enough for the O(n·m) table.
func lineDiff(a, b []string) []lineOp {
	if len(a)*len(b) > maxDiffLines*maxDiffLines/4 {
		ops := make([]lineOp, 0, len(a)+len(b))
		for _, l := range a {
			ops = append(ops, lineOp{'-', l})
		}
		for _, l := range b {
			ops = append(ops, lineOp{'+', l})
		}
		return ops
	}
	n, m := len(a), len(b)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	ops := make([]lineOp, 0, n+m)
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, lineOp{' ', a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			ops = append(ops, lineOp{'-', a[i]})
			i++
		default:
			ops = append(ops, lineOp{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, lineOp{'-', a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, lineOp{'+', b[j]})
	}
	return ops
}

type hunk struct {
	from, to     int // range of ops
	aStart, aLen int
	bStart, bLen int
}

func hunks(ops []lineOp) []hunk {
	var out []hunk
	aLine, bLine := make([]int, len(ops)+1), make([]int, len(ops)+1)
	for i, op := range ops {
		aLine[i+1], bLine[i+1] = aLine[i], bLine[i]
		if op.kind != '+' {
			aLine[i+1]++
		}
		if op.kind != '-' {
			bLine[i+1]++
		}
	}
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		from := max(0, i-contextLines)
		to := i
		for to < len(ops) {
			if ops[to].kind != ' ' {
				to++
				continue
			}
			next := to
			for next < len(ops) && ops[next].kind == ' ' {
				next++
			}
			if next < len(ops) && next-to <= 2*contextLines {
				to = next
				continue
			}
			to = min(len(ops), to+contextLines)
			break
		}
		if len(out) > 0 && from < out[len(out)-1].to {
			from = out[len(out)-1].to
		}
		out = append(out, hunk{
			from: from, to: to,
			aStart: aLine[from], aLen: aLine[to] - aLine[from],
			bStart: bLine[from], bLen: bLine[to] - bLine[from],
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
