package rdb_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/xsync/xsync/replicator/rdb"
)

// An RDB holding one list "l" = [a b c] (RDB 9, checksum disabled).
var exampleRDB = []byte("REDIS0009\x01\x01l\x03\x01a\x01b\x01c\xff\x00\x00\x00\x00\x00\x00\x00\x00")

func ExampleDecoder() {
	d := rdb.NewDecoder(bytes.NewReader(exampleRDB), rdb.Options{})
	version, _ := d.Version()
	for {
		rec, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if rec.Kind != rdb.KindKey {
			continue
		}
		fmt.Printf("db %d key %s: %s\n", rec.DB, rec.Key, rec.Type)
		rec.Elements(func(c *rdb.Chunk) error {
			for _, it := range c.Items {
				fmt.Printf("  %s\n", it)
			}
			return nil
		})
		payload := rdb.AppendDumpPayload(nil, rec.RDBType, rec.Raw, version)
		fmt.Printf("  DUMP payload of %d bytes\n", len(payload))
	}
	// Output:
	// db 0 key l: list
	//   a
	//   b
	//   c
	//   DUMP payload of 18 bytes
}
