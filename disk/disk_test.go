package disk

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestReadFull(t *testing.T) {
	r := bytes.NewReader([]byte("0123456789"))
	p := make([]byte, 4)
	if err := ReadFull(r, p, 6); err != nil || string(p) != "6789" {
		t.Errorf("ReadFull at 6 = %q, %v; want 6789, nil", p, err)
	}
	if err := ReadFull(r, p, 8); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadFull past the end = %v, want io.ErrUnexpectedEOF", err)
	}
}
