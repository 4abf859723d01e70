package conn

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
)

func TestDialAuth(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{
		Password: "pw",
		Users:    []redistest.User{{Name: "repl", Password: "rpw"}},
	})
	open := redistest.Start(t, redistest.Options{})
	tests := []struct {
		name     string
		addr     string
		user     string
		pass     string
		role     string
		errIs    error
		errHas   string
		wantPing bool
	}{
		{name: "password", addr: srv.Addr(), pass: "pw", wantPing: true},
		{name: "acl user", addr: srv.Addr(), user: "repl", pass: "rpw", wantPing: true},
		{name: "no password needed", addr: open.Addr(), pass: "whatever", wantPing: true},
		{name: "wrong password", addr: srv.Addr(), pass: "nope", role: "source", errIs: ErrAuth,
			errHas: srv.Addr() + ": authentication failed (WRONGPASS): check the password/user in the source URL"},
		{name: "wrong acl password", addr: srv.Addr(), user: "repl", pass: "nope", errIs: ErrAuth, errHas: "WRONGPASS"},
		{name: "missing password", addr: srv.Addr(), errIs: ErrAuth, errHas: "NOAUTH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := Dial(ctx, Options{Addr: tt.addr, Username: tt.user, Password: tt.pass, Role: tt.role})
			if tt.errIs != nil {
				if !errors.Is(err, tt.errIs) || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.errIs, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			v, err := c.Do(ctx, "PING")
			if err != nil || string(v.Str) != "PONG" {
				t.Fatalf("PING = %v, %v", v, err)
			}
			if _, err := c.Do(ctx, "SET", "k", "v"); err != nil {
				t.Fatal(err)
			}
			v, err = c.Do(ctx, "GET", "k")
			if err != nil || string(v.Str) != "v" {
				t.Fatalf("GET = %v, %v", v, err)
			}
			_, err = c.Do(ctx, "NOSUCHCOMMAND")
			var re *ReplyError
			if !errors.As(err, &re) || re.Code() != "ERR" {
				t.Fatalf("want ReplyError ERR, got %v", err)
			}
			if err1, err2 := c.Close(), c.Close(); err1 != nil || err2 != nil {
				t.Fatal("Close not idempotent")
			}
		})
	}
}

func TestDialUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = Dial(context.Background(), Options{Addr: addr})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), addr+": connection refused: is the node running and reachable from here?") {
		t.Fatalf("err = %v", err)
	}
}

func TestDialSilentPeer(t *testing.T) {
	// A peer that accepts and never answers: Dial must give up after DialTimeout.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	_, err = Dial(context.Background(), Options{Addr: l.Addr().String(), DialTimeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrUnreachable) || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestDialTLS(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{TLS: true, Password: "pw"})
	f := srv.TLS()
	ok := "rediss://:pw@" + srv.Addr() + "?tls-ca=" + f.CACert + "&tls-cert=" + f.ClientCert + "&tls-key=" + f.ClientKey
	tests := []struct {
		name   string
		url    string
		errIs  error
		errHas string
	}{
		{name: "verified", url: ok},
		{name: "server name", url: ok + "&tls-server-name=localhost"},
		{name: "wrong server name", url: ok + "&tls-server-name=other.example", errIs: ErrTLS, errHas: "tls-server-name"},
		{name: "no client cert", url: "rediss://:pw@" + srv.Addr() + "?tls-ca=" + f.CACert, errIs: ErrTLS},
		{name: "unknown CA", url: "rediss://:pw@" + srv.Addr() + "?tls-cert=" + f.ClientCert + "&tls-key=" + f.ClientKey, errIs: ErrTLS, errHas: "tls-ca"},
		{name: "plain to TLS port", url: "redis://:pw@" + srv.Addr() + "?dial-timeout=1s", errIs: ErrUnreachable, errHas: "rediss://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seeds, o, err := ParseURL(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			o.Addr = seeds[0]
			c, err := Dial(context.Background(), o)
			if tt.errIs != nil {
				if !errors.Is(err, tt.errIs) || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.errIs, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if v, err := c.Do(context.Background(), "PING"); err != nil || string(v.Str) != "PONG" {
				t.Fatalf("PING = %v, %v", v, err)
			}
		})
	}
}

func TestDoContextCancel(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c, err := Dial(context.Background(), Options{Addr: srv.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Do(ctx, "BLPOP", "nokey", "0")
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
	if _, err := c.Do(context.Background(), "PING"); !errors.Is(err, ErrClosed) {
		t.Fatalf("a broken Conn must refuse: %v", err)
	}
}
