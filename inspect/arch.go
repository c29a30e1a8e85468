package inspect

import (
	"debug/elf"
	"io"

	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/xerr"
)

// Arch is the guest userland's architecture.
type Arch struct {
	Name   string `json:"name"` // i386 or x86_64
	Bits   int    `json:"bits"`
	Source string `json:"source"` // the binary it was read from
}

// archProbes are binaries every guest has; the first readable ELF wins.
var archProbes = []string{"/bin/sh", "/bin/bash", "/sbin/init", "/bin/ls", "/usr/bin/env"}

func detectArch(root *guest.Root) (Arch, error) {
	for _, p := range archProbes {
		f, err := root.OpenFile(p)
		if err != nil {
			continue
		}
		hdr := make([]byte, 64)
		n, _ := io.ReadFull(f, hdr)
		f.Close()
		a, ok := elfArch(hdr[:n])
		if ok {
			a.Source = p
			return a, nil
		}
	}
	return Arch{}, xerr.Refuse("/bin/sh", 0, "xenify converts x86 (i386, x86_64) guests", "cannot determine the guest architecture: no x86 ELF binary among %v", archProbes)
}

// elfArch reads an ELF header's class and machine.
func elfArch(h []byte) (Arch, bool) {
	if len(h) < 20 || string(h[:4]) != elf.ELFMAG {
		return Arch{}, false
	}
	var machine uint16
	switch h[elf.EI_DATA] {
	case byte(elf.ELFDATA2LSB):
		machine = uint16(h[18]) | uint16(h[19])<<8
	default:
		return Arch{}, false
	}
	switch {
	case h[elf.EI_CLASS] == byte(elf.ELFCLASS64) && elf.Machine(machine) == elf.EM_X86_64:
		return Arch{Name: "x86_64", Bits: 64}, true
	case h[elf.EI_CLASS] == byte(elf.ELFCLASS32) && elf.Machine(machine) == elf.EM_386:
		return Arch{Name: "i386", Bits: 32}, true
	}
	return Arch{}, false
}
