package cache

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// Entries in Redis start with one format byte, so the encoding can change without a flag day: a reader
// treats a format it does not know as a miss, and every reader decodes every format it knows whatever its
// own --redis-compression says.
const (
	formatRaw   byte = 0x01 // the value as is
	formatZstd  byte = 0x02 // one zstd frame holding the value
	formatError byte = 0x03 // a negative entry: uvarint len(kind), kind, message
)

const (
	// minCompressBytes: smaller values are stored raw; zstd's frame overhead would eat the gain.
	minCompressBytes = 256
	// maxDecodedBytes bounds what one entry may inflate to (Redis caps a string at 512 MiB), so a corrupt or
	// hostile entry cannot exhaust memory.
	maxDecodedBytes = 512 << 20
)

var errUnknownFormat = errors.New("unknown entry format")

// wireCodec encodes entries for Redis.
type wireCodec struct {
	compress bool
	enc      *zstd.Encoder
	dec      *zstd.Decoder
}

func newWireCodec(compress bool) (*wireCodec, error) {
	// EncodeAll and DecodeAll are safe for concurrent use; one encoder and decoder serve every call.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return nil, fmt.Errorf("create zstd encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxDecodedBytes))
	if err != nil {
		return nil, fmt.Errorf("create zstd decoder: %w", err)
	}
	return &wireCodec{compress: compress, enc: enc, dec: dec}, nil
}

func (c *wireCodec) close() { c.dec.Close() }

func (c *wireCodec) encodeValue(value []byte) []byte {
	if c.compress && len(value) >= minCompressBytes {
		out := c.enc.EncodeAll(value, append(make([]byte, 0, 1+len(value)/2), formatZstd))
		if len(out) < 1+len(value) {
			return out
		}
	}
	out := make([]byte, 1+len(value))
	out[0] = formatRaw
	copy(out[1:], value)
	return out
}

func encodeError(ce *CachedError) []byte {
	out := make([]byte, 0, 1+binary.MaxVarintLen64+len(ce.Kind)+len(ce.Message))
	out = append(out, formatError)
	out = binary.AppendUvarint(out, uint64(len(ce.Kind)))
	out = append(out, ce.Kind...)
	return append(out, ce.Message...)
}

// decode returns the value, or the negative entry, stored in b. The value may alias b.
func (c *wireCodec) decode(b []byte) ([]byte, *CachedError, error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("%w: empty", errUnknownFormat)
	}
	switch b[0] {
	case formatRaw:
		return b[1:], nil, nil
	case formatZstd:
		v, err := c.dec.DecodeAll(b[1:], nil)
		if err != nil {
			return nil, nil, fmt.Errorf("decompress entry: %w", err)
		}
		return v, nil, nil
	case formatError:
		n, w := binary.Uvarint(b[1:])
		if w <= 0 || n > uint64(len(b)-1-w) {
			return nil, nil, errors.New("corrupt negative entry")
		}
		rest := b[1+w:]
		return nil, &CachedError{Kind: string(rest[:n]), Message: string(rest[n:])}, nil
	default:
		return nil, nil, fmt.Errorf("%w 0x%02x", errUnknownFormat, b[0])
	}
}
