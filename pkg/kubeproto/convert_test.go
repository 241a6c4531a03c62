package kubeproto_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/kubeproto"
)

// object is shaped like a CRD Go type: TypeMeta inline, ObjectMeta, and spec/status structs.
type object struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              objectSpec   `json:"spec"`
	Status            objectStatus `json:"status,omitempty"`
}

type objectSpec struct {
	Project              string   `json:"project"`
	RevisionHistoryLimit *int64   `json:"revisionHistoryLimit,omitempty"`
	SyncOptions          []string `json:"syncOptions,omitempty"`
	Prune                bool     `json:"prune"`
}

type objectStatus struct {
	ReconciledAt *metav1.Time `json:"reconciledAt,omitempty"`
	History      []struct {
		ID       int64  `json:"id"`
		Revision string `json:"revision"`
	} `json:"history,omitempty"`
}

type objectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []object `json:"items"`
}

func TestEnvelopeRoundTrip(t *testing.T) {
	t.Parallel()
	created := metav1.NewTime(time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC))
	full := &object{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Application"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "shop", GenerateName: "shop-", Namespace: "argocd", SelfLink: "/apis/x", UID: types.UID("u-1"),
			ResourceVersion: "9", Generation: 1<<53 + 1, CreationTimestamp: created, DeletionTimestamp: &created,
			DeletionGracePeriodSeconds: ptr.To[int64](0),
			Labels:                     map[string]string{"a": "b"},
			Annotations:                map[string]string{"empty": ""},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "argoproj.io/v1alpha1", Kind: "ApplicationSet", Name: "shop", UID: "u-0",
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(false),
			}},
			Finalizers: []string{"resources-finalizer.argocd.argoproj.io"},
			ManagedFields: []metav1.ManagedFieldsEntry{{
				Manager: "moor", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "argoproj.io/v1alpha1",
				Time: &created, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{}}`)},
			}},
		},
		Spec: objectSpec{Project: "default", RevisionHistoryLimit: ptr.To[int64](10), SyncOptions: []string{"Prune=false"}},
		Status: objectStatus{ReconciledAt: &created, History: []struct {
			ID       int64  `json:"id"`
			Revision string `json:"revision"`
		}{{ID: 1, Revision: "abc"}}},
	}
	tests := []struct {
		name string
		obj  any
		msg  func() proto.Message
		back func() any // new Go object to decode into
	}{
		{
			name: "every ObjectMeta field",
			obj:  full,
			msg:  func() proto.Message { return &apiv1.Application{} },
			back: func() any { return &object{} },
		},
		{
			name: "zero object (creationTimestamp null)",
			obj:  &object{},
			msg:  func() proto.Message { return &apiv1.Application{} },
			back: func() any { return &object{} },
		},
		{
			name: "list with remainingItemCount 0",
			obj: &objectList{
				ListMeta: metav1.ListMeta{ResourceVersion: "10", Continue: "next", RemainingItemCount: ptr.To[int64](0)},
				Items:    []object{*full},
			},
			msg:  func() proto.Message { return &apiv1.ApplicationList{} },
			back: func() any { return &objectList{} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg := tt.msg()
			if err := kubeproto.ToEnvelope(tt.obj, msg); err != nil {
				t.Fatal(err)
			}
			back := tt.back()
			if err := kubeproto.FromEnvelope(msg, back); err != nil {
				t.Fatal(err)
			}
			requireSameJSON(t, mustJSON(t, back), mustJSON(t, tt.obj))
		})
	}
}

func TestStruct(t *testing.T) {
	t.Parallel()
	type spec struct {
		Limit   int64             `json:"limit"`
		Enabled *bool             `json:"enabled"`
		Name    string            `json:"name"`
		Labels  map[string]string `json:"labels,omitempty"`
	}
	tests := []struct {
		name    string
		in      any
		wantNil bool
	}{
		{name: "struct with zero values", in: spec{Enabled: ptr.To(false)}},
		{name: "struct with values", in: spec{Limit: 5, Name: "x", Labels: map[string]string{"a": ""}}},
		{name: "nil pointer", in: (*spec)(nil), wantNil: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := kubeproto.ToStruct(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if (s == nil) != tt.wantNil {
				t.Fatalf("struct = %v, want nil %v", s, tt.wantNil)
			}
			var back spec
			if err := kubeproto.FromStruct(s, &back); err != nil {
				t.Fatal(err)
			}
			if tt.wantNil {
				requireSameJSON(t, mustJSON(t, back), mustJSON(t, spec{}))
				return
			}
			requireSameJSON(t, mustJSON(t, back), mustJSON(t, tt.in))
		})
	}
}

func TestToEnvelopeRejectsUnknownFields(t *testing.T) {
	t.Parallel()
	err := kubeproto.ToEnvelope(map[string]any{"metadata": map[string]any{"name": "a"}, "extra": 1}, &apiv1.Application{})
	if err == nil {
		t.Fatal("want an error for a field the envelope does not have")
	}
}
