package redistest

import (
	"errors"
	"fmt"
	"net"
)

// busOffset is the distance between a cluster node's client port and its bus port.
const busOffset = 10000

// freePort returns a loopback port that was free a moment ago; with bus, port+10000 was
// free too. Callers must still handle losing the race for it.
func freePort(bus bool) (int, error) {
	var lastErr error
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("xsync/redistest: listen on a free port: %w", err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		if !bus {
			l.Close()
			return p, nil
		}
		if p+busOffset > 65535 {
			l.Close()
			lastErr = errors.New("bus port over 65535")
			continue
		}
		lb, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+busOffset))
		l.Close()
		if err != nil {
			lastErr = err
			continue
		}
		lb.Close()
		return p, nil
	}
	return 0, fmt.Errorf("xsync/redistest: no free port pair (port, port+%d): %w", busOffset, lastErr)
}
