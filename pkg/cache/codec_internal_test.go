package cache

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestWireCodec(t *testing.T) {
	t.Parallel()
	codec, err := newWireCodec(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(codec.close)
	big := []byte(strings.Repeat("kind: ConfigMap\n", 1000))
	tests := []struct {
		name    string
		in      []byte
		value   []byte
		neg     *CachedError
		wantErr bool
	}{
		{name: "raw", in: codec.encodeValue([]byte("x")), value: []byte("x")},
		{name: "zstd", in: codec.encodeValue(big), value: big},
		{name: "negative", in: encodeError(&CachedError{Kind: "not-found", Message: "no such revision"}), neg: &CachedError{Kind: "not-found", Message: "no such revision"}},
		{name: "negative with empty kind", in: encodeError(&CachedError{Message: "m"}), neg: &CachedError{Message: "m"}},
		{name: "empty", in: nil, wantErr: true},
		{name: "unknown format", in: []byte{0x99}, wantErr: true},
		{name: "truncated negative", in: []byte{formatError, 0x10, 'a'}, wantErr: true},
		{name: "bad zstd", in: []byte{formatZstd, 1, 2, 3}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			value, neg, err := codec.decode(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("decode error = %v, want error %v", err, tt.wantErr)
			}
			if !bytes.Equal(value, tt.value) {
				t.Errorf("value = %q, want %q", value, tt.value)
			}
			if (neg == nil) != (tt.neg == nil) || (neg != nil && *neg != *tt.neg) {
				t.Errorf("negative entry = %+v, want %+v", neg, tt.neg)
			}
		})
	}
}

func TestTruncateMessageKeepsUTF8(t *testing.T) {
	t.Parallel()
	msg := strings.Repeat("é", maxErrorMessageBytes) // two bytes each
	got := truncateMessage(msg)
	if !utf8.ValidString(got) || len(got) > maxErrorMessageBytes+64 {
		t.Fatalf("truncated to %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
	if short := "short"; truncateMessage(short) != short {
		t.Fatal("a short message was changed")
	}
}
