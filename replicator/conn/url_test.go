package conn

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		seeds  []string
		user   string
		pass   string
		tls    bool
		sni    string
		insec  bool
		dial   time.Duration
		errHas string
	}{
		{name: "plain", url: "redis://127.0.0.1:7000", seeds: []string{"127.0.0.1:7000"}},
		{name: "default port", url: "redis://localhost", seeds: []string{"localhost:6379"}},
		{name: "password only", url: "redis://:s3cret@h:1", seeds: []string{"h:1"}, pass: "s3cret"},
		{name: "acl user", url: "redis://repl:p%40ss@h:1/0", seeds: []string{"h:1"}, user: "repl", pass: "p@ss"},
		{name: "several seeds", url: "redis://u:p@a:1,b:2, c:3", seeds: []string{"a:1", "b:2", "c:3"}, user: "u", pass: "p"},
		{name: "ipv6", url: "redis://[::1]:7000,[::1]", seeds: []string{"[::1]:7000", "[::1]:6379"}},
		{name: "tls", url: "rediss://h:1?tls-server-name=redis.local&tls-insecure=true&dial-timeout=2s", seeds: []string{"h:1"}, tls: true, sni: "redis.local", insec: true, dial: 2 * time.Second},
		{name: "bad scheme", url: "http://h:1", errHas: "redis:// or rediss://"},
		{name: "tls option without rediss", url: "redis://h:1?tls-insecure=true", errHas: "rediss://"},
		{name: "unknown option", url: "redis://h:1?foo=1", errHas: `unknown option "foo"`},
		{name: "bad port", url: "redis://h:99999", errHas: "bad port"},
		{name: "no host", url: "redis://u:p@", errHas: "no host"},
		{name: "db", url: "redis://h:1/3", errHas: "only database 0"},
		{name: "cert without key", url: "rediss://h:1?tls-cert=/x", errHas: "go together"},
		{name: "missing ca", url: "rediss://h:1?tls-ca=/nonexistent/ca.crt", errHas: "tls-ca"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seeds, o, err := ParseURL(tt.url)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) || !errors.Is(err, ErrBadURL) {
					t.Fatalf("err = %v, want ErrBadURL containing %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(seeds, tt.seeds) || o.Username != tt.user || o.Password != tt.pass {
				t.Fatalf("got %v user=%q pass=%q", seeds, o.Username, o.Password)
			}
			if (o.TLS != nil) != tt.tls {
				t.Fatalf("TLS = %v, want %v", o.TLS != nil, tt.tls)
			}
			if tt.tls && (o.TLS.ServerName != tt.sni || o.TLS.InsecureSkipVerify != tt.insec) {
				t.Fatalf("tls config %+v", o.TLS)
			}
			if o.DialTimeout != tt.dial {
				t.Fatalf("dial timeout %v", o.DialTimeout)
			}
		})
	}
}

func TestRedactHidesPassword(t *testing.T) {
	_, _, err := ParseURL("redis://u:topsecret@h:1?bad=1")
	if err == nil {
		t.Fatal("want error")
	}
	_, _, err = ParseURL("redis://u:topsecret@h:1/5")
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("password leaked: %v", err)
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"redis://127.0.0.1:7000", "rediss://u:p@a:1,b:2?tls-insecure=true", "redis://:pw@[::1]",
		"redis://u:p%zz@h", "redis://h:1/0?dial-timeout=1s", "rediss://h?tls-cert=x", "redis://@", "redis://,,,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		seeds, o, err := ParseURL(u)
		if err != nil {
			if !errors.Is(err, ErrBadURL) {
				t.Fatalf("error without ErrBadURL: %v", err)
			}
			return
		}
		if len(seeds) == 0 {
			t.Fatal("no seed and no error")
		}
		if o.Password != "" && len(o.Password) > 3 && strings.Contains(redact(u), o.Password) && !strings.Contains(o.Username, o.Password) && !strings.Contains(strings.Join(seeds, ","), o.Password) {
			t.Fatalf("redact(%q) shows the password", u)
		}
	})
}
