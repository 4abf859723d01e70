package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
)

func TestParseAddrMap(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
		bad  bool
	}{
		{in: "10.0.0.5:7000=127.0.0.1:17000", want: map[string]string{"10.0.0.5:7000": "127.0.0.1:17000"}},
		{in: "a:1=b:2, c:3=d:4", want: map[string]string{"a:1": "b:2", "c:3": "d:4"}},
		{in: "a:1", bad: true},
		{in: "a=b:2", bad: true},
		{in: "a:1=b", bad: true},
	} {
		m, err := parseAddrMap(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("%q: error %v, want error %v", tc.in, err, tc.bad)
			continue
		}
		for k, v := range tc.want {
			if m[k] != v || len(m) != len(tc.want) {
				t.Errorf("%q: %v, want %v", tc.in, m, tc.want)
			}
		}
	}
}

// TestMappedDialer: an announced address in the map is dialed at its mapping.
func TestMappedDialer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	dial := mappedDialer(map[string]string{"192.0.2.1:7000": ln.Addr().String()})
	c, err := dial(context.Background(), "tcp", "192.0.2.1:7000")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.RemoteAddr().String() != ln.Addr().String() {
		t.Errorf("dialed %s, want %s", c.RemoteAddr(), ln.Addr())
	}
}

// TestSyncTimeoutAndMapFlags: a bad --source-timeout, --reply-timeout or address map
// is a usage error (exit 2) naming the flag, before anything is dialed.
func TestSyncTimeoutAndMapFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--source-timeout", "0s"}, "--source-timeout"},
		{[]string{"--reply-timeout", "-1s"}, "--reply-timeout"},
		{[]string{"--source-addr-map", "a:1"}, "--source-addr-map"},
		{[]string{"--target-addr-map", "a:1=b"}, "--target-addr-map"},
	} {
		var out, errb bytes.Buffer
		env := &cliEnv{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		args := append([]string{"sync", "--source", "redis://127.0.0.1:1", "--target", "redis://127.0.0.1:2", "--admin", "off"}, tc.args...)
		if got := run(context.Background(), env, args); got != exitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d naming %s", tc.args, got, errb.String(), exitUsage, tc.want)
		}
	}
}
