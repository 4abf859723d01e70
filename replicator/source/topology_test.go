package source

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// fakeNode answers commands from a table (key: the upper-cased command line); others
// get -ERR unknown command.
func fakeNode(t *testing.T, replies map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				r := resp.NewReader(c, resp.Limits{})
				for {
					args, _, err := r.ReadCommand()
					if err != nil {
						return
					}
					var parts []string
					for _, a := range args {
						parts = append(parts, strings.ToUpper(string(a)))
					}
					reply, ok := replies[strings.Join(parts, " ")]
					if !ok {
						reply = "-ERR unknown command '" + parts[0] + "'\r\n"
					}
					if _, err := c.Write([]byte(reply)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func bulk(s string) string { return string(resp.AppendBulkString(nil, s)) }

func TestReadTopologyFallbacks(t *testing.T) {
	id1, id2 := strings.Repeat("1", 40), strings.Repeat("2", 40)
	nodes := id1 + " 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-8191\n" +
		id2 + " 127.0.0.1:7002@17002 master - 0 0 2 connected 8192-16383\n"
	slotsReply := "*2\r\n" +
		"*3\r\n:0\r\n:8191\r\n*3\r\n" + bulk("127.0.0.1") + ":7001\r\n" + bulk(id1) +
		"*3\r\n:8192\r\n:16383\r\n*3\r\n" + bulk("127.0.0.1") + ":7002\r\n" + bulk(id2)
	tests := []struct {
		name       string
		replies    map[string]string
		standalone bool
		masters    []string
		errHas     string
	}{
		{name: "standalone", standalone: true, replies: map[string]string{
			"CLUSTER SHARDS": "-ERR This instance has cluster support disabled\r\n"}},
		{name: "standalone replica", standalone: true, masters: []string{"10.0.0.1:6379"}, replies: map[string]string{
			"CLUSTER SHARDS":   "-ERR This instance has cluster support disabled\r\n",
			"INFO REPLICATION": bulk("# Replication\r\nrole:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:6379\r\n")}},
		{name: "6.2: CLUSTER NODES", masters: []string{"127.0.0.1:7001", "127.0.0.1:7002"}, replies: map[string]string{
			"CLUSTER SHARDS": "-ERR unknown subcommand 'SHARDS'. Try CLUSTER HELP.\r\n",
			"CLUSTER NODES":  bulk(nodes)}},
		{name: "3.2/4.0 wording: CLUSTER NODES", masters: []string{"127.0.0.1:7001", "127.0.0.1:7002"}, replies: map[string]string{
			"CLUSTER SHARDS": "-ERR Wrong CLUSTER subcommand or number of arguments\r\n",
			"CLUSTER NODES":  bulk(nodes)}},
		{name: "NODES blocked: CLUSTER SLOTS", masters: []string{"127.0.0.1:7001", "127.0.0.1:7002"}, replies: map[string]string{
			"CLUSTER SHARDS": "-ERR unknown subcommand 'SHARDS'. Try CLUSTER HELP.\r\n",
			"CLUSTER NODES":  "-ERR unknown command 'CLUSTER NODES'\r\n",
			"CLUSTER SLOTS":  slotsReply}},
		{name: "nothing works", errHas: "CLUSTER NODES", replies: map[string]string{
			"CLUSTER SHARDS": "-ERR unknown subcommand 'SHARDS'\r\n"}},
		{name: "other error", errHas: "CLUSTERDOWN", replies: map[string]string{
			"CLUSTER SHARDS": "-CLUSTERDOWN The cluster is down\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.replies["PING"] = "+PONG\r\n"
			addr := fakeNode(t, tt.replies)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			topo, standalone, err := readTopology(ctx, conn.Options{}, []string{addr})
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if standalone != tt.standalone {
				t.Fatalf("standalone = %v", standalone)
			}
			if standalone {
				want := addr
				if len(tt.masters) == 1 {
					want = tt.masters[0]
				}
				if len(topo.Shards) != 1 || topo.Shards[0].Primary.Addr != want || topo.Shards[0].Slots() != slots.NumSlots {
					t.Fatalf("topology %+v", topo)
				}
				return
			}
			var got []string
			for _, s := range topo.Shards {
				got = append(got, s.Primary.Addr)
			}
			if strings.Join(got, ",") != strings.Join(tt.masters, ",") {
				t.Fatalf("masters %v, want %v", got, tt.masters)
			}
		})
	}
}

func TestReadTopologyTriesEverySeed(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	good := fakeNode(t, map[string]string{"PING": "+PONG\r\n", "CLUSTER SHARDS": "-ERR This instance has cluster support disabled\r\n"})
	topo, standalone, err := readTopology(context.Background(), conn.Options{}, []string{dead, good})
	if err != nil || !standalone || topo.Shards[0].Primary.Addr != good {
		t.Fatalf("%+v %v %v", topo, standalone, err)
	}
	_, _, err = readTopology(context.Background(), conn.Options{}, []string{dead})
	if !errors.Is(err, conn.ErrUnreachable) || !strings.Contains(err.Error(), "no seed") {
		t.Fatalf("err = %v", err)
	}
}
