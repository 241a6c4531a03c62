// Package render turns an application source at one commit into Kubernetes manifests, in-process.
//
// One Renderer interface; the directory (YAML, JSON, Jsonnet), Kustomize and Helm renderers sit beside it
// (pkg/render/helm for Helm). Every renderer reads only through Request.FS, the commit's tree rooted at the
// repository root, so renders of different commits run in parallel with no shared checkout, and a path can
// never leave the repository: fs.FS refuses "..", absolute paths, and symlinks that escape (see pkg/git).
//
// Errors are typed (Error, with file and line where known; ErrPathEscape; ErrNotFound) so the repo-server
// maps them to gRPC codes in one place.
package render
