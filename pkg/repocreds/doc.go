// Package repocreds resolves the credentials for a repository URL from Argo CD-format Kubernetes Secrets:
// Secrets labelled argocd.argoproj.io/secret-type=repository name one repository (field url), and Secrets
// labelled repo-creds are credential templates for every URL that starts with their url. Resolve is a pure
// function over a list of Secrets; Resolver reads them through informer listers.
//
// Matching: a repository Secret whose url equals the repository URL (after pkg/git normalization) wins;
// a project-scoped Secret for the caller's project wins over a global one. Credential groups the
// repository Secret leaves empty (username and password, bearer token, SSH key, TLS client certificate,
// GitHub App, proxy) are inherited from the template with the longest matching url prefix. Without a
// repository Secret, the best template alone supplies the credentials.
//
// SSH known hosts and custom CAs come, as in Argo CD, from the argocd-ssh-known-hosts-cm and
// argocd-tls-certs-cm ConfigMaps (Resolver.ConfigMaps), not from the Secrets.
//
// Known limits: GitHub App fields are parsed and returned but not exchanged for a token here; Google
// Cloud source credentials and Azure workload identity are not supported.
package repocreds
