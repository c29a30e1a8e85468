package e2e

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSelectVariants(t *testing.T) {
	names := func(vs []Variant) []string {
		var n []string
		for _, v := range vs {
			n = append(n, v.Name)
		}
		return n
	}
	// The default run leaves out the variants run only on request.
	var byDefault []string
	for _, v := range Variants {
		if v.OnRequest == "" {
			byDefault = append(byDefault, v.Name)
		}
	}
	for _, tc := range []struct {
		spec string
		want []string
	}{
		{"", byDefault},
		{" , ", byDefault},
		{"deb12-pvh-vnc", []string{"deb12-pvh-vnc"}},
		{"deb12-bootmerge", []string{"deb12-bootmerge"}},
		{"deb12-bootmerge,deb12-sda1", []string{"deb12-sda1", "deb12-bootmerge"}},
		{"deb12-sda1 deb12-sda1", []string{"deb12-sda1"}},
	} {
		got, err := SelectVariants(Variants, tc.spec)
		if err != nil {
			t.Errorf("SelectVariants(%q) = %v", tc.spec, err)
			continue
		}
		if diff := cmp.Diff(tc.want, names(got)); diff != "" {
			t.Errorf("SelectVariants(%q) mismatch (-want +got):\n%s", tc.spec, diff)
		}
	}
	if got, err := SelectVariants(Variants, "deb12-sda1,deb13,deb13"); err == nil {
		t.Errorf("SelectVariants(unknown) = %v, want error", names(got))
	} else if want := "unknown variant deb13 (known: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("SelectVariants(unknown) = %q, want it to start %q", err, want)
	}
}

// The variants the tier relies on keep their shape: distinct names (they
// are domain names and table rows), deb12-sda1 first (the negative check
// boots its native image), and every per-filesystem variant states its disks.
func TestVariants(t *testing.T) {
	if Variants[0].Name != "deb12-sda1" {
		t.Errorf("Variants[0] = %s, want deb12-sda1 (the unconverted check uses it)", Variants[0].Name)
	}
	seen := map[string]bool{}
	for _, v := range Variants {
		if seen[v.Name] {
			t.Errorf("variant %s twice", v.Name)
		}
		seen[v.Name] = true
		if v.WantSettings["type"] == "pvh" && v.QEMUCPU == "" {
			t.Errorf("%s: under the PV shim, the default CPU %s (family 15) panics the shim; want %s", v.Name, CPUQEMU64, CPUShim)
		}
		if v.XenifyLayout != "" && (v.WantDisks == nil || len(VolumeGroups(v.WantDisks)) == 0 && v.XenifyLayout == "lv") {
			t.Errorf("%s: --layout %s without the disks it must get (or, for lv, no volume group to activate)", v.Name, v.XenifyLayout)
		}
		// build-guest.sh refuses these after minutes of mmdebstrap.
		if v.FS == "xfs" && v.Layout != "bootpart" {
			t.Errorf("%s: FS=xfs needs LAYOUT=bootpart (a separate /boot), not %s", v.Name, v.Layout)
		}
		for _, c := range []struct{ field, val string }{{"Init", v.Init}, {"Initrd", v.Initrd}, {"FS", v.FS}} {
			if def := map[string]string{"Init": "systemd", "Initrd": "initramfs-tools", "FS": "ext4"}[c.field]; c.val == def {
				t.Errorf("%s: %s %q is the default: leave it empty, or the recipe's environment (and cached image) changes", v.Name, c.field, def)
			}
		}
	}
}
