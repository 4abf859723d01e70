package redistest

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
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TLSAuth is the value of redis-server's tls-auth-clients.
type TLSAuth string

// Values of TLSAuth.
const (
	TLSAuthYes      TLSAuth = "yes"      // clients must present a certificate signed by the CA (default)
	TLSAuthOptional TLSAuth = "optional" // a certificate is checked when presented
	TLSAuthNo       TLSAuth = "no"       // no client certificate is asked for
)

// TLSFiles are PEM files of a test certificate authority, a server certificate valid
// for 127.0.0.1 and localhost (also usable as a client certificate, for replication and
// the cluster bus) and a client certificate, all signed by the CA.
type TLSFiles struct {
	Dir        string // directory holding the files
	CACert     string // ca.crt
	ServerCert string // server.crt (SAN 127.0.0.1, ::1, localhost; server and client auth)
	ServerKey  string // server.key
	ClientCert string // client.crt (CN xsync-test-client; client auth)
	ClientKey  string // client.key

	pool   *x509.CertPool
	client tls.Certificate
	server tls.Certificate
}

// NewTLSFiles generates a CA, a server and a client certificate (ECDSA P-256, valid for
// a day) into dir.
func NewTLSFiles(tb testing.TB, dir string) *TLSFiles {
	tb.Helper()
	f, err := newTLSFiles(dir)
	if err != nil {
		tb.Fatalf("xsync/redistest: %v", err)
	}
	return f
}

// ClientConfig returns a new client configuration that trusts the CA, presents the
// client certificate and expects the server name 127.0.0.1.
func (f *TLSFiles) ClientConfig() *tls.Config {
	return &tls.Config{
		RootCAs:      f.pool,
		Certificates: []tls.Certificate{f.client},
		ServerName:   "127.0.0.1",
		MinVersion:   tls.VersionTLS12,
	}
}

// ServerConfig returns a new server configuration with the server certificate that
// asks for client certificates signed by the CA (for test servers of xsync's own).
func (f *TLSFiles) ServerConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{f.server},
		ClientCAs:    f.pool,
		ClientAuth:   tls.VerifyClientCertIfGiven,
		MinVersion:   tls.VersionTLS12,
	}
}

func newTLSFiles(dir string) (*TLSFiles, error) {
	f := &TLSFiles{
		Dir:        dir,
		CACert:     filepath.Join(dir, "ca.crt"),
		ServerCert: filepath.Join(dir, "server.crt"),
		ServerKey:  filepath.Join(dir, "server.key"),
		ClientCert: filepath.Join(dir, "client.crt"),
		ClientKey:  filepath.Join(dir, "client.key"),
	}
	now := time.Now()
	ca, caKey, err := newCA(f.CACert, now)
	if err != nil {
		return nil, err
	}
	f.pool = x509.NewCertPool()
	f.pool.AddCert(ca)

	srv := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if f.server, err = issue(srv, ca, caKey, f.ServerCert, f.ServerKey); err != nil {
		return nil, err
	}
	cli := &x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: "xsync-test-client"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if f.client, err = issue(cli, ca, caKey, f.ClientCert, f.ClientKey); err != nil {
		return nil, err
	}
	return f, nil
}

// newCA makes a self-signed CA and writes its certificate to path.
func newCA(path string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "xsync test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	if err := writePEM(path, "CERTIFICATE", der); err != nil {
		return nil, nil, err
	}
	return ca, key, nil
}

// issue signs tmpl with the CA, writes the certificate and key files and returns the pair.
func issue(tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey, certPath, keyPath string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create certificate %s: %w", tmpl.Subject.CommonName, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("marshal key: %w", err)
	}
	if err := writePEM(certPath, "CERTIFICATE", der); err != nil {
		return tls.Certificate{}, err
	}
	if err := writePEM(keyPath, "PRIVATE KEY", keyDER); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

func writePEM(path, typ string, der []byte) error {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
