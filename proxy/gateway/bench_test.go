package gateway

import (
	"testing"

	"github.com/xsync/xsync/resp"
)

// BenchmarkGatewayParseRoute measures what the event loop does per command before
// handing it to a pipe: parse in place, find the command and its slot, decide
// read or write. It allocates nothing (the request and the copy of the command's
// bytes, made after this, are the gateway's only allocations per command).
func BenchmarkGatewayParseRoute(b *testing.B) {
	var in []byte
	for i := range 16 {
		in = resp.AppendCommandString(in, "SET", "key:"+itoa(i), "value")
		in = resp.AppendCommandString(in, "GET", "key:"+itoa(i))
	}
	args := make([][]byte, 0, 8)
	var nameBuf [24]byte
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		for pos := 0; pos < len(in); {
			a, n, err := resp.ParseCommand(in[pos:], args[:0], backendLimits)
			if err != nil {
				b.Fatal(err)
			}
			pos += n
			if gatewayHandles(upperBytes(nameBuf[:0], a[0])) {
				b.Fatal("local")
			}
			spec, slot, errReply := classify(a)
			if errReply != nil || slot < 0 || isWrite(spec) == (string(a[0]) == "GET") {
				b.Fatal("bad route")
			}
		}
	}
}

func TestGatewayParseRouteAllocs(t *testing.T) {
	in := resp.AppendCommandString(nil, "LPUSH", "list", "a", "b")
	args := make([][]byte, 0, 8)
	var nameBuf [24]byte
	n := testing.AllocsPerRun(100, func() {
		a, _, _ := resp.ParseCommand(in, args[:0], backendLimits)
		_ = gatewayHandles(upperBytes(nameBuf[:0], a[0]))
		_, _, _ = classify(a)
	})
	if n != 0 {
		t.Errorf("parse and route: %v allocations per command, want 0", n)
	}
}
