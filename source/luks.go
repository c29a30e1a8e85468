package source

import (
	"fmt"
	"strings"

	"github.com/xenify/xenify/disk/fsprobe"
	"github.com/xenify/xenify/guest"
)

// luksFix is what to do with an encrypted guest: xenify reads disks
// without device-mapper, so it cannot unlock them itself.
const luksFix = "xenify cannot unlock LUKS volumes itself (it reads disks without device-mapper, and this machine has none); " +
	"on a dom0 with device-mapper, unlock it with the name the guest's /etc/crypttab gives it (cryptsetup open DEVICE NAME) " +
	"and pass /dev/mapper/NAME as SOURCE or --disk. The converted guest keeps its encryption: its initrd must still unlock " +
	"the volume inside the guest (cryptsetup and /etc/crypttab in the initrd), and someone must type the passphrase on its console"

// encrypted describes the LUKS volumes found, for messages:
// "disk.img partition 2 (LUKS2, UUID=...)".
func (m *Map) encrypted() []string {
	var out []string
	for _, v := range m.Volumes {
		if v.Probe.Type == fsprobe.LUKS {
			out = append(out, describeLUKS(v, m.Disks))
		}
	}
	return out
}

func describeLUKS(v Volume, disks []Disk) string {
	s := fmt.Sprintf("%s (LUKS%s, UUID=%s", v.Describe(disks), v.Probe.Version, v.Probe.UUID)
	if v.Probe.Label != "" {
		s += ", label " + v.Probe.Label
	}
	return s + ")"
}

// cryptEntry is one line of the guest's /etc/crypttab: the mapper name
// it opens and the device it opens it from.
type cryptEntry struct {
	Line   int
	Name   string
	Device string
}

const crypttabPath = "/etc/crypttab"

// readCrypttab reads the guest's /etc/crypttab ("name device keyfile
// options", '#' comments); nil when there is none.
func readCrypttab(root *guest.Root) []cryptEntry {
	if root == nil || !root.IsFile(crypttabPath) {
		return nil
	}
	data, err := root.ReadFile(crypttabPath)
	if err != nil {
		return nil
	}
	var out []cryptEntry
	for i, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		out = append(out, cryptEntry{Line: i + 1, Name: f[0], Device: f[1]})
	}
	return out
}

// encryptedEntry says why an fstab spec lies on an encrypted volume:
// /dev/mapper/NAME where the guest's crypttab opens NAME. ok is false
// otherwise.
func (op *opener) encryptedEntry(spec string, crypt []cryptEntry) (string, bool) {
	name, found := strings.CutPrefix(spec, "/dev/mapper/")
	if !found {
		return "", false
	}
	for _, c := range crypt {
		if c.Name != name {
			continue
		}
		dev := c.Device
		if idx, _, err := op.m.Resolve(c.Device, op.canon); err == nil && idx >= 0 {
			dev = describeLUKS(op.m.Volumes[idx], op.m.Disks)
		}
		return fmt.Sprintf("it is encrypted: %s line %d opens %s from %s", crypttabPath, c.Line, name, dev), true
	}
	return "", false
}
