package app_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moorcd/moor/pkg/refresh"
	"github.com/moorcd/moor/test/kubetest"
)

type contextT = context.Context

func contextWithTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}

func insecureTLSTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	tr.ForceAttemptHTTP2 = true
	return tr
}

// refreshRequested returns the apps named by the refresh requests (pkg/refresh) waiting in ns: no
// controller runs in these tests, so the requests stay.
func refreshRequested(tb testing.TB, ns string) map[string]bool {
	tb.Helper()
	kc := kubetest.Start(tb)
	list, err := kc.Kube.CoreV1().ConfigMaps(ns).List(tb.Context(), metav1.ListOptions{LabelSelector: refresh.Label + "=true"})
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]bool{}
	for i := range list.Items {
		apps, _, err := refresh.Parse(&list.Items[i])
		if err != nil {
			tb.Fatal(err)
		}
		for _, a := range apps {
			out[a] = true
		}
	}
	return out
}

// clearRefreshRequests deletes the waiting refresh requests of ns.
func clearRefreshRequests(tb testing.TB, ns string) {
	tb.Helper()
	kc := kubetest.Start(tb)
	err := kc.Kube.CoreV1().ConfigMaps(ns).DeleteCollection(tb.Context(), metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: refresh.Label + "=true"})
	if err != nil {
		tb.Fatal(err)
	}
}
