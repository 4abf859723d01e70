package main

import (
	"flag"
	"log/slog"
	"strings"

	"github.com/xsync/xsync/replicator/conn"
)

// urlFlags are the flags that hold a redis:// URL.
var urlFlags = []string{"source", "target"}

// warnSecrets logs what the command line shows to every user of the machine
// (ps, /proc/PID/cmdline): passwords and tokens given as flags or inside URLs;
// and every URL with tls-insecure, whose server certificate is not verified.
func warnSecrets(log *slog.Logger, fs *flag.FlagSet, args []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			continue
		}
		if !hasVal && i+1 < len(args) {
			i++
			val = args[i]
		}
		switch {
		case val != "" && (strings.HasSuffix(name, "password") || strings.HasSuffix(name, "token")):
			log.Warn("a secret is given on the command line: every user of the machine sees it (ps); use --"+name+"-file or the environment", "flag", "--"+name)
		case isURLFlag(name):
			if _, o, err := conn.ParseURL(val); err == nil && o.Password != "" {
				log.Warn("the URL holds a password: every user of the machine sees it (ps); use --"+name+"-password-file or XSYNC_"+strings.ToUpper(name)+"_PASSWORD", "flag", "--"+name)
			}
		}
	}
	for _, name := range urlFlags {
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if _, o, err := conn.ParseURL(f.Value.String()); err == nil && o.TLS != nil && o.TLS.InsecureSkipVerify {
			log.Warn("tls-insecure: the server certificate is not verified; anyone on the network path can pose as the server and read the data and the password", "flag", "--"+name)
		}
	}
}

func isURLFlag(name string) bool {
	for _, n := range urlFlags {
		if n == name {
			return true
		}
	}
	return false
}
