// Package diff decides whether a desired object equals its live counterpart, without false OutOfSync, and
// renders the difference with Secret values masked.
//
// Strategy: server-side dry-run apply. For each desired object that exists live, the Differ sends a
// server-side apply patch with dryRun=All, force and Moor's field manager ("moor-controller", the manager
// sync applies with). The API server answers with the object live would become: defaulted, through the
// admission chain (mutating webhooks and MutatingAdmissionPolicies), with quantities and int-or-string forms
// normalised, merged by the schema's merge keys with the fields other managers own, and with fields Moor
// stopped setting removed. Comparing that prediction with live is therefore exact for every kind, CRDs
// included, with no copy of the schema and no list of known types to maintain. Why not structured-merge-diff
// in process: it needs the OpenAPI schema of every kind, still misses defaulting, admission and CRD
// structural defaults, and is what Argo CD is discontinuing. The price is one round trip per changed
// resource (about 6 to 16 ms on the local cluster); predictions are cached per resource, keyed by the hash
// of desired and live's resourceVersion, so a steady state costs no calls at all (about 0.25 ms per
// comparison).
//
// Pipeline per resource:
//   - live missing: a creation, Modified, no dry run. Desired missing: extraneous, Modified.
//   - the dry run (or the cache). If its resourceVersion shows that the live copy given is older than the
//     server's, live is read again so another controller's write a moment ago is not reported as a change
//     (Result.LiveRefreshed).
//   - normalise both sides: drop managedFields, resourceVersion, generation, uid, creationTimestamp and other
//     server bookkeeping; drop status unless desired sets one and the kind has no status subresource (needs
//     Options.Discovery; without it status is never compared); fold a Secret's stringData into data; apply
//     ignoreDifferences; prune nulls, empty maps and empty lists, which the API server treats as absent.
//   - put associative lists in key order. Which lists are keyed, and by what, is read from the objects'
//     managedFields (k:{...} and v:... elements), i.e. from the schema the server used. initContainers keep
//     their order, since it is execution order.
//   - compare; on a difference, list the changed paths and a unified YAML diff ("-" live, "+" desired).
//
// ignoreDifferences follow Argo CD: rules match by group and kind (globs, so "*" stands for
// resource.customizations.ignoreDifferences.all), name and namespace (empty matches any); system-wide rules
// (Options) and the application's (ResourceOptions) both apply, to both sides. jsonPointers are RFC 6901
// ("~1" for "/"); jqPathExpressions are compiled once with gojq, run with a 1 s timeout each, and delete the
// paths they select (an expression that errors on an object selects what it found before the error);
// managedFieldsManagers remove the fields those managers own according to live's managedFields (the
// prediction's when live was stored without them): owned list items go whole, owned maps lose only the
// owned keys.
//
// Secrets: every value in data and stringData, and the last-applied-configuration annotation, is replaced
// before anything leaves the package by "++++++++" and 12 hex digits of an HMAC under a random per-Differ key
// over (namespace, name, key, value). Equal values get equal masks, so a changed value shows; the mask cannot
// be brute-forced without the key, which never leaves the process, and says nothing across Secrets.
// MaskSecret masks objects for other outputs the same way.
//
// Offline mode (Options.DynamicClient nil, for a CLI without cluster access): desired is overlaid on live,
// so fields the server defaulted or others set survive; quantities under resources compare by value and
// lists of named items match by name. It cannot see removed fields, webhooks or schema defaults.
//
// Known limits:
//   - A field last written by client-side apply (kubectl) stays owned by that manager, so removing it from Git
//     is not seen until Moor owns it (Argo CD's client-side-apply migration is not done here).
//   - Webhook mutations are always included in the prediction (Argo CD's IncludeMutationWebhook=true); a
//     webhook that mutates differently on each call needs an ignore rule. CompareOptions is parsed only.
//   - Treating empty and absent alike also equates `emptyDir: {}` with no emptyDir on both sides alike;
//     associative-list sorting makes a pure reorder (env by name) Synced even where order matters to the
//     program ($(VAR) expansion).
//   - Dry-run errors are returned as *ResourceError; the API server's message is passed on as is.
//   - The cache holds one unmasked prediction per resource in memory, bounded by Options.CacheSize.
package diff
