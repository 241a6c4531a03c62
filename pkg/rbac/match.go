package rbac

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Match modes of `policy.matchMode`.
const (
	MatchModeGlob  = "glob"
	MatchModeRegex = "regex"
)

// globMatch reports whether s matches pattern, where "*" matches any run of characters ("/" included) and
// "?" matches one character. It backtracks only to the last "*", so it runs in O(len(s)*len(pattern)) at
// worst and allocates nothing.
func globMatch(s, pattern string) bool {
	var si, pi int
	star, mark := -1, 0 // position after the last "*" in pattern, and where in s it started matching
	for si < len(s) {
		if pi < len(pattern) {
			switch pattern[pi] {
			case '*':
				star, mark = pi+1, si
				pi++
				continue
			case '?':
				_, n := utf8.DecodeRuneInString(s[si:])
				si += n
				pi++
				continue
			default:
				if pattern[pi] == s[si] {
					si++
					pi++
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		// Let the last "*" swallow one more character and retry from there.
		_, n := utf8.DecodeRuneInString(s[mark:])
		mark += n
		si, pi = mark, star
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

// globToRegex turns a glob into the equivalent regular expression, for the built-in policy in regex mode.
func globToRegex(glob string) string {
	var b strings.Builder
	for _, r := range glob {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	return b.String()
}

// regexSet holds the compiled patterns of one policy. It is filled while the Enforcer is built and only read
// afterwards, so lookups need no lock.
type regexSet map[string]*regexp.Regexp

// add compiles pattern to match whole values only.
func (rs regexSet) add(pattern string) error {
	if _, ok := rs[pattern]; ok {
		return nil
	}
	// Compiling the pattern alone first proves its parentheses balance, so that wrapping it cannot be
	// escaped: "a)|(b" would otherwise turn ^(?:a)|(b)$ into a match of anything containing b.
	if _, err := regexp.Compile(pattern); err != nil {
		return fmt.Errorf("invalid regular expression %q: %w", pattern, err)
	}
	re, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		return fmt.Errorf("invalid regular expression %q: %w", pattern, err)
	}
	rs[pattern] = re
	return nil
}

func (rs regexSet) match(s, pattern string) bool {
	re, ok := rs[pattern]
	return ok && re.MatchString(s)
}

// casbinFunc adapts a matcher to casbin's function signature: (request value, policy pattern) -> bool.
func casbinFunc(match func(s, pattern string) bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if len(args) != 2 {
			return false, fmt.Errorf("want 2 arguments, got %d", len(args))
		}
		s, ok1 := args[0].(string)
		pattern, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return false, fmt.Errorf("want string arguments, got %T and %T", args[0], args[1])
		}
		return match(s, pattern), nil
	}
}
