package cli

import (
	"fmt"
	"strings"

	"github.com/moorcd/moor/pkg/diff"
)

// unifiedDiff renders a and b as `diff -u` does, with context lines around each change; "" when equal.
func unifiedDiff(a, b []string, nameA, nameB string, context int) string {
	ops := diff.LineDiff(a, b)
	hunks := diff.Hunks(ops, context)
	if len(hunks) == 0 {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", nameA, nameB)
	for _, h := range hunks {
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", hunkRange(h.AStart, h.ALen), hunkRange(h.BStart, h.BLen))
		for _, op := range ops[h.From:h.To] {
			sb.WriteByte(op.Kind)
			sb.WriteString(op.Line)
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

// hunkRange is GNU diff's "start,length": the length is left out when 1, and an empty range names the
// line before it.
func hunkRange(start, length int) string {
	switch length {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprint(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, length)
}
