package resp_test

import (
	"fmt"
	"strings"

	"github.com/xsync/xsync/resp"
)

func ExampleParseCommand() {
	buf := []byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*1\r\n$4\r\nPI")
	var args [][]byte
	for {
		a, n, err := resp.ParseCommand(buf, args, nil)
		if err == resp.ErrIncomplete {
			fmt.Printf("%d bytes wait for more\n", len(buf))
			break
		}
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Printf("%q (%d bytes)\n", a, n)
		args, buf = a, buf[n:]
	}
	// Output:
	// ["SET" "k" "v"] (27 bytes)
	// 10 bytes wait for more
}

func ExampleReader() {
	// What a master sends a replica: keep-alives, +FULLRESYNC, the RDB, the stream.
	stream := "\n\n+FULLRESYNC 8de1787ba490483314a4d30f1c628bc5025eb761 0\r\n$5\r\nREDIS" +
		"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
	r := resp.NewReader(strings.NewReader(stream), resp.Limits{})
	line, _, _ := r.ReadLine()
	for len(line) == 0 {
		line, _, _ = r.ReadLine()
	}
	fmt.Println(string(line[:11]))
	line, _, _ = r.ReadLine()
	rdb := make([]byte, 5)
	_, _ = r.Read(rdb)
	fmt.Println(string(line), string(rdb))
	start := r.Offset()
	for {
		args, n, err := r.ReadCommand()
		if err != nil {
			break
		}
		fmt.Printf("%q at offset %d\n", args, r.Offset()-start)
		_ = n
	}
	// Output:
	// +FULLRESYNC
	// $5 REDIS
	// ["SELECT" "0"] at offset 23
	// ["SET" "k" "v"] at offset 50
}

func ExampleAppendBulkFloat() {
	// ZADD z 1e21 m, built with the encoders.
	b := resp.AppendArray(nil, 4)
	b = resp.AppendBulkString(b, "ZADD")
	b = resp.AppendBulkString(b, "z")
	b = resp.AppendBulkFloat(b, 1e21)
	b = resp.AppendBulkString(b, "m")
	fmt.Printf("%q\n", b)
	// Output:
	// "*4\r\n$4\r\nZADD\r\n$1\r\nz\r\n$5\r\n1e+21\r\n$1\r\nm\r\n"
}

func ExampleWriter() {
	var conn strings.Builder // stands for a net.Conn
	w := resp.NewWriter(&conn)
	w.WriteCommandString("SET", "k", "v")
	w.SetBuffer(resp.AppendCommandString(w.Buffer(), "GET", "k"))
	if err := w.Flush(); err != nil { // the first write error, if any
		fmt.Println(err)
	}
	fmt.Printf("%q\n", conn.String())
	// Output:
	// "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
}
