// Package resp reads and writes the Redis serialization protocol, RESP2 and RESP3.
//
// It is the wire layer of xsync: the replication stream of every source master, the
// replies of the destination nodes and the traffic of the admin port and the gateway
// all pass through it. It has no dependency outside the standard library.
//
// # Parsing
//
// ParseCommand and ParseValue parse one item from a caller-owned buffer. They never
// copy: the byte slices they return point into the buffer, and n is the exact number
// of bytes the item occupies on the wire, so that replication offsets can be built by
// adding n up. When the buffer holds only part of an item they return ErrIncomplete
// with n == 0 and the caller reads more bytes and calls again with the longer buffer.
// Malformed input gives a *ProtocolError naming the byte position of the fault; a
// declared length over the Limits gives a *ProtocolError wrapping ErrTooLarge, before
// anything is allocated for it. Aggregate lengths never size an allocation on their
// own: elements are appended as they are parsed.
//
// Commands are read as Redis reads them (processMultibulkBuffer and
// processInlineBuffer in networking.c): a buffer starting with '*' is a multibulk
// request, anything else is an inline request, one line split on blanks with the
// quoting rules of sdssplitargs. Empty commands (an empty or blank line, "*0\r\n",
// "*-1\r\n") are returned by ParseCommand as zero arguments with n > 0; Reader
// skips them (see Reader.ReadCommand).
//
// # Encoding
//
// The Append functions append one encoded item to dst and return the extended slice,
// in the style of strconv.AppendInt; they allocate only when dst must grow.
//
// # Streams
//
// Reader parses items from an io.Reader with an internal buffer that grows only as far
// as one item needs and is compacted as it is consumed; Offset reports every byte
// consumed, and Read hands out raw bytes (the RDB transfer of a full sync) with the
// buffered ones first. Writer buffers output with a sticky error checked at Flush.
// Reading a pipeline of commands through a Reader allocates nothing in steady state.
//
// The buffer doubles only when it is full of unconsumed bytes, so a declared length
// costs memory as its bytes arrive, not before. An item that spans many reads is not
// parsed again after every read: a skipper follows its framing, with the parser's own
// element functions, and the parser runs once more when the item is complete.
//
// # Replication offsets
//
// A replica's offset counts every byte of the stream after the RDB. ReadCommand
// returns the exact wire size of each command, including the empty commands it
// skipped just before it, and Offset counts every byte consumed by any method; both
// add up to the master's offset (checked against streams captured from Redis 4.0 to
// 7.4 in the shared fixtures).
package resp
