package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/kubeproto"
	"github.com/moorcd/moor/pkg/version"
)

func newVersionCommand(g *globalOptions) *cobra.Command {
	var (
		output     string
		clientOnly bool
		short      bool
	)
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the client's and the server's versions",
		Long: `Print the client's version and the version of the moor-server it talks to (no login needed).
With --client, or when no server is configured, only the client's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if short {
				output = "short"
			}
			if err := checkOutput(output, "", "short", "json", "yaml"); err != nil {
				return err
			}
			client := version.Get()
			var server *apiv1.VersionServiceVersionResponse
			var serverErr error
			if !clientOnly {
				server, serverErr = serverVersion(cmd, g)
			}
			w := cmd.OutOrStdout()
			if err := printVersions(w, output, client, server); err != nil {
				return err
			}
			return serverErr
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: short, json or yaml")
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print only the client's version")
	cmd.Flags().BoolVar(&short, "short", false, "print only the version numbers (same as -o short)")
	return cmd
}

// serverVersion asks the server for its version.
func serverVersion(cmd *cobra.Command, g *globalOptions) (*apiv1.VersionServiceVersionResponse, error) {
	conn, err := g.conn()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return apiv1.NewVersionServiceClient(conn).Version(cmd.Context(), &apiv1.VersionServiceVersionRequest{})
}

// printVersions writes the client's version and, when known, the server's.
func printVersions(w io.Writer, format string, client version.Info, server *apiv1.VersionServiceVersionResponse) error {
	clientVersion := client.Version
	if client.Commit != "" {
		clientVersion += "+" + client.Commit
	}
	switch format {
	case "json", "yaml":
		doc := map[string]any{"client": client}
		if server != nil {
			b, err := kubeproto.Marshal(server)
			if err != nil {
				return err
			}
			doc["server"] = json.RawMessage(b)
		}
		return printStructured(w, format, doc)
	case "short":
		fmt.Fprintf(w, "moor: %s\n", clientVersion)
		if server != nil {
			fmt.Fprintf(w, "moor-server: %s\n", serverVersionString(server))
		}
		return nil
	}
	fmt.Fprintf(w, "moor: %s\n", clientVersion)
	if err := printIndentedFields(w, [][2]string{{"GoVersion", client.GoVersion}, {"Platform", client.Platform}}); err != nil {
		return err
	}
	if server == nil {
		return nil
	}
	fmt.Fprintf(w, "moor-server: %s\n", serverVersionString(server))
	return printIndentedFields(w, [][2]string{
		{"BuildDate", server.GetBuildDate()},
		{"GitCommit", server.GetGitCommit()},
		{"GitTreeState", server.GetGitTreeState()},
		{"GoVersion", server.GetGoVersion()},
		{"Compiler", server.GetCompiler()},
		{"Platform", server.GetPlatform()},
		{"Kustomize Version", server.GetKustomizeVersion()},
		{"Helm Version", server.GetHelmVersion()},
		{"Kubectl Version", server.GetKubectlVersion()},
		{"Jsonnet Version", server.GetJsonnetVersion()},
	})
}

func serverVersionString(v *apiv1.VersionServiceVersionResponse) string {
	s := v.GetVersion()
	if c := v.GetGitCommit(); c != "" {
		s += "+" + c
	}
	return s
}

// printIndentedFields writes the non-empty fields as "  Key: value" lines.
func printIndentedFields(w io.Writer, fields [][2]string) error {
	for _, f := range fields {
		if f[1] == "" {
			continue
		}
		if _, err := fmt.Fprintf(w, "  %s: %s\n", f[0], f[1]); err != nil {
			return err
		}
	}
	return nil
}
