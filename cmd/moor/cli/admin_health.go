package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/moorcd/moor/pkg/health"
)

// maxManifestBytes bounds what admin health reads from one file.
const maxManifestBytes = 64 << 20

// healthRow is one line of `moor admin health` output; the JSON form is its -o json list entry.
type healthRow struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Namespace  string        `json:"namespace"`
	Name       string        `json:"name"`
	Status     health.Status `json:"status"`
	Message    string        `json:"message"`
}

func newAdminHealthCommand() *cobra.Command {
	var output, config string
	cmd := &cobra.Command{
		Use:   "health FILE...",
		Short: "Assess the health of the Kubernetes objects in YAML files, as the controller would",
		Long: `Assess the health of every object in the given YAML files (multi-document; "-" reads stdin; a List,
such as kubectl get -o yaml prints, is expanded) with the same checks the controller runs: Lua checks from
--config, then the built-in checks, then the generic conditions rule.

Objects without a health check print status "-" in the table and "" in JSON; they do not count in an
application's health. A Lua check that fails gives status Unknown with the error as message (as the
controller records it) and a warning on stderr.

--config reads a settings ConfigMap (Argo CD's argocd-cm shape) and uses its
resource.customizations.health.<group>_<kind> keys.`,
		Example: `  kubectl get deploy,sts -A -o yaml | moor admin health -
  moor admin health --config argocd-cm.yaml -o json manifests/*.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "" && output != "table" && output != "json" {
				return fmt.Errorf("unknown output format %q (want table or json)", output)
			}
			opts := health.Options{}
			if config != "" {
				lua, err := readHealthConfig(config)
				if err != nil {
					return err
				}
				opts.Lua = lua
			}
			assessor, err := health.New(opts)
			if err != nil {
				return fmt.Errorf("load health checks from %s: %w", config, err)
			}
			var rows []healthRow
			for _, file := range args {
				objs, err := readManifestFile(cmd.InOrStdin(), file)
				if err != nil {
					return err
				}
				for _, obj := range objs {
					res, err := assessor.AssessContext(cmd.Context(), obj)
					if err != nil {
						fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s: %s/%s: %v\n", file, obj.GetKind(), obj.GetName(), err)
					}
					row := healthRow{APIVersion: obj.GetAPIVersion(), Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName()}
					if res != nil {
						row.Status, row.Message = res.Status, res.Message
					}
					rows = append(rows, row)
				}
			}
			return printHealth(cmd.OutOrStdout(), output, rows)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	cmd.Flags().StringVar(&config, "config", "", "settings ConfigMap YAML (argocd-cm shape) holding resource.customizations.health.<group>_<kind> Lua checks")
	return cmd
}

func printHealth(w io.Writer, output string, rows []healthRow) error {
	if output == "json" {
		if rows == nil {
			rows = []healthRow{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAMESPACE\tNAME\tSTATUS\tMESSAGE")
	oneLine := strings.NewReplacer("\n", " ", "\t", " ")
	for _, r := range rows {
		status := string(r.Status)
		if status == "" {
			status = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Kind, r.Namespace, r.Name, status, oneLine.Replace(r.Message))
	}
	return tw.Flush()
}

func readHealthConfig(file string) (map[string]string, error) {
	objs, err := readManifestFile(nil, file)
	if err != nil {
		return nil, err
	}
	if len(objs) != 1 || objs[0].GetKind() != "ConfigMap" {
		return nil, fmt.Errorf("%s: want one ConfigMap", file)
	}
	data, _, err := unstructured.NestedStringMap(objs[0].Object, "data")
	if err != nil {
		return nil, fmt.Errorf("%s: data: %w", file, err)
	}
	return health.LuaFromConfigMap(data), nil
}

// manifestError names the file and, when known, the line of a bad document.
type manifestError struct {
	File string
	Line int
	Err  error
}

func (e *manifestError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *manifestError) Unwrap() error { return e.Err }

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// readManifestFile decodes every object of a multi-document YAML (or JSON) file, "-" meaning stdin, expanding Lists.
func readManifestFile(stdin io.Reader, file string) ([]*unstructured.Unstructured, error) {
	var r io.Reader
	if file == "-" {
		if stdin == nil {
			return nil, errors.New("stdin is not available here")
		}
		r = stdin
	} else {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	name := file
	if file == "-" {
		name = "<stdin>"
	}
	b, err := io.ReadAll(io.LimitReader(r, maxManifestBytes+1))
	if err != nil {
		return nil, &manifestError{File: name, Err: err}
	}
	if len(b) > maxManifestBytes {
		return nil, &manifestError{File: name, Err: fmt.Errorf("larger than %d bytes", maxManifestBytes)}
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	var out []*unstructured.Unstructured
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				line, _ := strconv.Atoi(m[1])
				return nil, &manifestError{File: name, Line: line, Err: errors.New(m[2])}
			}
			return nil, &manifestError{File: name, Err: err}
		}
		var v any
		if err := doc.Decode(&v); err != nil {
			return nil, &manifestError{File: name, Line: doc.Line, Err: err}
		}
		if v == nil {
			continue // an empty document
		}
		line := doc.Line
		if len(doc.Content) > 0 {
			line = doc.Content[0].Line
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, &manifestError{File: name, Line: line, Err: fmt.Errorf("not a Kubernetes object: %w", err)}
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(raw); err != nil {
			return nil, &manifestError{File: name, Line: line, Err: fmt.Errorf("not a Kubernetes object: %w", err)}
		}
		if obj.IsList() {
			err := obj.EachListItem(func(o runtime.Object) error {
				out = append(out, o.(*unstructured.Unstructured))
				return nil
			})
			if err != nil {
				return nil, &manifestError{File: name, Line: line, Err: err}
			}
			continue
		}
		out = append(out, obj)
	}
}
