package settings

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func cm(data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName}, Data: data}
}

func TestParse(t *testing.T) {
	t.Parallel()
	s, err := Parse(cm(map[string]string{
		"application.resourceTrackingMethod":                         "label",
		"application.instanceLabelKey":                               "argocd.argoproj.io/instance",
		"timeout.reconciliation":                                     "300s",
		"resource.exclusions":                                        "- apiGroups: ['*']\n  kinds: [PodMetrics]\n  clusters: ['*']\n",
		"resource.customizations.health.cert-manager.io_Certificate": "hs = {}\nhs.status = 'Healthy'\nreturn hs\n",
		"resource.customizations.ignoreDifferences.apps_Deployment":  "jsonPointers:\n- /spec/replicas\n",
		"resource.customizations":                                    "networking.k8s.io/Ingress:\n  health.lua: |\n    return {status='Healthy'}\nConfigMap:\n  ignoreDifferences: |\n    jsonPointers: [/data]\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if s.TrackingMethod != TrackingLabel || s.InstanceLabelKey != "argocd.argoproj.io/instance" || s.Reconciliation != 300*time.Second || s.Jitter != 60*time.Second {
		t.Errorf("settings = %+v", s)
	}
	if len(s.Exclusions) != 1 || s.Exclusions[0].Kinds[0] != "PodMetrics" {
		t.Errorf("exclusions = %+v", s.Exclusions)
	}
	for _, k := range []string{"cert-manager.io_Certificate", "networking.k8s.io_Ingress"} {
		if s.HealthLua[k] == "" {
			t.Errorf("no health Lua for %s", k)
		}
	}
	if r := s.IgnoreDifferences["apps_Deployment"]; len(r.JSONPointers) != 1 {
		t.Errorf("ignoreDifferences = %+v", s.IgnoreDifferences)
	}
	if r := s.IgnoreDifferences["_ConfigMap"]; len(r.JSONPointers) != 1 {
		t.Errorf("legacy ignoreDifferences = %+v", s.IgnoreDifferences)
	}
	rules := s.SystemIgnoreDifferences()
	if len(rules) != 2 || rules[0].Group != "" || rules[0].Kind != "ConfigMap" || rules[1].Group != "apps" || rules[1].Kind != "Deployment" {
		t.Errorf("system rules = %+v", rules)
	}
}

func TestParseErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	for key, value := range map[string]string{
		"application.resourceTrackingMethod": "uuid",
		"timeout.reconciliation":             "soon",
		"resource.exclusions":                "- apiGroups: 3\n  bogus: x\n",
	} {
		_, err := Parse(cm(map[string]string{key: value}))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: err = %v, want it to name the key", key, value, err)
		}
	}
}
