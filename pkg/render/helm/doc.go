// Package helm renders Helm charts in-process with the Helm SDK, like `helm template --include-crds`, for
// Argo CD's `source.helm` options; it also owns fetching charts from Helm HTTP repositories and OCI
// registries (ChartSource).
//
// # Why Helm v4
//
// Helm v3 is in maintenance; v4 (helm.sh/helm/v4) is the current major and reads the same chart format
// (apiVersion v1 and v2 charts), so every chart an Argo CD user has renders unchanged. v4's experimental
// chart apiVersion v3 lives in Helm's internal packages and is not supported here.
//
// The renderer calls Helm's engine directly rather than action.Install in client-only dry-run mode: the
// same steps `helm template` takes (process dependencies and their conditions, tags and import-values;
// check the chart's kubeVersion; coalesce values and validate values.schema.json; render; drop NOTES.txt;
// sort into resources and hooks in Helm's install order) without a fake cluster client, release storage or
// package-level state, and with .Capabilities built from the request alone. Hook resources are kept in the
// output with their `helm.sh/hook*` annotations (the controller maps them to sync phases), after the
// resources, as `helm template` prints them; `skipTests` drops the `test` hooks; `skipCrds` drops crds/.
//
// # What a render may read
//
// A chart in Git is read from render.Request.FS at Request.Path, never from disk: the walk honours the
// chart's .helmignore, skips .git, follows symlinks only while they stay inside the tree, and charges every
// byte to one budget (Options.MaxChartBytes decompressed, Options.MaxChartFiles files,
// Limits.MaxFileBytes per file). Vendored subcharts in charts/ (directories or .tgz) are unpacked by this
// package, not by Helm's loader, so a zip bomb at any depth fails with render.ErrTooLarge. Dependencies
// that Chart.yaml declares but charts/ lacks are fetched: `file://` from the tree (jailed), `https://` and
// `oci://` through the ChartSource at the version Chart.lock pins; repository aliases (`@name`) are refused.
//
// valueFiles and fileParameters are paths relative to the application's directory, jailed to the
// repository (`..` above the root, absolute paths and escaping symlinks are render.ErrPathEscape);
// `$ref/path` reads from Request.RefSources; http(s) value files are refused unless
// Options.AllowRemoteValueFiles. Values layer as Argo CD documents: valueFiles < values (or valuesObject,
// which wins over values) < parameters (`--set`, then forceString ones as `--set-string`) < fileParameters
// (`--set-file`). A parameter sets exactly one key: commas in its value are escaped, except in Helm's
// `{a,b}` list syntax.
//
// # Chart repositories
//
// ChartSource fetches index.yaml with net/http (only the fields it needs are parsed; the index is cached
// for SourceOptions.IndexTTL per repository and credentials) and OCI charts with go-containerregistry,
// chosen over Helm's registry client because it takes a context, credentials and a transport per call,
// needs no credentials file or global state, and lets the layer be read through a size cap. Semver
// constraints are resolved over index entries or registry tags (Helm's "_" for "+" in tags). Archives are
// capped (SourceOptions.MaxArchiveBytes), verified against the index or manifest digest, and cached in
// memory (bounded in bytes) and optionally on disk, keyed by URL, chart, version and digest.
//
// Credentials come from Options.Credentials, by repository URL, because render.Request has no field for
// them yet. Errors wrap render.ErrNotFound (no such chart or version), render.ErrTooLarge, ErrUnauthorized
// (401/403) and ErrUnavailable (unreachable, 5xx); bad charts and template failures are *render.Error with
// the template file (a repository path for charts in Git) and line where Helm reports them.
//
// # Limits
//
// A render runs on its own goroutine so that Limits.Timeout holds: Helm's engine cannot be stopped
// mid-template, so a template that runs past the deadline finishes in the background and its result is
// dropped. Panics become errors. Template `lookup` returns nothing (no cluster), as in `helm template`.
// A Chart.lock is trusted for versions but its digest is not checked against Chart.yaml; chart provenance
// (.prov) is not verified.
package helm
