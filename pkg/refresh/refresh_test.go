package refresh

import (
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestRequestsRoundTrip(t *testing.T) {
	reqs := Requests("moor", []string{"b", "a", "b", "c"}, Hard, "push")
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	apps, level, err := Parse(reqs[0])
	if err != nil || level != Hard || !slices.Equal(apps, []string{"a", "b", "c"}) {
		t.Fatalf("Parse = %v %v %v", apps, level, err)
	}
	if reqs[0].Namespace != "moor" || reqs[0].GenerateName == "" || reqs[0].Annotations[AnnotationReason] != "push" {
		t.Fatalf("request meta: %+v", reqs[0].ObjectMeta)
	}
}

func TestRequestsSplitLargeSets(t *testing.T) {
	var names []string
	for i := range 40000 {
		names = append(names, fmt.Sprintf("application-with-a-rather-long-name-%06d", i))
	}
	reqs := Requests("moor", names, Normal, "push")
	if len(reqs) < 2 {
		t.Fatalf("got %d requests, want the names split", len(reqs))
	}
	var all []string
	for _, r := range reqs {
		if n := len(r.Data[KeyApplications]); n > maxBytes {
			t.Fatalf("request holds %d bytes, limit %d", n, maxBytes)
		}
		apps, _, err := Parse(r)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, apps...)
	}
	if !slices.Equal(all, names) {
		t.Fatalf("names lost or reordered: %d of %d", len(all), len(names))
	}
}

func TestParseRejects(t *testing.T) {
	if _, _, err := Parse(&corev1.ConfigMap{}); err == nil {
		t.Fatal("an unlabelled ConfigMap parsed")
	}
	cm := Requests("moor", []string{"a"}, Normal, "")[0]
	cm.Data[KeyLevel] = "sideways"
	if _, _, err := Parse(cm); err == nil {
		t.Fatal("a bad level parsed")
	}
	if Requests("moor", nil, Normal, "") != nil {
		t.Fatal("no apps should give no request")
	}
}
