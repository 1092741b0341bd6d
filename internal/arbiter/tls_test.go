package arbiter

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testPKI is a CA and two certificates it signed, in PEM files: the
// server's for 127.0.0.1 and a client's.
type testPKI struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	write := func(name, kind string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now()
	caKey := key()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "arbiter test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, name string, usage []x509.ExtKeyUsage, ips []net.IP) (cert, keyFile string) {
		k := key()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usage, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "EC PRIVATE KEY", kder)
	}
	p := &testPKI{ca: write("ca.pem", "CERTIFICATE", caDER)}
	p.serverCert, p.serverKey = leaf(2, "server",
		[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, []net.IP{net.IPv4(127, 0, 0, 1)})
	p.clientCert, p.clientKey = leaf(3, "client", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil)
	return p
}

func TestTLSConfigReadsTheCAAndTheClientCertificate(t *testing.T) {
	pki := newTestPKI(t)
	tc, err := tlsConfig(EtcdConfig{CAFile: pki.ca, CertFile: pki.clientCert, KeyFile: pki.clientKey})
	if err != nil {
		t.Fatal(err)
	}
	if tc.RootCAs == nil || len(tc.Certificates) != 1 {
		t.Errorf("TLS config has roots %v and %d certificates, want the CA and one", tc.RootCAs != nil, len(tc.Certificates))
	}
	if tc, err := tlsConfig(EtcdConfig{}); tc != nil || err != nil {
		t.Errorf("no files: %v, %v; want no TLS", tc, err)
	}
}

func TestTLSConfigRefusesWhatCannotWork(t *testing.T) {
	pki := newTestPKI(t)
	for name, cfg := range map[string]EtcdConfig{
		"a certificate without its key": {CertFile: pki.clientCert},
		"a key without its certificate": {KeyFile: pki.clientKey},
		"a CA file that is a key":       {CAFile: pki.clientKey},
		"a CA file that is missing":     {CAFile: filepath.Join(t.TempDir(), "none.pem")},
		"a key that is not the cert's":  {CertFile: pki.clientCert, KeyFile: pki.serverKey},
	} {
		if _, err := DialEtcd(EtcdConfig{Endpoints: []string{"https://127.0.0.1:1"}, CAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile}); err == nil {
			t.Errorf("%s: DialEtcd accepted it", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
