package kernelimage

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"github.com/xenify/xenify/decompress"
)

// ErrNoIKConfig is returned by IKConfig for a kernel built without
// CONFIG_IKCONFIG.
var ErrNoIKConfig = errors.New("kernel has no embedded configuration (CONFIG_IKCONFIG is off)")

// IKConfig returns the build configuration a kernel carries in its image
// (CONFIG_IKCONFIG: a gzipped .config between the markers IKCFG_ST and
// IKCFG_ED, kernel/configs.c), as scripts/extract-ikconfig finds it.
func IKConfig(data []byte) ([]byte, error) {
	if cfg, err := ikconfigIn(data); err == nil {
		return cfg, nil
	}
	vmlinux, err := vmlinuxOf(data)
	if err != nil {
		return nil, err
	}
	return ikconfigIn(vmlinux)
}

func ikconfigIn(b []byte) ([]byte, error) {
	i := bytes.Index(b, []byte("IKCFG_ST"))
	if i < 0 {
		return nil, ErrNoIKConfig
	}
	zr, err := gzip.NewReader(bytes.NewReader(b[i+len("IKCFG_ST"):]))
	if err != nil {
		return nil, fmt.Errorf("embedded configuration: %w", err)
	}
	zr.Multistream(false)
	cfg, err := io.ReadAll(io.LimitReader(zr, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("embedded configuration: %w", err)
	}
	return cfg, nil
}

// vmlinuxOf returns the decompressed ELF of a bzImage or compressed ELF
// kernel (the image itself when it is a plain ELF).
func vmlinuxOf(data []byte) ([]byte, error) {
	switch {
	case len(data) >= 0x250 && string(data[0x202:0x206]) == "HdrS":
		pm := (int(data[0x1f1]) + 1) * 512
		off := uint64(pm) + uint64(leU32(data[0x248:]))
		payload, err := rng(data, off, uint64(leU32(data[0x24c:])), "bzImage payload")
		if err != nil {
			return nil, err
		}
		if decompress.Detect(payload) == decompress.None {
			return payload, nil
		}
		out, _, err := decompress.All(payload, decompress.DefaultMax)
		return out, err
	case isELF(data):
		return data, nil
	}
	out, _, err := decompress.All(data, decompress.DefaultMax)
	return out, err
}

func leU32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
