// Package rdb decodes Redis RDB files (versions 1 to 12: Redis 2.x to 7.4) as
// a stream, from a file or straight from a replication socket, with memory
// bounded by a chunk size, never by the size of the file or of a key.
//
// A Decoder yields Records: keys (with db, type, RDB type byte, absolute
// expire, LRU idle / LFU frequency), aux fields, Lua script bodies, function
// libraries, module aux data, slot info and RESIZEDB hints. The EOF opcode
// ends the stream with io.EOF after the CRC64 (Jones polynomial, as Redis)
// has been checked (RDB 5+; a zero checksum means it was disabled).
//
//	d := rdb.NewDecoder(r, rdb.Options{})
//	for {
//		rec, err := d.Next()
//		if err == io.EOF {
//			break
//		}
//		if err != nil {
//			return err // a *DecodeError naming the byte offset and the key
//		}
//		if rec.Kind != rdb.KindKey {
//			continue
//		}
//		err = rec.Elements(func(c *rdb.Chunk) error { ...; return nil })
//	}
//
// Raw bytes and elements. While a key's value streams by, its serialized bytes
// are captured as they are: when the value is not over Options.RawLimit,
// Record.Raw holds them, and AppendDumpPayload turns them into a DUMP payload
// for RESTORE without re-encoding. Every value, big or small, can also be walked
// with Record.Elements, which hands out Chunks of at most
// Options.ChunkElements elements / about Options.ChunkBytes bytes: string
// pieces, list items, set members, zset members with scores, hash fields and
// values (with per-field expires for 7.4), stream entries, then the stream's
// metadata, then one chunk per consumer group (its whole PEL and consumers).
// A value held in Raw is walked from memory (any number of times); a bigger
// one is walked from the stream, once, and must be walked before Next is
// called again (Next skips it if Elements was not called).
//
// Validity: a Record and its slices are valid until the next call to Next; a
// Chunk and its slices only during the call of the function it is given to.
//
// Memory: the decoder holds a 64 KiB read buffer, at most RawLimit bytes of
// raw value, one chunk, one encoded blob (a ziplist, listpack or intset, whose
// size Redis bounds by its *-max-*-size settings), one element, and one
// consumer group's PEL (about 40 bytes per pending entry). Declared lengths
// are never used to size an allocation: buffers grow with the bytes actually
// read, and a single string, element, key or blob is refused over
// Options.MaxElement. Malformed input ends in a *DecodeError, never a panic.
//
// Input: the decoder reads ahead (up to 64 KiB) from its reader, so hand it a
// reader that ends with the RDB (on a replication link, one limited to the
// transfer's length or stopped at the $EOF mark); Offset tells how many bytes
// the records so far took.
//
// Keys whose value is empty are skipped, as Redis skips them at load, unless
// Options.KeepEmpty is set. Module values (MODULE_2) carry their module id and
// raw bytes only; their elements are not decoded.
package rdb
