// Package v1alpha1 owns the Go types of the argoproj.io/v1alpha1 custom resources that Moor reads and writes:
// Application, AppProject and ApplicationSet. The JSON shape is Argo CD's, so manifests written for Argo CD
// apply unchanged and survive a decode/encode round-trip through these types without losing a field.
//
// Encoding rules, chosen so that a typed round-trip reproduces what the user wrote:
//   - every optional object, boolean or number that users write (spec fields) is a pointer with `omitempty`,
//     so an explicit `false`, `0` or `{}` stays apart from an unset field (`automated: {}` turns auto-sync on);
//   - optional slices and maps use `omitzero`, so an explicit empty list `[]` or map `{}` survives;
//   - free-form objects (helm.valuesObject, list generator elements, nested matrix/merge generators, plugin
//     generator input) are raw JSON;
//   - what Argo CD itself writes (status, operation, project JWT token records) mirrors Argo CD's encoding,
//     so that data Argo CD wrote round-trips too.
//
// Known limits: an optional string written as `""` is dropped on encode (it means the same as unset), an
// empty `status: {}` or `status.health: {}` is dropped, and AppProject.spec.sourceIntegrity is kept as a
// free-form object. Validation: the CRDs (deploy/crds, generated from the markers here) reject an
// Application without source/sources/sourceHydrator or destination, a negative revisionHistoryLimit, a
// retry limit below -1, and a sync window kind other than allow or deny; a manifest valid for Argo CD passes.
//
// +kubebuilder:object:generate=true
// +groupName=argoproj.io
package v1alpha1
