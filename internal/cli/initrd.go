package cli

import (
	"github.com/xenify/xenify/initramfs"
	"github.com/xenify/xenify/plan"
)

// The planner asks whether an initrd already holds the Xen block
// frontend; initramfs answers (decompressing any format the kernel uses).
func init() {
	plan.InitrdLister = func(data []byte) ([]string, error) {
		ents, err := initramfs.List(data)
		if err != nil {
			return nil, err
		}
		names := make([]string, len(ents))
		for i, e := range ents {
			names[i] = e.Path
		}
		return names, nil
	}
}
