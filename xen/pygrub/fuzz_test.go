package pygrub

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func addConfigSeeds(f *testing.F) {
	for _, n := range []string{"debian12.grub.cfg", "rocky9.grub.cfg", "centos4.grub.conf", "extlinux.conf"} {
		f.Add(mustRead(f, n))
	}
	for _, tc := range trickyConfigs {
		f.Add([]byte(tc.text))
	}
}

func checkConfig(t *testing.T, c *Config, err error) {
	if err != nil {
		return
	}
	for _, e := range c.Entries {
		if !e.HasKernel && e.Kernel != "" {
			t.Errorf("entry %q: kernel %q without HasKernel", e.Title, e.Kernel)
		}
	}
}

func FuzzParseGrub(f *testing.F) {
	addConfigSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(Grub, b)
		checkConfig(t, c, err)
	})
}

func FuzzParseGrub2(f *testing.F) {
	addConfigSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(Grub2, b)
		checkConfig(t, c, err)
	})
}

func FuzzParseExtLinux(f *testing.F) {
	addConfigSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(ExtLinux, b)
		checkConfig(t, c, err)
	})
}

func FuzzPartitionOffsets(f *testing.F) {
	for _, d := range [][]byte{mbrDisk(0x83, 2048, 0x82, 4096, 0x05, 8192), gptDisk(2048, 4096)} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		offs, err := PartitionOffsets(bytes.NewReader(b), int64(len(b)))
		if err == nil && len(offs) == 0 {
			t.Errorf("PartitionOffsets = [], want at least [0]")
		}
	})
}

// mbrDisk makes a disk image with primary entries given as
// (type, start LBA) pairs.
func mbrDisk(entries ...int) []byte {
	d := make([]byte, 64<<10)
	for i := 0; i+1 < len(entries); i += 2 {
		e := d[446+16*(i/2):]
		e[4] = byte(entries[i])
		binary.LittleEndian.PutUint32(e[8:], uint32(entries[i+1]))
		binary.LittleEndian.PutUint32(e[12:], 100)
	}
	d[510], d[511] = 0x55, 0xaa
	return d
}

// gptDisk makes a protective MBR and a 4-entry GPT with the given starts.
func gptDisk(starts ...uint64) []byte {
	d := mbrDisk(0xee, 1)
	copy(d[512:], "EFI PART")
	binary.LittleEndian.PutUint32(d[512+80:], 4)
	binary.LittleEndian.PutUint32(d[512+84:], 128)
	for i, s := range starts {
		binary.LittleEndian.PutUint64(d[1024+128*i+32:], s)
	}
	return d
}
