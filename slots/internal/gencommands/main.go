// Command gencommands writes slots/commands_gen.go from captures of a real
// redis-server's COMMAND and COMMAND DOCS replies (RESP2, as the server sent them).
//
// Generate (run by `go generate ./slots/`):
//
//	go run ./internal/gencommands -command testdata/command-7.0.15.resp \
//	    -docs testdata/command-docs-7.0.15.resp -o commands_gen.go
//
// Capture anew from a running server (loopback only), then generate:
//
//	go run ./internal/gencommands -capture 127.0.0.1:6379 \
//	    -command testdata/command-X.resp -docs testdata/command-docs-X.resp
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/xsync/xsync/slots/internal/gencmd"
)

func main() {
	command := flag.String("command", "", "file holding the raw COMMAND reply")
	docs := flag.String("docs", "", "file holding the raw COMMAND DOCS reply")
	out := flag.String("o", "commands_gen.go", "output file")
	capture := flag.String("capture", "", "host:port of a redis-server to capture COMMAND and COMMAND DOCS from (writes -command and -docs)")
	flag.Parse()
	if err := run(*command, *docs, *out, *capture); err != nil {
		fmt.Fprintln(os.Stderr, "gencommands:", err)
		os.Exit(1)
	}
}

func run(command, docs, out, capture string) error {
	if command == "" || docs == "" {
		return errors.New("-command and -docs are required")
	}
	if capture != "" {
		if err := captureTo(capture, command, "*1\r\n$7\r\nCOMMAND\r\n"); err != nil {
			return err
		}
		return captureTo(capture, docs, "*2\r\n$7\r\nCOMMAND\r\n$4\r\nDOCS\r\n")
	}
	cb, err := os.ReadFile(command)
	if err != nil {
		return err
	}
	db, err := os.ReadFile(docs)
	if err != nil {
		return err
	}
	src, err := gencmd.Generate(cb, db, command+" and "+docs)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}

// captureTo sends req to addr and saves the raw reply in file.
func captureTo(addr, file, req string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte(req)); err != nil {
		return err
	}
	var reply []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := conn.Read(buf)
		reply = append(reply, buf[:n]...)
		if done, perr := gencmd.Complete(reply); perr != nil {
			return fmt.Errorf("reply from %s: %w", addr, perr)
		} else if done {
			break
		}
		if err != nil {
			return fmt.Errorf("reading from %s: %w", addr, err)
		}
	}
	return os.WriteFile(file, reply, 0o644)
}
