package snapshot

import (
	"bufio"
	"io"
	"strconv"

	"github.com/xsync/xsync/replicator/rdb"
	"github.com/xsync/xsync/resp"
)

// WriteRESP decodes the RDB read from r and writes the commands that recreate
// it to w, RESP-encoded, as `redis-cli --pipe` takes them: SELECT when the
// database changes, then each key's commands (see Converter.Convert),
// function libraries and Lua scripts. Memory is bounded as the decoder's and
// the converter's are.
func WriteRESP(w io.Writer, r io.Reader, dopts rdb.Options, opts Options) error {
	c, err := New(opts)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	d := rdb.NewDecoder(r, dopts)
	db := 0
	var sel []byte
	emit := func(cmd []byte, n int) error {
		_, err := bw.Write(cmd)
		return err
	}
	for {
		rec, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if rec.Kind == rdb.KindKey && rec.DB != db {
			db = rec.DB
			sel = resp.AppendCommand(sel[:0], []byte("SELECT"), strconv.AppendInt(nil, int64(db), 10))
			if _, err := bw.Write(sel); err != nil {
				return err
			}
		}
		v, _ := d.Version()
		if err := c.Convert(rec, v, emit); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Dump writes the RDB read from r to w as "json" (see rdb.WriteJSON; sorted
// like the fixture files when sorted is set) or "resp" (see WriteRESP, with
// default options: commands for the newest Redis, RESTORE where possible).
func Dump(w io.Writer, r io.Reader, format string, sorted bool) error {
	switch format {
	case "json", "":
		return rdb.WriteJSON(w, r, rdb.JSONOptions{Sort: sorted})
	case "resp":
		return WriteRESP(w, r, rdb.Options{}, Options{})
	}
	return rdb.ErrFormat
}
