package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/yaml"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

func newAppCreateCommand(g *globalOptions) *cobra.Command {
	var (
		o        specFlags
		file     string
		upsert   bool
		validate bool
	)
	cmd := &cobra.Command{
		Use:   "create [NAME]",
		Short: "Create an application from flags or from a manifest file",
		Long: `Create an application from flags, or from a file of Application manifests (YAML or JSON, several
documents allowed; "-" reads standard input). Flags given with -f override the file's fields.

With --upsert an existing application whose spec differs is replaced; without it, creating an application
that exists with another spec fails (an identical one is left unchanged).`,
		Example: `  moor app create guestbook --repo https://github.com/argoproj/argocd-example-apps.git --path guestbook \
    --dest-server https://kubernetes.default.svc --dest-namespace default --sync-policy auto --self-heal
  moor app create -f apps.yaml --upsert
  moor app create web --repo https://charts.example.com --helm-chart web --revision 1.2.3 \
    --dest-name prod --dest-namespace web --helm-set replicas=3`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var apps []*v1alpha1.Application
			if file != "" {
				var err error
				if apps, err = readAppManifests(cmd.InOrStdin(), file); err != nil {
					return err
				}
				if len(args) == 1 {
					if len(apps) != 1 {
						return usageErrorf("NAME renames the application of -f, but %s holds %d", file, len(apps))
					}
					apps[0].Name = args[0]
				}
				for _, a := range apps {
					if err := o.apply(a); err != nil {
						return err
					}
				}
			} else {
				if len(args) == 0 {
					return usageErrorf("name the application, or pass -f FILE")
				}
				app := &v1alpha1.Application{}
				app.Name = args[0]
				if err := o.apply(app); err != nil {
					return err
				}
				if err := validateNew(app); err != nil {
					return err
				}
				apps = append(apps, app)
			}
			s, err := g.appSession()
			if err != nil {
				return err
			}
			defer s.Close()
			for _, app := range apps {
				msg, err := appToMessage(app)
				if err != nil {
					return err
				}
				req := &apiv1.ApplicationServiceCreateRequest{Application: msg, Upsert: upsert}
				if !validate {
					req.Validate = proto.Bool(false)
				}
				if _, err := s.apps.Create(cmd.Context(), req); err != nil {
					return fmt.Errorf("create application %q: %w", app.Name, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "application '%s' created\n", app.Name)
			}
			return nil
		},
	}
	f := cmd.Flags()
	o.bind(f)
	f.StringVarP(&file, "file", "f", "", "file of Application manifests (YAML or JSON; - for standard input)")
	f.BoolVar(&upsert, "upsert", false, "replace an existing application whose spec differs")
	f.BoolVar(&validate, "validate", true, "validate the repository and destination before creating")
	return cmd
}

// readAppManifests reads Application documents from path ("-": in).
func readAppManifests(in io.Reader, path string) ([]*v1alpha1.Application, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(in, 16<<20))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, usageErrorf("reading %s: %v", path, err)
	}
	apps, err := parseAppManifests(b)
	if err != nil {
		return nil, usageErrorf("%s: %v", path, err)
	}
	if len(apps) == 0 {
		return nil, usageErrorf("%s holds no Application", path)
	}
	return apps, nil
}

// parseAppManifests decodes YAML or JSON documents (a kind: List of Applications too), refusing other kinds.
func parseAppManifests(b []byte) ([]*v1alpha1.Application, error) {
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*v1alpha1.Application
	for i := 1; ; i++ {
		var raw map[string]any
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if raw == nil {
			continue
		}
		docs := []map[string]any{raw}
		if raw["kind"] == "List" {
			docs = nil
			items, _ := raw["items"].([]any)
			for _, it := range items {
				if m, ok := it.(map[string]any); ok {
					docs = append(docs, m)
				}
			}
		}
		for _, d := range docs {
			app, err := decodeApp(d)
			if err != nil {
				return nil, fmt.Errorf("document %d: %w", i, err)
			}
			out = append(out, app)
		}
	}
}

func decodeApp(doc map[string]any) (*v1alpha1.Application, error) {
	if k, _ := doc["kind"].(string); k != "Application" {
		return nil, fmt.Errorf("kind %q is not Application", k)
	}
	if v, _ := doc["apiVersion"].(string); !strings.HasPrefix(v, v1alpha1.SchemeGroupVersion.Group+"/") {
		return nil, fmt.Errorf("apiVersion %q is not %s", v, v1alpha1.SchemeGroupVersion)
	}
	b, err := yamlJSON(doc)
	if err != nil {
		return nil, err
	}
	app := &v1alpha1.Application{}
	if err := appStrictJSON(b, app); err != nil {
		return nil, err
	}
	if app.Name == "" {
		return nil, errors.New("metadata.name is required")
	}
	// Server-owned fields have no meaning in a create.
	app.ResourceVersion, app.UID, app.Generation, app.ManagedFields = "", "", 0, nil
	app.CreationTimestamp = v1alpha1.Application{}.CreationTimestamp
	return app, nil
}

func yamlJSON(doc map[string]any) ([]byte, error) { return json.Marshal(doc) }

// appStrictJSON decodes b into v refusing unknown fields, so a typo in a manifest is an error, not a no-op.
func appStrictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
