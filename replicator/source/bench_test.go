package source

import (
	"context"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/xsync/xsync/resp"
)

// countHandler counts commands and signals when the offset reaches target.
type countHandler struct {
	nopHandler
	n      atomic.Int64
	target int64
	done   chan struct{}
}

func (h *countHandler) Command(ctx context.Context, db int, args [][]byte, offset int64) error {
	h.n.Add(1)
	if offset == h.target {
		close(h.done)
	}
	return nil
}

// BenchmarkLinkStream measures the stream path end to end over loopback TCP: a fake
// master sends SET commands after an empty snapshot.
func BenchmarkLinkStream(b *testing.B) {
	var one []byte
	one = resp.AppendCommandString(one, "SET", "key:0000000001", strings.Repeat("v", 64))
	const batch = 1024
	chunk := make([]byte, 0, len(one)*batch)
	for range batch {
		chunk = append(chunk, one...)
	}
	total := int64(b.N) * int64(len(one))
	id := strings.Repeat("d", 40)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := resp.NewReader(c, resp.Limits{})
		for {
			args, _, err := r.ReadCommand()
			if err != nil {
				return
			}
			if strings.EqualFold(string(args[0]), "PSYNC") {
				break
			}
			c.Write([]byte("+OK\r\n"))
		}
		c.Write([]byte("+FULLRESYNC " + id + " 0\r\n$0\r\n"))
		go io.Copy(io.Discard, r)
		for left := b.N; left > 0; left -= batch {
			n := min(left, batch)
			if _, err := c.Write(chunk[:n*len(one)]); err != nil {
				return
			}
		}
		<-finished // keep the connection until the benchmark ends
	}()
	h := &countHandler{target: total, done: make(chan struct{})}
	l, err := NewLink(LinkConfig{Addr: ln.Addr().String()}, h)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(one)))
	b.ReportAllocs()
	b.ResetTimer()
	errc := make(chan error, 1)
	go func() { errc <- l.Run(context.Background()) }()
	<-h.done
	b.StopTimer()
	l.Close()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	if h.n.Load() != int64(b.N) {
		b.Fatalf("%d commands, want %d", h.n.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cmds/s")
}
