package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPKI writes a throwaway CA and a client certificate signed by it into
// dir and returns the CA certificate and the file paths.
type testPKI struct {
	ca                        *x509.Certificate
	caFile, certFile, keyFile string
}

func newTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mlmon test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}

	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clientTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "mlmon"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, clientTmpl, ca, &clientKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}

	p := testPKI{
		ca:       ca,
		caFile:   filepath.Join(dir, "ca.pem"),
		certFile: filepath.Join(dir, "client.pem"),
		keyFile:  filepath.Join(dir, "client.key"),
	}
	writePEM(t, p.caFile, "CERTIFICATE", caDER)
	writePEM(t, p.certFile, "CERTIFICATE", clientDER)
	writePEM(t, p.keyFile, "EC PRIVATE KEY", keyDER)
	return p
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")

	for _, tc := range []struct {
		name    string
		tls     TLS
		check   func(t *testing.T, c *tls.Config)
		wantErr string // substring; "" for success
	}{
		{
			name: "disabled",
			tls:  TLS{Enabled: false, CAFile: missing},
			check: func(t *testing.T, c *tls.Config) {
				if c != nil {
					t.Errorf("got %+v, want nil", c)
				}
			},
		},
		{
			name: "system roots",
			tls:  TLS{Enabled: true, ServerName: "ch.internal", InsecureSkipVerify: true},
			check: func(t *testing.T, c *tls.Config) {
				if c.RootCAs != nil || len(c.Certificates) != 0 {
					t.Errorf("unexpected roots or certificates: %+v", c)
				}
				if c.ServerName != "ch.internal" || !c.InsecureSkipVerify || c.MinVersion != tls.VersionTLS12 {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "CA file",
			tls:  TLS{Enabled: true, CAFile: pki.caFile},
			check: func(t *testing.T, c *tls.Config) {
				if c.RootCAs == nil {
					t.Fatal("no RootCAs")
				}
				if _, err := pki.ca.Verify(x509.VerifyOptions{Roots: c.RootCAs}); err != nil {
					t.Errorf("CA not trusted by the pool: %v", err)
				}
			},
		},
		{
			name: "client certificate",
			tls:  TLS{Enabled: true, CAFile: pki.caFile, CertFile: pki.certFile, KeyFile: pki.keyFile},
			check: func(t *testing.T, c *tls.Config) {
				if len(c.Certificates) != 1 {
					t.Fatalf("got %d certificates, want 1", len(c.Certificates))
				}
				leaf, err := x509.ParseCertificate(c.Certificates[0].Certificate[0])
				if err != nil {
					t.Fatal(err)
				}
				if leaf.Subject.CommonName != "mlmon" {
					t.Errorf("client certificate CN = %q", leaf.Subject.CommonName)
				}
			},
		},
		{name: "missing CA file", tls: TLS{Enabled: true, CAFile: missing}, wantErr: missing},
		{name: "CA file without certificates", tls: TLS{Enabled: true, CAFile: notPEM}, wantErr: notPEM},
		{name: "missing key file", tls: TLS{Enabled: true, CertFile: pki.certFile, KeyFile: missing}, wantErr: missing},
		{name: "key that is not a key", tls: TLS{Enabled: true, CertFile: pki.certFile, KeyFile: pki.caFile}, wantErr: pki.certFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.tls.Config()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one mentioning %q", err, tc.wantErr)
				}
				if c != nil {
					t.Errorf("got a config along with the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestParseTLS(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir)
	doc := func(tlsSection string) string {
		return `clickhouse:
  addr: ["localhost:9440"]
  tls:
` + tlsSection + `models:
  - name: m
    task: regression
` + preds
	}

	t.Run("relative files resolve against the base dir", func(t *testing.T) {
		cfg, err := Parse([]byte(doc(`    enabled: true
    ca_file: ca.pem
    cert_file: client.pem
    key_file: client.key
`)), WithBaseDir(dir), WithLookupEnv(noEnv))
		if err != nil {
			t.Fatal(err)
		}
		got := cfg.ClickHouse.TLS
		want := TLS{Enabled: true, CAFile: pki.caFile, CertFile: pki.certFile, KeyFile: pki.keyFile}
		if got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
		if _, err := got.Config(); err != nil {
			t.Error(err)
		}
	})

	missing := filepath.Join(dir, "missing-ca.pem")
	for _, tc := range []struct {
		name    string
		section string
		want    []expect
	}{
		{
			name: "missing CA file",
			section: fmt.Sprintf(`    enabled: true
    ca_file: %q
`, missing),
			want: []expect{{"ca_file:", "clickhouse.tls.ca_file", "reading CA file " + missing}},
		},
		{
			name: "certificate and key do not match",
			section: fmt.Sprintf(`    enabled: true
    cert_file: %q
    key_file: %q
`, pki.certFile, pki.caFile),
			want: []expect{{"cert_file:", "clickhouse.tls.cert_file", "loading client certificate " + pki.certFile}},
		},
		{
			name: "key without certificate",
			section: fmt.Sprintf(`    enabled: true
    key_file: %q
`, pki.keyFile),
			want: []expect{{"key_file:", "clickhouse.tls.cert_file", "required when key_file is set"}},
		},
		{
			name: "files given while disabled",
			section: fmt.Sprintf(`    enabled: false
    ca_file: %q
`, pki.caFile),
			want: []expect{{"ca_file:", "clickhouse.tls.ca_file", "set, but clickhouse.tls.enabled is not true"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := doc(tc.section)
			_, err := Parse([]byte(d), WithLookupEnv(noEnv))
			if err == nil {
				t.Fatal("no error")
			}
			checkProblems(t, d, err, tc.want)
		})
	}
}
