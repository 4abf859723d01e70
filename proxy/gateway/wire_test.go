package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/resp"
)

// TestGatewayRandomChunks sends a pipeline of commands (multibulk and inline, keys
// on every master, local and refused ones) cut in random-sized chunks, and checks
// the exact reply bytes; then garbage, which gets an error and a close.
func TestGatewayRandomChunks(t *testing.T) {
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	g := startGateway(t, Config{Source: Backend{Seeds: src.Addrs()}})
	var in, want []byte
	n := 0
	for i := range 300 {
		k, v := fmt.Sprintf("chunk:%d", i), strings.Repeat("v", i%50)
		in = resp.AppendCommandString(in, "SET", k, v)
		want = append(want, "+OK\r\n"...)
		in = resp.AppendCommandString(in, "GET", k)
		want = resp.AppendBulkString(want, v)
		in = resp.AppendCommandString(in, "INCR", "chunk:n")
		n++
		want = resp.AppendInt(want, int64(n))
		switch i % 4 {
		case 0:
			in = append(in, "PING\r\n"...)
			want = append(want, "+PONG\r\n"...)
		case 1:
			in = resp.AppendCommandString(in, "MGET", k, "other")
			want = resp.AppendError(want, errCrossSlot)
		case 2:
			in = append(in, fmt.Sprintf("get %s\r\n", k)...)
			want = resp.AppendBulkString(want, v)
		case 3:
			in = resp.AppendCommandString(in, "EXISTS", k)
			want = resp.AppendInt(want, 1)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 3 {
		c, err := net.Dial("tcp", g.Addr())
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rest := in; len(rest) > 0; {
				m := min(len(rest), 1+rng.IntN(64<<round))
				if _, err := c.Write(rest[:m]); err != nil {
					t.Error(err)
					return
				}
				rest = rest[m:]
				if rng.IntN(8) == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		got := make([]byte, len(want))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("round %d: %v after %q", round, err, got[:min(200, len(got))])
		}
		wg.Wait()
		if !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && got[i] == want[i] {
				i++
			}
			t.Fatalf("round %d: replies differ at byte %d: got %q, want %q", round, i, got[i:min(i+80, len(got))], want[i:min(i+80, len(want))])
		}
		// Round 2: the counter goes on from where it is.
		c.Close()
		if err := src.Client().Del(context.Background(), "chunk:n").Err(); err != nil {
			t.Fatal(err)
		}
	}

	// QUIT after pipelined commands: every earlier reply, +OK, then the close.
	c, err := net.Dial("tcp", g.Addr())
	if err != nil {
		t.Fatal(err)
	}
	var q []byte
	var qwant []byte
	for i := range 50 {
		q = resp.AppendCommandString(q, "INCR", fmt.Sprintf("quit:%d", i))
		qwant = resp.AppendInt(qwant, 1)
	}
	q = append(resp.AppendCommandString(q, "QUIT"), "PING\r\n"...)
	qwant = append(qwant, "+OK\r\n"...)
	_, _ = c.Write(q)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := io.ReadAll(c); err != nil || string(b) != string(qwant) {
		t.Errorf("pipeline then QUIT: got %q, %v; want %q", b, err, qwant)
	}
	c.Close()

	for _, garbage := range []string{"*1\r\n$abc\r\n", "*2\r\n$3\r\nGET\r\n$-5\r\n", "*99999999999\r\n", "*1\r\n$3\r\nfooXX"} {
		c, err := net.Dial("tcp", g.Addr())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("PING\r\n" + garbage))
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil || !strings.HasPrefix(string(b), "+PONG\r\n-ERR Protocol error") {
			t.Errorf("%q: got %q, %v; want PONG, a protocol error and a close", garbage, b, err)
		}
		c.Close()
	}
}

// TestGatewayReshard moves 1000 slots (keys migrate) while clients write through
// the gateway: -MOVED and -ASK are handled inside the gateway, no client sees an
// error, and every acknowledged INCR and LPUSH is there exactly once.
func TestGatewayReshard(t *testing.T) {
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	g := startGateway(t, Config{Source: Backend{Seeds: src.Addrs()}})
	ctx := context.Background()
	sc := src.Client()
	ms := src.Masters()
	from := src.MasterFor("r:0")
	to := ms[0]
	if to == from {
		to = ms[1]
	}
	const clients, keys = 10, 200
	acked := make([][keys]int64, clients)
	var errs []error
	var mu sync.Mutex
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range clients {
		c := gwClient(t, g.Addr(), 2+i%2, "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; wctx.Err() == nil; n++ {
				k := (n*7 + i) % keys
				pipe := c.Pipeline()
				incr := pipe.Incr(wctx, fmt.Sprintf("r:%d", k))
				pipe.RPush(wctx, fmt.Sprintf("l:%d:%d", i, k), n)
				if _, err := pipe.Exec(wctx); err != nil {
					if wctx.Err() == nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
					return
				}
				_ = incr
				acked[i][k]++
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	if err := src.Reshard(ctx, from, to, 1000); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()
	for _, err := range errs {
		t.Errorf("client error during the reshard: %v", err)
	}
	var total int64
	for k := range keys {
		var want int64
		for i := range clients {
			want += acked[i][k]
			if n, _ := sc.LLen(ctx, fmt.Sprintf("l:%d:%d", i, k)).Result(); n != acked[i][k] {
				t.Fatalf("l:%d:%d has %d elements, %d acknowledged", i, k, n, acked[i][k])
			}
		}
		got, _ := sc.Get(ctx, fmt.Sprintf("r:%d", k)).Int64()
		if got != want {
			t.Errorf("r:%d = %d, %d acknowledged INCRs", k, got, want)
		}
		total += want
	}
	st := g.Stats()
	t.Logf("%d acknowledged pipelines during a 1000-slot reshard; gateway retries: %d MOVED, %d ASK, %d TRYAGAIN", total, st.Moved, st.Ask, st.TryAgain)
	if st.Moved == 0 {
		t.Error("no MOVED seen: the reshard did not exercise the redirections")
	}
}

// TestGatewayFanOut: commands about the whole dataset run on every master and
// answer as one Redis would.
func TestGatewayFanOut(t *testing.T) {
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	g := startGateway(t, Config{Source: Backend{Seeds: src.Addrs()}})
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		c := gwClient(t, g.Addr(), proto, "")
		for i := range 30 {
			if err := c.Set(ctx, fmt.Sprintf("fan:%d", i), i, 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := c.DBSize(ctx).Result(); err != nil || n != 30 {
			t.Fatalf("DBSIZE = %d, %v; want 30 (keys on every master)", n, err)
		}
		if keys, err := c.Keys(ctx, "fan:*").Result(); err != nil || len(keys) != 30 {
			t.Fatalf("KEYS = %d keys, %v", len(keys), err)
		}
		sha, err := c.ScriptLoad(ctx, "return redis.call('GET', KEYS[1])").Result()
		if err != nil {
			t.Fatal(err)
		}
		for i := range 30 { // keys on every master: the script is known on each
			if v, err := c.EvalSha(ctx, sha, []string{fmt.Sprintf("fan:%d", i)}).Text(); err != nil || v != fmt.Sprint(i) {
				t.Fatalf("EVALSHA fan:%d = %q, %v", i, v, err)
			}
		}
		if err := c.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if n, _ := src.Client().DBSize(ctx).Result(); n != 0 {
			t.Fatalf("after FLUSHALL a master still has %d keys", n)
		}
		if n, _ := c.DBSize(ctx).Result(); n != 0 {
			t.Fatalf("DBSIZE after FLUSHALL = %d", n)
		}
	}
}
