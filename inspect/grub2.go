package inspect

import (
	"strings"

	"github.com/xenify/xenify/guest"
)

func readGrub2(root *guest.Root, p string, data []byte) (Boot, error) {
	b := Boot{Loader: "grub2", ConfigPath: p}
	if strings.Contains(string(data), "blscfg") {
		b.BLS = true
		if err := readBLS(root, &b); err != nil {
			return b, err
		}
	}
	return b, nil
}
