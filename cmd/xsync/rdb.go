package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/xsync/xsync/replicator/snapshot"
)

const rdbAbout = `Decodes an RDB file (any version from 1 to 12) and prints its keys, streaming: the
file is never held in memory. FILE "-" reads standard input.

  --format json   one JSON object per key, in the format of the fixtures' .json files:
                  {"db": 0, "key": "<base64>", "type": "...", "expire_ms": ..., "value": ...}
                  (keys already expired are left out, as Redis does at load)
  --format resp   the RESP commands that recreate the data (RESTORE where possible),
                  ready for 'redis-cli --pipe'

A corrupt or truncated file ends with an error naming the byte offset and the key
(exit 3).`

func runRDB(_ context.Context, env *cliEnv, args []string) int {
	fs := newFlagSet(env, "rdb", "xsync rdb FILE|- [--format json|resp] [--sort]", rdbAbout)
	format := fs.String("format", "json", "output format: json or resp")
	sorted := fs.Bool("sort", false, "json: sort by db, then key bytes, like the fixture files (buffers the output)")
	// Flags may follow the file name: move it to the end before parsing.
	var file string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-" || (len(a) > 0 && a[0] != '-'):
			if file != "" {
				return exitFor(env, fmt.Errorf("%w: more than one FILE given (see 'xsync rdb --help')", errUsage))
			}
			file = a
		default:
			rest = append(rest, a)
			if (a == "--format" || a == "-format") && i+1 < len(args) {
				i++
				rest = append(rest, args[i])
			}
		}
	}
	if err := parseFlags(env, fs, rest); err != nil {
		return exitFor(env, err)
	}
	if file == "" {
		return exitFor(env, fmt.Errorf("%w: FILE is required ('-' for standard input; see 'xsync rdb --help')", errUsage))
	}
	if *format != "json" && *format != "resp" {
		return exitFor(env, fmt.Errorf("%w: --format %q: use json or resp", errUsage, *format))
	}
	var r io.Reader = env.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return exitFor(env, err)
		}
		defer f.Close()
		r = f
	}
	w := bufio.NewWriterSize(env.stdout, 256<<10)
	err := snapshot.Dump(w, bufio.NewReaderSize(r, 256<<10), *format, *sorted)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return exitFor(env, err)
	}
	return exitOK
}
