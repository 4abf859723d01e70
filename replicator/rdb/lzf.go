package rdb

import "fmt"

// LZF (liblzf, as Redis uses it) decoded as a stream: the input is read in
// pieces and the output is handed on in pieces, keeping only the last 8 KiB of
// output that back references may point into. Memory stays bounded whatever
// the declared sizes say.
//
// Format: a control byte c. c < 32: a literal run of c+1 bytes follows.
// Otherwise a back reference: length L = c>>5 (7 means: add the next byte),
// distance = (c&31)<<8 + next byte + 1; copy L+2 bytes from that far back.

const lzfWindow = 8192

// lzf decodes clen compressed bytes into exactly ulen bytes, calling emit with
// pieces of output (each valid only during the call).
func (d *Decoder) lzf(clen, ulen uint64, emit func([]byte) error) error {
	in := d.lzfIn[:0]
	out := d.lzfOut[:0]
	defer func() { d.lzfIn, d.lzfOut = in[:0], out[:0] }()
	ip := 0
	remaining := clen
	var produced uint64
	emitted := 0
	flushAt := lzfWindow + pieceSize
	for {
		if remaining > 0 && len(in)-ip < 300 {
			n := copy(in, in[ip:])
			in = in[:n]
			ip = 0
			k := uint64(pieceSize)
			if remaining < k {
				k = remaining
			}
			b, err := d.cur.next(int(k))
			if err != nil {
				return err
			}
			in = append(in, b...)
			remaining -= k
		}
		if ip >= len(in) {
			break
		}
		ctrl := int(in[ip])
		ip++
		if ctrl < 32 {
			run := ctrl + 1
			if ip+run > len(in) {
				return fmt.Errorf("lzf: literal run past the end of input")
			}
			if produced+uint64(run) > ulen {
				return fmt.Errorf("lzf: output longer than the declared %d bytes", ulen)
			}
			out = append(out, in[ip:ip+run]...)
			ip += run
			produced += uint64(run)
		} else {
			l := ctrl >> 5
			if ip >= len(in) {
				return fmt.Errorf("lzf: back reference past the end of input")
			}
			if l == 7 {
				l += int(in[ip])
				ip++
				if ip >= len(in) {
					return fmt.Errorf("lzf: back reference past the end of input")
				}
			}
			dist := (ctrl&31)<<8 + int(in[ip]) + 1
			ip++
			l += 2
			if dist > len(out) {
				return fmt.Errorf("lzf: back reference before the start of output")
			}
			if produced+uint64(l) > ulen {
				return fmt.Errorf("lzf: output longer than the declared %d bytes", ulen)
			}
			ref := len(out) - dist
			if dist >= l {
				out = append(out, out[ref:ref+l]...)
			} else {
				for i := 0; i < l; i++ {
					out = append(out, out[ref+i])
				}
			}
			produced += uint64(l)
		}
		if len(out) >= flushAt {
			if err := emit(out[emitted:]); err != nil {
				return err
			}
			n := copy(out, out[len(out)-lzfWindow:])
			out = out[:n]
			emitted = n
		}
	}
	if produced != ulen {
		return fmt.Errorf("lzf: %d bytes decoded, %d declared", produced, ulen)
	}
	if len(out) > emitted {
		return emit(out[emitted:])
	}
	return nil
}
