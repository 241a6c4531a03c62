package diff

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// lastAppliedAnnotation holds a full copy of the object kubectl applied: for a Secret, its values.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// maskPrefix starts every mask, so a masked value is recognisable in a diff.
const maskPrefix = "++++++++"

// masker replaces Secret values with masks that are stable (equal values get equal masks, so a diff shows
// whether a value changed) and reveal nothing: the suffix is an HMAC under a random key that never leaves the
// process, bound to the Secret and key, so it can neither be brute-forced nor compared across Secrets.
type masker struct{ key []byte }

func newMasker() (*masker, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("mask key: %w", err)
	}
	return &masker{key: k}, nil
}

func (m *masker) mask(u *unstructured.Unstructured, field, key string, val []byte) string {
	h := hmac.New(sha256.New, m.key)
	for _, part := range []string{u.GetNamespace(), u.GetName(), field, key} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(val)
	return maskPrefix + hex.EncodeToString(h.Sum(nil)[:6])
}

// maskPair masks Secret values in place in both objects (either may be nil).
func (m *masker) maskPair(objs ...*unstructured.Unstructured) {
	for _, u := range objs {
		if u != nil && isSecret(u) {
			m.maskInPlace(u)
		}
	}
}

func (m *masker) maskInPlace(u *unstructured.Unstructured) {
	if data, ok := u.Object["data"].(map[string]any); ok {
		for k, v := range data {
			s, _ := v.(string)
			raw, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				raw = []byte(s)
			}
			data[k] = m.mask(u, "data", k, raw)
		}
	}
	if sd, ok := u.Object["stringData"].(map[string]any); ok {
		for k, v := range sd {
			s, _ := v.(string)
			// Keyed as data, so a stringData value masks like the same value in data.
			sd[k] = m.mask(u, "data", k, []byte(s))
		}
	}
	if ann := u.GetAnnotations(); ann != nil {
		if v, ok := ann[lastAppliedAnnotation]; ok {
			ann[lastAppliedAnnotation] = m.mask(u, "annotation", lastAppliedAnnotation, []byte(v))
			u.SetAnnotations(ann)
		}
	}
}

// MaskSecret returns u with Secret values masked the way Diff masks them, for any output that shows an
// object (API responses, events). Other kinds are returned unchanged; u is never modified.
func (d *Differ) MaskSecret(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil || !isSecret(u) {
		return u
	}
	c := u.DeepCopy()
	d.masker.maskInPlace(c)
	return c
}
