package rbac

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrInvalidPolicy is wrapped by every PolicyError, so callers can map a bad policy to one error code.
var ErrInvalidPolicy = errors.New("invalid RBAC policy")

// PolicyError is a policy line that cannot be used, named by where it came from and its line number.
type PolicyError struct {
	// Source is the ConfigMap key (`policy.csv`, `policy.team.csv`) or the project role the line belongs to.
	Source string
	// Line counts from 1; 0 when the problem is not one line's (a project role's name).
	Line   int
	Reason string
}

func (e *PolicyError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Source, e.Reason)
	}
	return fmt.Sprintf("%s line %d: %s", e.Source, e.Line, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidPolicy) hold.
func (e *PolicyError) Unwrap() error { return ErrInvalidPolicy }

const (
	effectAllow = "allow"
	effectDeny  = "deny"
)

// rule is a `p` line: subject may (or, with effect deny, may not) do act on obj of res.
type rule struct {
	sub, res, act, obj, eft string
	source                  string
	line                    int
	// project is set on the lines of a project role: obj is then known to start with "<project>/".
	project string
}

func (r rule) fields() []string { return []string{r.sub, r.res, r.act, r.obj, r.eft} }

// link is a `g` line: member holds role.
type link struct {
	member, role string
}

// policy is the parsed form of one or more CSV texts.
type policy struct {
	rules []rule
	links []link
}

// parsePolicy reads casbin CSV policy text: `p` and `g` lines, `#` comments and blank lines. source names
// the text in errors. Every bad line is reported; the good ones are still returned.
func parsePolicy(source, text string) (policy, []error) {
	var (
		pol  policy
		errs []error
	)
	r := csv.NewReader(strings.NewReader(text))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	for {
		record, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// After a syntax error the reader's position is unreliable: report it and stop.
			line := 0
			if pe, ok := errors.AsType[*csv.ParseError](err); ok {
				line, err = pe.StartLine, pe.Err
			}
			errs = append(errs, &PolicyError{Source: source, Line: line, Reason: err.Error()})
			break
		}
		if blank(record) {
			continue
		}
		line, _ := r.FieldPos(0)
		ru, li, reason := parseRecord(record)
		switch {
		case reason != "":
			errs = append(errs, &PolicyError{Source: source, Line: line, Reason: reason})
		case li != nil:
			pol.links = append(pol.links, *li)
		default:
			ru.source, ru.line = source, line
			pol.rules = append(pol.rules, ru)
		}
	}
	return pol, errs
}

// parseRecord turns one CSV record into a rule or a link, or says why it cannot.
func parseRecord(record []string) (rule, *link, string) {
	for i := range record {
		if strings.ContainsAny(record[i], "\r\n") {
			return rule{}, nil, fmt.Sprintf("field %d is a quoted field that spans lines", i+1)
		}
		record[i] = strings.TrimSpace(record[i])
	}
	switch record[0] {
	case "p":
		if len(record) != 5 && len(record) != 6 {
			return rule{}, nil, fmt.Sprintf("expected 5 or 6 fields in a p line (p, subject, resource, action, object[, allow|deny]), got %d", len(record))
		}
		if i := emptyField(record); i > 0 {
			return rule{}, nil, fmt.Sprintf("field %d is empty", i+1)
		}
		ru := rule{sub: record[1], res: record[2], act: record[3], obj: record[4], eft: effectAllow}
		if len(record) == 6 {
			// Exact, as casbin compares it: a line with "Deny" would otherwise be silently without effect.
			ru.eft = record[5]
			if ru.eft != effectAllow && ru.eft != effectDeny {
				return rule{}, nil, fmt.Sprintf("effect %q is neither allow nor deny", record[5])
			}
		}
		return ru, nil, ""
	case "g":
		if len(record) != 3 {
			return rule{}, nil, fmt.Sprintf("expected 3 fields in a g line (g, user or group, role), got %d", len(record))
		}
		if i := emptyField(record); i > 0 {
			return rule{}, nil, fmt.Sprintf("field %d is empty", i+1)
		}
		return rule{}, &link{member: record[1], role: record[2]}, ""
	default:
		return rule{}, nil, fmt.Sprintf("unknown line type %q, want p or g", record[0])
	}
}

// blank reports a line of nothing but spaces and commas.
func blank(record []string) bool {
	for _, f := range record {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// emptyField returns the index of the first empty field after the line type, or 0.
func emptyField(record []string) int {
	for i, f := range record[1:] {
		if f == "" {
			return i + 1
		}
	}
	return 0
}
