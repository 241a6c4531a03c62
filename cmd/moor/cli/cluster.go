package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
)

// inClusterServer is the address of the cluster Moor itself runs in, seen from inside it.
const inClusterServer = "https://kubernetes.default.svc"

// newClusterCommand returns the cluster group: the destination clusters Moor deploys to.
func newClusterCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "cluster",
		Aliases: []string{"clusters"},
		Short:   "Manage the clusters Moor deploys to",
		Args:    cobra.NoArgs,
	}
	cmd.AddCommand(newClusterAddCommand(g), newClusterListCommand(g), newClusterGetCommand(g), newClusterRemoveCommand(g))
	return cmd
}

// clusterAddOptions are the flags of cluster add.
type clusterAddOptions struct {
	kubeconfig       string
	name             string
	inCluster        bool
	namespaces       []string
	clusterResources bool
	project          string
	labels           []string
	annotations      []string
	upsert           bool
	yes              bool
	systemNamespace  string
	serviceAccount   string
	tokenTimeout     time.Duration
}

func newClusterAddCommand(g *globalOptions) *cobra.Command {
	o := &clusterAddOptions{}
	cmd := &cobra.Command{
		Use:   "add CONTEXT",
		Short: "Register the cluster of a kubeconfig context, with a service account Moor manages it as",
		Long: `Register the cluster of a kubeconfig context (--kubeconfig, else $KUBECONFIG, else ~/.kube/config).

Using that context's credentials once, it creates in the system namespace (kube-system) the ServiceAccount
moor-manager, the ClusterRole moor-manager-role (every verb on every resource) and its ClusterRoleBinding, or,
with --namespace, a Role and RoleBinding in each of those namespaces; and a service-account-token Secret.
Moor then reaches the cluster with that Secret's token. Running it again is safe.`,
		Example: `  moor cluster add kind-prod
  moor cluster add kind-prod --name prod --namespace shop --namespace payments -y`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, g, args[0])
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
	fs.StringVar(&o.name, "name", "", "cluster name (default: the context name)")
	fs.BoolVar(&o.inCluster, "in-cluster", false, "Moor runs inside this cluster: register it as "+inClusterServer)
	fs.StringArrayVar(&o.namespaces, "namespace", nil, "manage only this namespace (repeatable; default: the whole cluster)")
	fs.BoolVar(&o.clusterResources, "cluster-resources", false, "with --namespace, also manage cluster-scoped resources")
	fs.StringVar(&o.project, "project", "", "project that owns the cluster (default: global)")
	fs.StringArrayVar(&o.labels, "label", nil, "label of the cluster as KEY=VALUE (repeatable)")
	fs.StringArrayVar(&o.annotations, "annotation", nil, "annotation of the cluster as KEY=VALUE (repeatable)")
	fs.BoolVar(&o.upsert, "upsert", false, "replace the cluster if it is registered already")
	fs.BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	fs.StringVar(&o.systemNamespace, "system-namespace", "kube-system", "namespace of the service account")
	fs.StringVar(&o.serviceAccount, "service-account", "moor-manager", "service account to create; its roles are named after it")
	fs.DurationVar(&o.tokenTimeout, "service-account-token-timeout", 30*time.Second, "how long to wait for the cluster to issue the service account's token")
	return cmd
}

func (o *clusterAddOptions) run(cmd *cobra.Command, g *globalOptions, contextName string) error {
	labels, err := keyValues("label", o.labels)
	if err != nil {
		return err
	}
	annotations, err := keyValues("annotation", o.annotations)
	if err != nil {
		return err
	}
	if o.clusterResources && len(o.namespaces) == 0 {
		return usageErrorf("--cluster-resources applies only with --namespace")
	}
	cfg, err := o.restConfig(contextName)
	if err != nil {
		return err
	}
	if !o.yes {
		scope := "full cluster-level privileges"
		if len(o.namespaces) > 0 {
			scope = "full privileges in the namespaces " + strings.Join(o.namespaces, ", ")
		}
		q := fmt.Sprintf("This creates the service account %s/%s with %s on the cluster of context %q (%s). Continue?",
			o.systemNamespace, o.serviceAccount, scope, contextName, cfg.Host)
		if !askConfirmation(cmd, q) {
			return usageErrorf("cancelled (pass -y to skip the question)")
		}
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return usageErrorf("context %q: %v", contextName, err)
	}
	ctx := cmd.Context()
	token, caFromSecret, err := o.installManager(ctx, kube)
	if err != nil {
		return exitf(ExitAPIError, "installing the service account on context %q: %v", contextName, oneLine(err.Error()))
	}
	server, ca := cfg.Host, cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		if ca, err = os.ReadFile(cfg.CAFile); err != nil {
			return usageErrorf("context %q: reading its CA: %v", contextName, err)
		}
	}
	if o.inCluster {
		server, ca = inClusterServer, caFromSecret
	} else if len(ca) == 0 && !cfg.Insecure {
		ca = caFromSecret
	}
	name := o.name
	if name == "" {
		name = contextName
	}
	cluster := &apiv1.Cluster{
		Server: strings.TrimSuffix(server, "/"), Name: name, Namespaces: o.namespaces, ClusterResources: o.clusterResources,
		Project: o.project, Labels: labels, Annotations: annotations,
		Config: &apiv1.ClusterConfig{
			BearerToken: token,
			TlsClientConfig: &apiv1.TLSClientConfig{
				Insecure: cfg.Insecure, ServerName: cfg.ServerName, CaData: ca,
			},
		},
	}
	conn, err := g.conn()
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := apiv1.NewClusterServiceClient(conn).Create(ctx, &apiv1.ClusterServiceCreateRequest{Cluster: cluster, Upsert: o.upsert})
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "cluster %q added (%s)\n", resp.GetCluster().GetServer(), resp.GetCluster().GetName())
	return nil
}

// restConfig is the client configuration of the kubeconfig context.
func (o *clusterAddOptions) restConfig(contextName string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.kubeconfig != "" {
		rules.ExplicitPath = o.kubeconfig
	}
	raw, err := rules.Load()
	if err != nil {
		return nil, usageErrorf("reading the kubeconfig: %v", oneLine(err.Error()))
	}
	if _, ok := raw.Contexts[contextName]; !ok {
		names := make([]string, 0, len(raw.Contexts))
		for n := range raw.Contexts {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, usageErrorf("no context %q in the kubeconfig (contexts: %s)", contextName, orNone(strings.Join(names, ", ")))
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*raw, contextName, &clientcmd.ConfigOverrides{}, rules).ClientConfig()
	if err != nil {
		return nil, usageErrorf("context %q: %v", contextName, oneLine(err.Error()))
	}
	return cfg, nil
}

// installManager creates (or brings up to date) the service account, its roles and its token Secret, and
// returns the token and the cluster CA the token controller wrote.
func (o *clusterAddOptions) installManager(ctx context.Context, kube kubernetes.Interface) (string, []byte, error) {
	ns, sa := o.systemNamespace, o.serviceAccount
	meta := func(name, namespace string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app.kubernetes.io/managed-by": "moor"}}
	}
	account, err := kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: meta(sa, ns)}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		account, err = kube.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{})
	}
	if err != nil {
		return "", nil, fmt.Errorf("service account %s/%s: %w", ns, sa, err)
	}
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}}
	role, binding := sa+"-role", sa+"-role-binding"
	if len(o.namespaces) == 0 || o.clusterResources {
		rules := []rbacv1.PolicyRule{
			{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}},
			{NonResourceURLs: []string{"*"}, Verbs: []string{"*"}},
		}
		if len(o.namespaces) > 0 {
			// Cluster-scoped resources, and reading what discovery and caching need.
			rules = []rbacv1.PolicyRule{
				{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}},
				{NonResourceURLs: []string{"*"}, Verbs: []string{"get"}},
			}
		}
		if err := applyClusterRole(ctx, kube, &rbacv1.ClusterRole{ObjectMeta: meta(role, ""), Rules: rules}); err != nil {
			return "", nil, err
		}
		if err := applyClusterRoleBinding(ctx, kube, &rbacv1.ClusterRoleBinding{
			ObjectMeta: meta(binding, ""), Subjects: subjects,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		}); err != nil {
			return "", nil, err
		}
	}
	for _, target := range o.namespaces {
		if err := applyRole(ctx, kube, &rbacv1.Role{
			ObjectMeta: meta(role, target),
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}},
		}); err != nil {
			return "", nil, err
		}
		if err := applyRoleBinding(ctx, kube, &rbacv1.RoleBinding{
			ObjectMeta: meta(binding, target), Subjects: subjects,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
		}); err != nil {
			return "", nil, err
		}
	}
	return o.serviceAccountToken(ctx, kube, account)
}

// serviceAccountToken makes sure a long-lived token Secret of account exists and waits (bounded) until the
// token controller has filled it.
func (o *clusterAddOptions) serviceAccountToken(ctx context.Context, kube kubernetes.Interface, account *corev1.ServiceAccount) (string, []byte, error) {
	secrets := kube.CoreV1().Secrets(account.Namespace)
	name := account.Name + "-token"
	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: account.Namespace,
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "moor"},
			Annotations: map[string]string{corev1.ServiceAccountNameKey: account.Name},
		},
		Type: corev1.SecretTypeServiceAccountToken,
	}
	cur, err := secrets.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = secrets.Create(ctx, want, metav1.CreateOptions{})
	case err != nil:
	case cur.Type != corev1.SecretTypeServiceAccountToken || cur.Annotations[corev1.ServiceAccountNameKey] != account.Name:
		err = fmt.Errorf("secret %s/%s exists and is not a token of service account %s", account.Namespace, name, account.Name)
	case cur.Annotations[corev1.ServiceAccountUIDKey] != "" && cur.Annotations[corev1.ServiceAccountUIDKey] != string(account.UID):
		// A token of an earlier account of the same name: the token controller will delete it.
		if err = secrets.Delete(ctx, name, metav1.DeleteOptions{}); err == nil || apierrors.IsNotFound(err) {
			err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, o.tokenTimeout, true, func(ctx context.Context) (bool, error) {
				_, err := secrets.Get(ctx, name, metav1.GetOptions{})
				return apierrors.IsNotFound(err), nil
			})
			if err == nil {
				_, err = secrets.Create(ctx, want, metav1.CreateOptions{})
			}
		}
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return "", nil, fmt.Errorf("token secret %s/%s: %w", account.Namespace, name, err)
	}
	var token string
	var ca []byte
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, o.tokenTimeout, true, func(ctx context.Context) (bool, error) {
		s, err := secrets.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil //nolint:nilerr // keep waiting; the last error is reported below
		}
		token, ca = string(s.Data[corev1.ServiceAccountTokenKey]), s.Data[corev1.ServiceAccountRootCAKey]
		return token != "", nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("the cluster did not issue a token into secret %s/%s within %s (is the token controller of kube-controller-manager running?)", account.Namespace, name, o.tokenTimeout)
	}
	return token, ca, nil
}

func applyClusterRole(ctx context.Context, kube kubernetes.Interface, want *rbacv1.ClusterRole) error {
	c := kube.RbacV1().ClusterRoles()
	_, err := c.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var cur *rbacv1.ClusterRole
		if cur, err = c.Get(ctx, want.Name, metav1.GetOptions{}); err == nil {
			cur.Rules = want.Rules
			_, err = c.Update(ctx, cur, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("cluster role %s: %w", want.Name, err)
	}
	return nil
}

func applyClusterRoleBinding(ctx context.Context, kube kubernetes.Interface, want *rbacv1.ClusterRoleBinding) error {
	c := kube.RbacV1().ClusterRoleBindings()
	_, err := c.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var cur *rbacv1.ClusterRoleBinding
		if cur, err = c.Get(ctx, want.Name, metav1.GetOptions{}); err == nil {
			if cur.RoleRef != want.RoleRef { // immutable: replace the binding
				if err = c.Delete(ctx, want.Name, metav1.DeleteOptions{}); err == nil {
					_, err = c.Create(ctx, want, metav1.CreateOptions{})
				}
			} else {
				cur.Subjects = want.Subjects
				_, err = c.Update(ctx, cur, metav1.UpdateOptions{})
			}
		}
	}
	if err != nil {
		return fmt.Errorf("cluster role binding %s: %w", want.Name, err)
	}
	return nil
}

func applyRole(ctx context.Context, kube kubernetes.Interface, want *rbacv1.Role) error {
	c := kube.RbacV1().Roles(want.Namespace)
	_, err := c.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var cur *rbacv1.Role
		if cur, err = c.Get(ctx, want.Name, metav1.GetOptions{}); err == nil {
			cur.Rules = want.Rules
			_, err = c.Update(ctx, cur, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("role %s/%s: %w", want.Namespace, want.Name, err)
	}
	return nil
}

func applyRoleBinding(ctx context.Context, kube kubernetes.Interface, want *rbacv1.RoleBinding) error {
	c := kube.RbacV1().RoleBindings(want.Namespace)
	_, err := c.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var cur *rbacv1.RoleBinding
		if cur, err = c.Get(ctx, want.Name, metav1.GetOptions{}); err == nil {
			if cur.RoleRef != want.RoleRef {
				if err = c.Delete(ctx, want.Name, metav1.DeleteOptions{}); err == nil {
					_, err = c.Create(ctx, want, metav1.CreateOptions{})
				}
			} else {
				cur.Subjects = want.Subjects
				_, err = c.Update(ctx, cur, metav1.UpdateOptions{})
			}
		}
	}
	if err != nil {
		return fmt.Errorf("role binding %s/%s: %w", want.Namespace, want.Name, err)
	}
	return nil
}

// keyValues reads KEY=VALUE flags.
func keyValues(flag string, items []string) (map[string]string, error) {
	if len(items) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(items))
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usageErrorf("--%s %q: want KEY=VALUE", flag, it)
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

// clusterID names a cluster by server URL, or by name when arg is not a URL.
func clusterID(arg string) *apiv1.ClusterID {
	if strings.Contains(arg, "://") {
		return &apiv1.ClusterID{Type: "server", Value: arg}
	}
	return &apiv1.ClusterID{Type: "name", Value: arg}
}

func newClusterListCommand(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List clusters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "", "wide", "server", "name", "json", "yaml"); err != nil {
				return err
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := apiv1.NewClusterServiceClient(conn).List(cmd.Context(), &apiv1.ClusterServiceListRequest{})
			if err != nil {
				return err
			}
			return printClusters(cmd.OutOrStdout(), output, true, resp.GetList().GetItems())
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json, yaml, server, name or wide")
	return cmd
}

func newClusterGetCommand(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "get SERVER|NAME",
		Short: "Show a cluster (never its credentials)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "wide", "server", "name", "json", "yaml"); err != nil {
				return err
			}
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := apiv1.NewClusterServiceClient(conn).Get(cmd.Context(), &apiv1.ClusterServiceGetRequest{Id: clusterID(args[0])})
			if err != nil {
				return err
			}
			return printClusters(cmd.OutOrStdout(), output, false, []*apiv1.Cluster{resp.GetCluster()})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "yaml", "output format: json, yaml, server, name or wide")
	return cmd
}

// clusterWithoutSecrets is c with its credentials cleared (the server already does; this is the CLI's own
// guarantee).
func clusterWithoutSecrets(c *apiv1.Cluster) *apiv1.Cluster {
	out := &apiv1.Cluster{
		Server: c.GetServer(), Name: c.GetName(), ConnectionState: c.GetConnectionState(), ServerVersion: c.GetServerVersion(),
		Namespaces: c.GetNamespaces(), RefreshRequestedAt: c.GetRefreshRequestedAt(), Info: c.GetInfo(), Shard: c.Shard,
		ClusterResources: c.GetClusterResources(), Project: c.GetProject(), Labels: c.GetLabels(), Annotations: c.GetAnnotations(),
	}
	if cfg := c.GetConfig(); cfg != nil {
		out.Config = &apiv1.ClusterConfig{Username: cfg.GetUsername(), DisableCompression: cfg.GetDisableCompression(), ProxyUrl: cfg.GetProxyUrl()}
		if t := cfg.GetTlsClientConfig(); t != nil {
			out.Config.TlsClientConfig = &apiv1.TLSClientConfig{Insecure: t.GetInsecure(), ServerName: t.GetServerName(), CaData: t.GetCaData(), CertData: t.GetCertData()}
		}
	}
	return out
}

func printClusters(w io.Writer, format string, list bool, items []*apiv1.Cluster) error {
	safe := make([]*apiv1.Cluster, 0, len(items))
	for _, c := range items {
		safe = append(safe, clusterWithoutSecrets(c))
	}
	switch format {
	case "json", "yaml":
		return printMessages(w, format, list, safe...)
	case "server", "name":
		for _, c := range safe {
			if format == "server" {
				fmt.Fprintln(w, c.GetServer())
			} else {
				fmt.Fprintln(w, c.GetName())
			}
		}
		return nil
	}
	rows := make([][]string, 0, len(safe))
	for _, c := range safe {
		cs := c.GetInfo().GetConnectionState()
		if cs.GetStatus() == "" {
			cs = c.GetConnectionState()
		}
		version := c.GetInfo().GetServerVersion()
		if version == "" {
			version = c.GetServerVersion()
		}
		st, msg := connectionColumns(cs)
		row := []string{c.GetServer(), c.GetName(), version, st, msg, c.GetProject()}
		if format == "wide" {
			row = append(row, orNone(strings.Join(c.GetNamespaces(), ",")))
		}
		rows = append(rows, row)
	}
	headers := []string{"SERVER", "NAME", "VERSION", "STATUS", "MESSAGE", "PROJECT"}
	if format == "wide" {
		headers = append(headers, "NAMESPACES")
	}
	return printTable(w, headers, rows)
}

func newClusterRemoveCommand(g *globalOptions) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:     "rm SERVER|NAME...",
		Aliases: []string{"remove", "delete"},
		Short:   "Unregister clusters (the service account on the cluster stays)",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := g.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			c := apiv1.NewClusterServiceClient(conn)
			for _, arg := range args {
				if !yes && !askConfirmation(cmd, fmt.Sprintf("Remove cluster %q? Applications deploying to it turn Unknown.", arg)) {
					return usageErrorf("cancelled (pass -y to skip the question)")
				}
				if _, err := c.Delete(cmd.Context(), &apiv1.ClusterServiceDeleteRequest{Id: clusterID(arg)}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "cluster %q removed\n", arg)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
