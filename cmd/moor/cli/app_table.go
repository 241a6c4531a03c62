package cli

import (
	"io"
	"strings"
	"unicode/utf8"
)

// appTable is an aligned table like printTable whose cells may be coloured: widths are measured on the
// plain text and colour is added after padding, so columns stay aligned on a terminal. Lines carry no
// trailing spaces.
type appTable struct {
	headers []string
	rows    [][]string
	// paint colours one cell (row index into rows, column index); nil leaves every cell plain.
	paint func(row, col int, s string) string
}

func (t appTable) print(w io.Writer) error {
	widths := make([]int, len(t.headers))
	measure := func(r []string) {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], utf8.RuneCountInString(c))
			}
		}
	}
	measure(t.headers)
	for _, r := range t.rows {
		measure(r)
	}
	var b strings.Builder
	line := func(row int, cells []string) {
		var l strings.Builder
		pending := 0 // spaces owed before the next non-empty cell
		for i, c := range cells {
			if i >= len(widths) {
				break
			}
			if i > 0 {
				pending += 2
			}
			if c != "" {
				l.WriteString(strings.Repeat(" ", pending))
				pending = 0
				if row >= 0 && t.paint != nil {
					l.WriteString(t.paint(row, i, c))
				} else {
					l.WriteString(c)
				}
			}
			pending += widths[i] - utf8.RuneCountInString(c)
		}
		b.WriteString(l.String())
		b.WriteByte('\n')
	}
	line(-1, t.headers)
	for i, r := range t.rows {
		line(i, r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// appPaintSync colours a sync status: green Synced, yellow OutOfSync, plain otherwise.
func appPaintSync(on bool, s string) string {
	switch s {
	case "Synced", "Succeeded":
		return paint(on, ansiGreen, s)
	case "OutOfSync", "Running", "Terminating":
		return paint(on, ansiYellow, s)
	case "SyncFailed", "Failed", "Error":
		return paint(on, ansiRed, s)
	}
	return s
}
