// Package livestate is the controller's live-state cache for one destination cluster: it watches every
// listable API type, keeps what compare and health need, and indexes objects by owning Application and by
// owner reference so that an app's resources and resource tree cost O(that app's resources), never a scan
// of the cluster.
//
// Design:
//   - Discovery picks the server's preferred version of every kind that supports list and watch (subresources
//     skipped), minus the exclusions, and filtered by the inclusions when there are any (Argo CD's
//     resource.exclusions / resource.inclusions shape, with * and ? globs; DefaultExclusions when none are
//     given; core and events.k8s.io Events are never watched). Discovery runs again every
//     Options.RediscoveryInterval (one minute) and shortly after any CustomResourceDefinition event, so types
//     added or removed by CRDs are watched or dropped at runtime. A group whose discovery fails keeps its
//     watches; a type that becomes forbidden or gone stops holding back HasSynced.
//   - One dynamic informer per type with a transform that replaces each decoded object by a Resource before it
//     is stored. Tracked objects (the app's own) and owned objects (the descendants a tree shows with their
//     health) keep their body without metadata.managedFields and kubectl's last-applied-configuration
//     annotation. Every other object keeps only its identity (kind, namespace, name, uid, resourceVersion)
//     and owner references: about 430 bytes per object against about 3.8 KB for a tracked ConfigMap carrying
//     1 KiB of data (TestMemoryPerObject, 5,000 ConfigMaps on the local cluster). Such objects report
//     Partial(); a caller that needs one in full (to adopt it into an app) reads it from the API server.
//     Metadata-only watches (PartialObjectMetadata) would also save the transfer, but a type holds both
//     tracked and untracked objects, so they would need a second, full watch per type; one watch with a
//     transform is simpler and keeps one resourceVersion per type.
//   - Tracking follows Argo CD: the annotation argocd.argoproj.io/tracking-id (default, also for
//     annotation+label) is accepted only when its group, kind, namespace and name are the object's own, so
//     copies made by operators do not join an app; the label mode reads app.kubernetes.io/instance or
//     Options.InstanceLabelKey. With Options.InstallationID only objects of that installation are tracked.
//   - Indexes by UID, by app and by owner UID are maintained in the informers' event handlers. A descendant
//     maps to apps by walking owner references up to tracked ancestors. OnChange listeners hear every add,
//     update and delete of a resource that belongs to an app; Change.StatusOnly (and StatusOnly) lets a
//     caller reassess health without comparing again when only status and bookkeeping moved.
//
// Known limits:
//   - Owned objects keep their whole body even when no app owns their ancestors (the transform cannot know
//     the chain when it runs, because informers of different types are not ordered), so pods of unmanaged
//     workloads cost as much as tracked ones. Trimming them to the fields health reads would be the next step.
//   - managedFields are dropped unless Options.KeepManagedFields, so an ignoreDifferences rule by
//     managedFieldsManagers needs that option or a live read.
//   - Get answers in the version the cache watches, whatever version the caller names.
//   - A change to an object whose owner is not cached yet reaches no app; the owner's own event follows.
//   - Every namespace is watched; there is no per-namespace scoping of a cluster yet.
//   - OnChange listeners run on informer goroutines and must not block.
package livestate
