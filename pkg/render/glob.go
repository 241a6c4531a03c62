package render

import (
	"fmt"
	"regexp"
	"strings"
)

// glob is a compiled include or exclude pattern of a directory source.
//
// The syntax and meaning are Argo CD's: the pattern is matched against the whole path of a file relative
// to the application directory, `*` and `?` also match `/` (so `*.yaml` matches `sub/x.yaml` when
// recursing), `[abc]`, `[a-z]`, `[!abc]` (or `[^abc]`) are classes, `{a,b}` are alternatives that may nest
// and hold globs (`{*.yml,base/*}`), and `\` escapes the next character.
type glob struct {
	re *regexp.Regexp
}

func compileGlob(pattern string) (*glob, error) {
	var b strings.Builder
	b.WriteString(`^`)
	depth := 0 // nesting of {...}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*':
			b.WriteString(`.*`)
			for i+1 < len(pattern) && pattern[i+1] == '*' {
				i++
			}
		case '?':
			b.WriteString(`.`)
		case '\\':
			if i+1 >= len(pattern) {
				return nil, fmt.Errorf("glob %q: trailing backslash", pattern)
			}
			i++
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		case '[':
			end := strings.IndexByte(pattern[i+1:], ']')
			if end < 0 {
				return nil, fmt.Errorf("glob %q: unterminated [", pattern)
			}
			class := pattern[i+1 : i+1+end]
			if end == 0 { // "[]..." : a literal ']' first in the class
				next := strings.IndexByte(pattern[i+2:], ']')
				if next < 0 {
					return nil, fmt.Errorf("glob %q: unterminated [", pattern)
				}
				class = pattern[i+1 : i+2+next]
				end = next + 1
			}
			i += end + 1
			neg := false
			if strings.HasPrefix(class, "!") || strings.HasPrefix(class, "^") {
				neg, class = true, class[1:]
			}
			b.WriteString(`[`)
			if neg {
				b.WriteString(`^`)
			}
			for _, r := range class {
				switch r {
				case '\\', '[', ']', '^':
					b.WriteString(`\`)
				}
				b.WriteRune(r)
			}
			b.WriteString(`]`)
		case '{':
			depth++
			b.WriteString(`(?:`)
		case '}':
			if depth == 0 {
				b.WriteString(`\}`)
				continue
			}
			depth--
			b.WriteString(`)`)
		case ',':
			if depth > 0 {
				b.WriteString(`|`)
			} else {
				b.WriteString(`,`)
			}
		default:
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("glob %q: unterminated {", pattern)
	}
	b.WriteString(`$`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("glob %q: %w", pattern, err)
	}
	return &glob{re: re}, nil
}

func (g *glob) match(name string) bool { return g.re.MatchString(name) }
