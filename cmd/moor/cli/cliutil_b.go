package cli

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"google.golang.org/protobuf/proto"

	"github.com/moorcd/moor/pkg/kubeproto"
)

// Helpers of the proj, repo, repocreds, cluster, account and version commands.

// checkOutput refuses an -o value outside allowed before anything is asked of the server.
func checkOutput(output string, allowed ...string) error {
	if slices.Contains(allowed, output) {
		return nil
	}
	return usageErrorf("unknown output format %q (want one of: %s)", output, strings.Join(slices.DeleteFunc(slices.Clone(allowed), func(s string) bool { return s == "" }), ", "))
}

// printMessages writes API messages as "json" or "yaml" with their API (camelCase) field names: one message as
// an object, several (or list=true) as a list.
func printMessages[M proto.Message](w io.Writer, format string, list bool, msgs ...M) error {
	raws := make([]json.RawMessage, 0, len(msgs))
	for _, m := range msgs {
		b, err := kubeproto.Marshal(m)
		if err != nil {
			return err
		}
		raws = append(raws, b)
	}
	var doc []byte
	switch {
	case !list && len(raws) == 1:
		doc = raws[0]
	default:
		b, err := json.Marshal(raws)
		if err != nil {
			return err
		}
		doc = b
	}
	return printStructured(w, format, json.RawMessage(doc))
}

// printFields writes "Key:  value" lines aligned on the values, as `argocd ... get` does.
func printFields(w io.Writer, fields [][2]string) error {
	width := 0
	for _, f := range fields {
		width = max(width, len(f[0]))
	}
	var b strings.Builder
	for _, f := range fields {
		// A value of several lines continues under its first line.
		value := strings.ReplaceAll(f[1], "\n", "\n"+strings.Repeat(" ", width+3))
		b.WriteString(strings.TrimRight(fmt.Sprintf("%-*s  %s", width+1, f[0]+":", value), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// orNone is s, or "<none>" when empty.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// stdinIsTerminal reports whether cmd reads from a terminal.
func stdinIsTerminal(cmd *cobra.Command) (*os.File, bool) {
	f, ok := cmd.InOrStdin().(*os.File)
	return f, ok && term.IsTerminal(int(f.Fd()))
}

// promptSecret asks for a secret on stderr. On a terminal it is read without echo; otherwise one line is read
// from the command's input, so scripts can pipe it in.
func promptSecret(cmd *cobra.Command, prompt string) (string, error) {
	if f, ok := stdinIsTerminal(cmd); ok {
		fmt.Fprint(cmd.ErrOrStderr(), prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("reading from the terminal: %w", err)
		}
		return string(b), nil
	}
	line, err := readLine(cmd.InOrStdin())
	if err != nil {
		return "", usageErrorf("nothing to answer %q on the input", strings.TrimSpace(prompt))
	}
	return line, nil
}

// promptLine asks on stderr and reads one line from the command's input.
func promptLine(cmd *cobra.Command, prompt string) (string, error) {
	fmt.Fprint(cmd.ErrOrStderr(), prompt)
	line, err := readLine(cmd.InOrStdin())
	if err != nil {
		fmt.Fprintln(cmd.ErrOrStderr())
		return "", usageErrorf("nothing to answer %q on the input", strings.TrimSpace(prompt))
	}
	return strings.TrimSpace(line), nil
}

// askConfirmation asks a yes/no question on stderr and reads the answer from the command's input; only "y"
// or "yes" confirms.
func askConfirmation(cmd *cobra.Command, question string) bool {
	fmt.Fprintf(cmd.ErrOrStderr(), "%s [y/N] ", question)
	line, err := readLine(cmd.InOrStdin())
	if _, tty := stdinIsTerminal(cmd); !tty {
		fmt.Fprintln(cmd.ErrOrStderr())
	}
	if err != nil {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}

// readLine reads one line (without its end) from r, byte by byte so nothing after it is consumed.
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				return strings.TrimSuffix(b.String(), "\r"), nil
			}
			b.WriteByte(buf[0])
		}
		if errors.Is(err, io.EOF) {
			if b.Len() == 0 {
				return "", io.EOF
			}
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
	}
}

// parseLongDuration parses a Go duration that may also use days ("7d", "1d12h"). Empty is 0.
func parseLongDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	var days int64
	if i := strings.Index(s, "d"); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		days, s = n, s[i+1:]
	}
	var rest time.Duration
	if s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q (e.g. 12h, 30m, 7d)", s)
		}
		rest = d
	}
	d := time.Duration(days)*24*time.Hour + rest
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return d, nil
}

// tokenClaims reads the claims of a JWT without verifying it (the server that issued it just handed it
// over); it is used only to show the token's id and times.
type tokenClaims struct {
	Subject   string `json:"sub"`
	ID        string `json:"jti"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
}

func readTokenClaims(token string) (tokenClaims, error) {
	var c tokenClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, errors.New("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c, fmt.Errorf("token payload: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("token payload: %w", err)
	}
	return c, nil
}

// unixTime formats Unix seconds as RFC 3339 in UTC; 0 is never.
func unixTime(sec int64) string {
	if sec == 0 {
		return "never"
	}
	return time.Unix(sec, 0).UTC().Format(time.RFC3339)
}
