package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TLSSecretName is the Secret that keeps the server's certificate, Argo CD's name.
const TLSSecretName = "argocd-server-tls"

// selfSignedValidity is how long a generated certificate is valid.
const selfSignedValidity = 365 * 24 * time.Hour

// serverCertificate returns the certificate of certFile/keyFile when given, else the one in the Secret
// argocd-server-tls, generating and storing a self-signed one on first start (the first replica's wins).
func serverCertificate(ctx context.Context, kube kubernetes.Interface, namespace, certFile, keyFile string) (tls.Certificate, error) {
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("load TLS certificate: %w", err)
		}
		return cert, nil
	}
	secrets := kube.CoreV1().Secrets(namespace)
	for range 3 {
		s, err := secrets.Get(ctx, TLSSecretName, metav1.GetOptions{})
		if err == nil {
			cert, err := tls.X509KeyPair(s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey])
			if err != nil {
				return tls.Certificate{}, fmt.Errorf("secret %s: %w", TLSSecretName, err)
			}
			return cert, nil
		}
		if !apierrors.IsNotFound(err) {
			return tls.Certificate{}, fmt.Errorf("read secret %s: %w", TLSSecretName, err)
		}
		certPEM, keyPEM, err := selfSigned(namespace)
		if err != nil {
			return tls.Certificate{}, err
		}
		_, err = secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: TLSSecretName, Namespace: namespace,
				Labels: map[string]string{"app.kubernetes.io/part-of": "moor"}},
			Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("create secret %s: %w", TLSSecretName, err)
		}
		return tls.X509KeyPair(certPEM, keyPEM)
	}
	return tls.Certificate{}, fmt.Errorf("secret %s: gave up after racing writers", TLSSecretName)
}

// selfSigned returns a PEM certificate and key for the server's in-cluster and loopback names.
func selfSigned(namespace string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "moor-server", Organization: []string{"Moor"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(selfSignedValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost", "moor-server", "moor-server." + namespace, "moor-server." + namespace + ".svc",
			"argocd-server", "argocd-server." + namespace, "argocd-server." + namespace + ".svc"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
