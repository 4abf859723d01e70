package conn

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"
)

// tlsProbeWait is how long a TLS server may take to send the first byte of its
// answer to the ClientHello. A server that speaks TLS answers at once (RFC 8446
// section 4.1: the ServerHello follows the ClientHello); a plain Redis port reads
// the ClientHello as the start of an inline command and waits for the newline
// that never comes, so without this bound the handshake would wait for the
// whole dial timeout.
const tlsProbeWait = time.Second

// errNotTLS is what the probe returns when the first byte of the server is not a
// TLS record, or does not come in tlsProbeWait.
var errNotTLS = errors.New("xsync/conn: the server does not speak TLS")

// tlsProbe is the connection under a TLS client during its handshake: the first
// read must bring a TLS handshake record (content type 22, RFC 8446 section
// 5.1) or an alert (21) within tlsProbeWait. Later reads pass through.
type tlsProbe struct {
	net.Conn
	done bool
}

func (p *tlsProbe) Read(b []byte) (int, error) {
	if p.done || len(b) == 0 {
		return p.Conn.Read(b)
	}
	_ = p.Conn.SetReadDeadline(time.Now().Add(tlsProbeWait))
	n, err := p.Conn.Read(b[:1])
	_ = p.Conn.SetReadDeadline(time.Time{})
	if n == 0 {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return 0, errNotTLS
		}
		return 0, err
	}
	p.done = true
	if b[0] != 22 && b[0] != 21 {
		return 0, errNotTLS
	}
	return n, nil
}

// TLSDialer returns a dial function (go-redis Options.Dialer) that connects
// over TLS with tc like Dial does: a port that does not speak TLS fails within
// tlsProbeWait with an error saying so.
func TLSDialer(tc *tls.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := tc.Clone()
		if c.ServerName == "" {
			if host, _, err := net.SplitHostPort(addr); err == nil {
				c.ServerName = host
			}
		}
		tconn := tls.Client(&tlsProbe{Conn: nc}, c)
		if err := tconn.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, tlsError(addr, err)
		}
		return tconn, nil
	}
}
