package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// runMoor runs the root command as a user would and returns stdout, stderr and the error.
func runMoor(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := NewRootCommand()
	var out, errOut bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

const healthTestdata = "../../../pkg/health/testdata"

func TestAdminHealthTable(t *testing.T) {
	t.Parallel()
	out, _, err := runMoor(t, "", "admin", "health", filepath.Join(healthTestdata, "objects", "service.yaml"), filepath.Join(healthTestdata, "objects", "persistentvolumeclaim.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := `KIND                   NAMESPACE  NAME        STATUS       MESSAGE
Service                guestbook  cluster-ip  Healthy      
Service                guestbook  lb-pending  Progressing  Waiting for the load balancer to be provisioned
Service                guestbook  lb-ready    Healthy      
PersistentVolumeClaim  db         bound       Healthy      
PersistentVolumeClaim  db         pending     Progressing  
PersistentVolumeClaim  db         lost        Degraded     
`
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestAdminHealthStdinJSONAndLists(t *testing.T) {
	t.Parallel()
	stdin := `---
apiVersion: v1
kind: List
items:
- apiVersion: batch/v1
  kind: CronJob
  metadata: {name: nightly, namespace: batch}
  spec: {suspend: true}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: default}
`
	out, _, err := runMoor(t, stdin, "admin", "health", "-o", "json", "-")
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not a JSON list: %v\n%s", err, out)
	}
	want := []map[string]string{
		{"apiVersion": "batch/v1", "kind": "CronJob", "namespace": "batch", "name": "nightly", "status": "Suspended", "message": "CronJob is suspended"},
		{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "default", "name": "settings", "status": "", "message": ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestAdminHealthConfigLua(t *testing.T) {
	t.Parallel()
	cm := filepath.Join(healthTestdata, "lua", "argocd-cm.yaml")
	dir := t.TempDir()
	objs := filepath.Join(dir, "objs.yaml")
	writeFile(t, objs, `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {replicas: 4}
---
apiVersion: example.com/v1
kind: Exit
metadata: {name: escape}
`)
	out, stderr, err := runMoor(t, "", "admin", "health", "--config", cm, objs)
	if err != nil {
		t.Fatal(err)
	}
	want := `KIND        NAMESPACE  NAME    STATUS   MESSAGE
Deployment  shop       web     Healthy  lua says replicas=4
Exit                   escape  Unknown  lua health check example.com_Exit: example.com_Exit:1: attempt to index a non-table object(nil) with key 'exit'
`
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if !strings.Contains(stderr, "warning: "+objs+": Exit/escape: lua health check example.com_Exit") {
		t.Errorf("stderr = %q, want a warning naming file and object", stderr)
	}
}

func TestAdminHealthErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\napiVersion: v1\nkind: Pod\n  name: [broken\n")
	scalar := filepath.Join(dir, "scalar.yaml")
	writeFile(t, scalar, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\njust a string\n")
	badLua := filepath.Join(dir, "cm.yaml")
	writeFile(t, badLua, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm}\ndata:\n  resource.customizations.health.example.com_X: 'return {'\n")

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"yaml syntax names file and line", []string{bad}, bad + ":8: "},
		{"not an object names file and line", []string{scalar}, scalar + ":5: not a Kubernetes object"},
		{"missing file", []string{filepath.Join(dir, "nope.yaml")}, "nope.yaml: no such file"},
		{"bad lua in config", []string{"--config", badLua, scalar}, "lua health check example.com_X"},
		{"bad output", []string{"-o", "xml", bad}, `unknown output format "xml"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := runMoor(t, "", append([]string{"admin", "health"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
