// Package manifests is the repo-server's engine: it resolves a revision, reads the commit's tree, applies
// .argocd-source overrides, renders (pkg/render) and caches the result (pkg/cache).
//
// A render is cached under its full key (repository, commit, path, source spec, kube and API versions, app
// name and namespace, ref sources' commits). Beyond that, each app keeps a small index entry: the commit it was
// last rendered at and the git hashes of every path the render read (or of the paths named by the
// argocd.argoproj.io/manifest-generate-paths annotation). At a new commit, if those hashes are unchanged the
// earlier result is reused without rendering, so one commit to a monorepo re-renders only the apps it touched.
//
// Known limits: resource tracking labels and annotations are the controller's job, so they are not part of
// the key; Config Management Plugins are not supported.
package manifests
