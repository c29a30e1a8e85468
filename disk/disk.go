// Package disk holds what the readers of on-disk formats below it
// (partition tables, LVM labels, md superblocks, filesystems) share.
package disk

import (
	"fmt"
	"io"
)

// ReadFull reads exactly len(p) bytes at off. A short read, even one
// that ended in io.EOF, is an error naming the range, wrapping
// io.ErrUnexpectedEOF: a structure that runs off the end of its device
// is damage, not a normal end.
func ReadFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("reading %d bytes at offset %d: %w", len(p), off, err)
}
