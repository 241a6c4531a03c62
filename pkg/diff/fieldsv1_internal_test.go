package diff

import (
	"bytes"
	"encoding/json"
	"testing"

	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// setFromFieldsV1 must read FieldsV1 exactly as structured-merge-diff's own decoder does.
func TestSetFromFieldsV1MatchesFromJSON(t *testing.T) {
	raw := `{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{` +
		`"k:{\"name\":\"app\"}":{".":{},"f:env":{"k:{\"name\":\"A\"}":{".":{},"f:name":{},"f:value":{}}},"f:image":{},` +
		`"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}},` +
		`"f:finalizers":{".":{},"v:\"a\"":{}}}`
	want := &fieldpath.Set{}
	if err := want.FromJSON(bytes.NewReader([]byte(raw))); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	got, ok := setFromFieldsV1(m)
	if !ok || !got.Equals(want) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
