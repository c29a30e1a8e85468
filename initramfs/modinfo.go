package initramfs

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/xenify/xenify/decompress"
)

// maxModule bounds a decompressed module.
const maxModule = 64 << 20

// ModinfoField returns the value of a module's .modinfo field key
// ("vermagic", "depends"), decompressing the module if needed. ok is
// false when the module has no such field.
func ModinfoField(data []byte, key string) (value string, ok bool, err error) {
	if decompress.Detect(data) != decompress.None {
		out, _, err := decompress.All(data, maxModule)
		if err != nil {
			return "", false, err
		}
		data = out
	}
	needle := []byte(key + "=")
	for off := 0; ; {
		i := bytes.Index(data[off:], needle)
		if i < 0 {
			return "", false, nil
		}
		i += off
		// A .modinfo string starts after a NUL.
		if i > 0 && data[i-1] == 0 {
			v := data[i+len(needle):]
			if end := bytes.IndexByte(v, 0); end >= 0 {
				v = v[:end]
			}
			return string(v), true, nil
		}
		off = i + 1
	}
}

// Vermagic returns the first word of a module's vermagic: the kernel
// release it was built for.
func Vermagic(data []byte) (string, error) {
	v, ok, err := ModinfoField(data, "vermagic")
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("no vermagic in the module")
	}
	f := strings.Fields(v)
	if len(f) == 0 {
		return "", fmt.Errorf("empty vermagic")
	}
	return f[0], nil
}

// Depends returns the modules a module needs (its "depends" field).
func Depends(data []byte) ([]string, error) {
	v, _, err := ModinfoField(data, "depends")
	if err != nil || v == "" {
		return nil, err
	}
	return strings.Split(v, ","), nil
}
