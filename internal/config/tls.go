package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
)

// Config builds the crypto/tls configuration for connecting to ClickHouse.
// It returns nil, nil when TLS is disabled. The CA and client certificate
// files are read on every call, so a caller that rebuilds its connection
// picks up rotated certificates. Without CAFile the system roots are used.
// TLS 1.2 is the minimum version.
func (t TLS) Config() (*tls.Config, error) {
	return t.config(readLimited)
}

func (t TLS) config(read func(string) ([]byte, error)) (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify,
	}
	if t.CAFile != "" {
		pool, err := loadCAPool(read, t.CAFile)
		if err != nil {
			return nil, err
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := loadKeyPair(read, t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

func loadCAPool(read func(string) ([]byte, error), file string) (*x509.CertPool, error) {
	pem, err := read(file)
	if err != nil {
		return nil, fmt.Errorf("reading CA file %s: %w", file, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s: no PEM certificates found", file)
	}
	return pool, nil
}

func loadKeyPair(read func(string) ([]byte, error), certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := read(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("reading client certificate %s: %w", certFile, err)
	}
	keyPEM, err := read(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("reading client key %s: %w", keyFile, err)
	}
	// tls.X509KeyPair's errors describe the PEM structure, never the key
	// material, so they are safe to pass on.
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("loading client certificate %s and key %s: %w", certFile, keyFile, err)
	}
	return cert, nil
}
