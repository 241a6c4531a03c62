package app_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// access is what a caller may do with one call of the matrix.
type access int

const (
	public    access = iota // anyone, without a token
	anyUser                 // any authenticated caller; lists and watches filter what they return
	reader                  // admin and readonly; a project role of another project is refused
	writer                  // admin only
	projRead                // admin, readonly and the team-a project role (the object is in team-a)
	projWrite               // admin and the team-a project role
	unimpl                  // not served yet: Unimplemented after authentication
)

// matrixCall is one RPC of the matrix with a request that names fixture objects, in JSON.
type matrixCall struct {
	method string // Service/Method of moor.api.v1
	access access
	req    string
}

const guestbookSpec = `{"project":"default","source":{"repoURL":"https://github.com/acme/platform-config.git","path":"apps/guestbook","targetRevision":"HEAD"},"destination":{"server":"https://kubernetes.default.svc","namespace":"default"}}`

// matrixCalls lists every RPC of moor.api.v1 (TestRBACMatrix checks none is missing). Calls that delete
// come last, and the logout very last, since they change what the calls after them see.
var matrixCalls = []matrixCall{
	{"VersionService/Version", public, `{}`},
	{"SettingsService/Get", public, `{}`},
	{"SettingsService/GetPlugins", anyUser, `{}`},
	{"SessionService/Create", public, `{"username":"alice","password":"` + userPassword + `"}`},
	{"SessionService/GetUserInfo", anyUser, `{}`},

	{"ApplicationService/List", anyUser, `{}`},
	{"ApplicationService/Watch", anyUser, `{"name":"guestbook"}`},
	{"ApplicationService/Get", reader, `{"name":"guestbook"}`},
	{"ApplicationService/Get", projRead, `{"name":"team-a-app"}`},
	{"ApplicationService/ListResourceEvents", reader, `{"name":"guestbook"}`},
	{"ApplicationService/GetApplicationSyncWindows", reader, `{"name":"guestbook"}`},
	{"ApplicationService/RevisionMetadata", reader, `{"name":"guestbook","revision":"HEAD"}`},
	{"ApplicationService/RevisionChartDetails", unimpl, `{"name":"guestbook","revision":"1.0.0"}`},
	{"ApplicationService/GetOCIMetadata", unimpl, `{"name":"guestbook","revision":"1.0.0"}`},
	{"ApplicationService/GetManifests", reader, `{"name":"guestbook"}`},
	{"ApplicationService/GetManifestsWithFiles", unimpl, `{"query":{"name":"guestbook"}}`},
	{"ApplicationService/ManagedResources", reader, `{"applicationName":"guestbook"}`},
	{"ApplicationService/ServerSideDiff", unimpl, `{"appName":"guestbook"}`},
	{"ApplicationService/ResourceTree", reader, `{"applicationName":"guestbook"}`},
	{"ApplicationService/ResourceTree", projRead, `{"applicationName":"team-a-app"}`},
	{"ApplicationService/WatchResourceTree", reader, `{"applicationName":"guestbook"}`},
	{"ApplicationService/GetResource", reader, `{"name":"guestbook","namespace":"default","resourceName":"absent","version":"v1","kind":"ConfigMap"}`},
	{"ApplicationService/ListResourceActions", reader, `{"name":"guestbook","namespace":"default","resourceName":"absent","version":"v1","kind":"ConfigMap"}`},
	{"ApplicationService/PodLogs", unimpl, `{"name":"guestbook","namespace":"default","podName":"absent"}`},
	{"ApplicationService/ListLinks", unimpl, `{"name":"guestbook"}`},
	{"ApplicationService/ListResourceLinks", unimpl, `{"name":"guestbook","namespace":"default","resourceName":"absent","version":"v1","kind":"ConfigMap"}`},
	{"ApplicationService/Create", writer, `{"application":{"metadata":{"name":"matrix-created"},"spec":` + guestbookSpec + `},"validate":false}`},
	{"ApplicationService/Update", writer, `{"application":{"metadata":{"name":"guestbook"},"spec":` + guestbookSpec + `},"validate":false}`},
	{"ApplicationService/UpdateSpec", writer, `{"name":"guestbook","spec":` + guestbookSpec + `,"validate":false}`},
	{"ApplicationService/Patch", writer, `{"name":"guestbook","patch":"{\"metadata\":{\"labels\":{\"matrix\":\"yes\"}}}","patchType":"merge"}`},
	{"ApplicationService/Sync", writer, `{"name":"matrix","dryRun":true}`},
	{"ApplicationService/Sync", projWrite, `{"name":"team-a-app","dryRun":true}`},
	{"ApplicationService/Rollback", writer, `{"name":"guestbook","id":"1"}`},
	{"ApplicationService/TerminateOperation", writer, `{"name":"busy"}`},
	{"ApplicationService/PatchResource", writer, `{"name":"guestbook","namespace":"default","resourceName":"absent","version":"v1","kind":"ConfigMap","patch":"{}","patchType":"merge"}`},
	{"ApplicationService/RunResourceAction", writer, `{"name":"guestbook","namespace":"default","resourceName":"absent","group":"apps","version":"v1","kind":"Deployment","action":"restart"}`},
	{"ApplicationService/RunResourceActionV2", writer, `{"name":"guestbook","namespace":"default","resourceName":"absent","group":"apps","version":"v1","kind":"Deployment","action":"restart"}`},
	{"ApplicationService/DeleteResource", writer, `{"name":"guestbook","namespace":"default","resourceName":"absent","version":"v1","kind":"ConfigMap"}`},

	{"ApplicationSetService/List", anyUser, `{}`},
	{"ApplicationSetService/Watch", anyUser, `{}`},
	{"ApplicationSetService/Get", reader, `{"name":"matrix-set"}`},
	{"ApplicationSetService/ResourceTree", reader, `{"name":"matrix-set"}`},
	{"ApplicationSetService/ListResourceEvents", reader, `{"name":"matrix-set"}`},
	{"ApplicationSetService/Generate", writer, `{"applicationSet":{"metadata":{"name":"matrix-gen"},"spec":{"generators":[{"list":{"elements":[{"n":"a"}]}}],"template":{"metadata":{"name":"g-{{n}}"},"spec":` + guestbookSpec + `}}}}`},
	{"ApplicationSetService/Create", writer, `{"applicationSet":{"metadata":{"name":"matrix-new-set"},"spec":{"generators":[{"list":{"elements":[{"n":"a"}]}}],"template":{"metadata":{"name":"s-{{n}}"},"spec":` + guestbookSpec + `}}}}`},

	{"AccountService/CanI", anyUser, `{"resource":"applications","action":"get","subresource":"default/guestbook"}`},
	{"AccountService/ListAccounts", anyUser, `{}`},
	{"AccountService/GetAccount", reader, `{"name":"alice"}`},
	{"AccountService/CreateToken", writer, `{"name":"carol","id":"matrix"}`},
	{"AccountService/DeleteToken", writer, `{"name":"carol","id":"matrix"}`},

	{"ClusterService/List", anyUser, `{}`},
	{"ClusterService/Get", reader, `{"server":"https://kubernetes.default.svc"}`},
	{"ClusterService/Create", writer, `{"cluster":{"server":"https://matrix.invalid:6443","name":"matrix","config":{"bearerToken":"t"}}}`},
	{"ClusterService/Update", writer, `{"cluster":{"server":"https://matrix.invalid:6443","name":"matrix","config":{"bearerToken":"t"}}}`},
	{"ClusterService/RotateAuth", unimpl, `{"id":{"type":"url","value":"https://matrix.invalid:6443"}}`},
	{"ClusterService/InvalidateCache", unimpl, `{"id":{"type":"url","value":"https://matrix.invalid:6443"}}`},

	{"RepositoryService/List", anyUser, `{}`},
	{"RepositoryService/ListRepositories", anyUser, `{}`},
	{"RepositoryService/ListWriteRepositories", unimpl, `{}`},
	{"RepositoryService/Get", reader, `{"repo":"https://github.com/acme/platform-config.git"}`},
	{"RepositoryService/GetWrite", unimpl, `{"repo":"https://github.com/acme/platform-config.git"}`},
	{"RepositoryService/ListRefs", reader, `{"repo":"https://github.com/acme/platform-config.git"}`},
	{"RepositoryService/ListOCITags", unimpl, `{"repo":"oci://registry.invalid/charts/app"}`},
	{"RepositoryService/ListApps", reader, `{"repo":"https://github.com/acme/platform-config.git","revision":"HEAD"}`},
	{"RepositoryService/GetAppDetails", reader, `{"source":{"repoURL":"https://github.com/acme/platform-config.git","path":"apps/guestbook"}}`},
	{"RepositoryService/GetHelmCharts", unimpl, `{"repo":"https://charts.invalid"}`},
	{"RepositoryService/ValidateAccess", writer, `{"repo":"https://127.0.0.1:1/matrix.git"}`},
	{"RepositoryService/ValidateWriteAccess", unimpl, `{"repo":"https://127.0.0.1:1/matrix.git"}`},
	{"RepositoryService/Create", writer, `{"repo":{"repo":"https://example.invalid/matrix.git"}}`},
	{"RepositoryService/CreateRepository", writer, `{"repo":{"repo":"https://example.invalid/matrix2.git"}}`},
	{"RepositoryService/CreateWriteRepository", unimpl, `{"repo":{"repo":"https://example.invalid/matrix3.git"}}`},
	{"RepositoryService/Update", writer, `{"repo":{"repo":"https://example.invalid/matrix.git"}}`},
	{"RepositoryService/UpdateRepository", writer, `{"repo":{"repo":"https://example.invalid/matrix2.git"}}`},
	{"RepositoryService/UpdateWriteRepository", unimpl, `{"repo":{"repo":"https://example.invalid/matrix3.git"}}`},

	{"RepoCredsService/ListRepositoryCredentials", anyUser, `{}`},
	{"RepoCredsService/ListWriteRepositoryCredentials", unimpl, `{}`},
	{"RepoCredsService/CreateRepositoryCredentials", writer, `{"creds":{"url":"https://example.invalid/org"}}`},
	{"RepoCredsService/CreateWriteRepositoryCredentials", unimpl, `{"creds":{"url":"https://example.invalid/org"}}`},
	{"RepoCredsService/UpdateRepositoryCredentials", writer, `{"creds":{"url":"https://example.invalid/org"}}`},
	{"RepoCredsService/UpdateWriteRepositoryCredentials", unimpl, `{"creds":{"url":"https://example.invalid/org"}}`},

	{"ProjectService/List", anyUser, `{}`},
	{"ProjectService/Get", reader, `{"name":"default"}`},
	{"ProjectService/GetDetailedProject", unimpl, `{"name":"default"}`},
	{"ProjectService/GetGlobalProjects", unimpl, `{"name":"default"}`},
	{"ProjectService/ListEvents", unimpl, `{"name":"default"}`},
	{"ProjectService/GetSyncWindowsState", reader, `{"name":"default"}`},
	{"ProjectService/ListLinks", unimpl, `{"name":"default"}`},
	{"ProjectService/Create", writer, `{"project":{"metadata":{"name":"matrix-proj"},"spec":{"sourceRepos":["*"]}}}`},
	{"ProjectService/Update", writer, `{"project":{"metadata":{"name":"matrix-proj"},"spec":{"sourceRepos":["*"],"description":"updated"}}}`},
	{"ProjectService/CreateToken", writer, `{"project":"default","role":"matrix"}`},
	{"ProjectService/DeleteToken", writer, `{"project":"default","role":"matrix","iat":"1"}`},

	// Deletions, then the logout.
	{"ApplicationService/Delete", writer, `{"name":"other-repo","cascade":false}`},
	{"ApplicationSetService/Delete", writer, `{"name":"matrix-set"}`},
	{"ClusterService/Delete", writer, `{"server":"https://matrix.invalid:6443"}`},
	{"RepositoryService/Delete", writer, `{"repo":"https://example.invalid/matrix.git"}`},
	{"RepositoryService/DeleteRepository", writer, `{"repo":"https://example.invalid/matrix2.git"}`},
	{"RepositoryService/DeleteWriteRepository", unimpl, `{"repo":"https://example.invalid/matrix3.git"}`},
	{"RepoCredsService/DeleteRepositoryCredentials", writer, `{"url":"https://example.invalid/org"}`},
	{"RepoCredsService/DeleteWriteRepositoryCredentials", unimpl, `{"url":"https://example.invalid/org"}`},
	{"ProjectService/Delete", writer, `{"name":"matrix-proj"}`},
	{"AccountService/UpdatePassword", anyUser, `{"currentPassword":"not-the-password","newPassword":"matrix-password-1"}`},
	{"SessionService/Delete", anyUser, `{}`},
}

// TestRBACMatrix calls every RPC of moor.api.v1 as admin, readonly, a project role (proj:team-a:deployer) and
// anonymous, and checks each is allowed or refused as expected: refused means PermissionDenied (403 over REST)
// for a caller with a token and Unauthenticated (401) without one; allowed means any other answer (the
// fixture's repo-server is unreachable and most named objects do not exist, so NotFound, InvalidArgument or
// Unavailable still show the caller was let through).
func TestRBACMatrix(t *testing.T) {
	s := defaultSettings()
	f := start(t, s, false, fixtureApps()...)
	proj, err := f.client.ArgoprojV1alpha1().AppProjects(f.ns).Get(t.Context(), "team-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	proj.Spec.Roles = []v1alpha1.ProjectRole{{Name: "deployer", Policies: []string{"p, proj:team-a:deployer, applications, *, team-a/*, allow"}}}
	if _, err := f.client.ArgoprojV1alpha1().AppProjects(f.ns).Update(t.Context(), proj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	admin := f.login(t, "admin", f.adminPassword(t))
	var projToken string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res, err := apiv1.NewProjectServiceClient(f.conn).CreateToken(bearer(t.Context(), admin),
			&apiv1.ProjectServiceCreateTokenRequest{Project: "team-a", Role: "deployer"})
		if err == nil {
			projToken = res.GetToken()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("project role token: %v", err)
		}
	}
	roles := []struct{ name, token string }{
		{"anonymous", ""},
		{"readonly", f.login(t, "alice", userPassword)},
		{"project role", projToken},
		{"admin", admin}, // last: its calls write
	}

	served := map[string]bool{}
	for _, c := range matrixCalls {
		served[c.method] = true
	}
	for _, m := range allMethods(t) {
		if !served[m] {
			t.Errorf("%s is not in the RBAC matrix", m)
		}
	}

	for _, role := range roles {
		for _, c := range matrixCalls {
			code, err := invoke(t, f.conn, role.token, c.method, c.req)
			want := expected(c.access, role.name)
			got := "allowed"
			switch {
			case code == codes.Unauthenticated:
				got = "unauthenticated"
			case code == codes.PermissionDenied:
				got = "denied"
			case code == codes.Unimplemented:
				got = "unimplemented"
			}
			if got != want {
				t.Errorf("%s as %s (%s): %s, want %s (%v)", c.method, role.name, c.req, got, want, err)
			}
		}
	}
}

func expected(a access, role string) string {
	if role == "anonymous" {
		if a == public {
			return "allowed"
		}
		return "unauthenticated"
	}
	switch a {
	case public, anyUser:
		return "allowed"
	case unimpl:
		return "unimplemented"
	case reader:
		if role == "admin" || role == "readonly" {
			return "allowed"
		}
	case writer:
		if role == "admin" {
			return "allowed"
		}
	case projRead:
		return "allowed"
	case projWrite:
		if role != "readonly" {
			return "allowed"
		}
	}
	return "denied"
}

// allMethods lists Service/Method of every RPC of moor.api.v1.
func allMethods(t *testing.T) []string {
	var out []string
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if fd.Package() != "moor.api.v1" {
			return true
		}
		for i := range fd.Services().Len() {
			s := fd.Services().Get(i)
			for j := range s.Methods().Len() {
				out = append(out, fmt.Sprintf("%s/%s", s.Name(), s.Methods().Get(j).Name()))
			}
		}
		return true
	})
	if len(out) < 90 {
		t.Fatalf("found only %d methods of moor.api.v1", len(out))
	}
	slices.Sort(out)
	return out
}

// invoke calls method with the JSON request as a caller holding token ("" for none) and returns the status
// code. A server stream counts as answered when its first message or its end arrives; one that stays open
// with nothing to send yet was let through.
func invoke(t *testing.T, conn *grpc.ClientConn, token, method, reqJSON string) (codes.Code, error) {
	t.Helper()
	svcName, methName, _ := strings.Cut(method, "/")
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName("moor.api.v1." + svcName))
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	md := d.(protoreflect.ServiceDescriptor).Methods().ByName(protoreflect.Name(methName))
	if md == nil {
		t.Fatalf("%s: no such method", method)
	}
	req := dynamicpb.NewMessage(md.Input())
	if err := protojson.Unmarshal([]byte(reqJSON), req); err != nil {
		t.Fatalf("%s request %s: %v", method, reqJSON, err)
	}
	resp := dynamicpb.NewMessage(md.Output())
	full := "/moor.api.v1." + method
	ctx, cancel := context.WithTimeout(bearer(t.Context(), token), 5*time.Second)
	defer cancel()
	if !md.IsStreamingClient() && !md.IsStreamingServer() {
		err := conn.Invoke(ctx, full, req, resp)
		return status.Code(err), err
	}
	sctx, scancel := context.WithTimeout(ctx, time.Second)
	defer scancel()
	stream, err := conn.NewStream(sctx, &grpc.StreamDesc{ServerStreams: md.IsStreamingServer(), ClientStreams: md.IsStreamingClient()}, full)
	if err != nil {
		return status.Code(err), err
	}
	if err := stream.SendMsg(req); err != nil && err != io.EOF {
		return status.Code(err), err
	}
	if err := stream.CloseSend(); err != nil {
		return status.Code(err), err
	}
	err = stream.RecvMsg(resp)
	switch {
	case err == nil || err == io.EOF:
		return codes.OK, nil
	case status.Code(err) == codes.DeadlineExceeded && sctx.Err() != nil:
		return codes.OK, nil // still open: it was let in
	}
	return status.Code(err), err
}
