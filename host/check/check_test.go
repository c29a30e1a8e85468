package check

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/run"
	"github.com/xenify/xenify/verify"
	"github.com/xenify/xenify/xen/domain"
)

// fakeDom0 builds a dom0 tree that passes every check for goodConfig.
func fakeDom0(t *testing.T) (*Host, string) {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"proc/xen/capabilities":                  "control_d\n",
		"proc/1/comm":                            "systemd\n",
		"proc/310/comm":                          "xenstored\n",
		"proc/310/cmdline":                       "/usr/sbin/xenstored\x00--pid-file\x00/run/xenstored.pid\x00",
		"proc/self/mountinfo":                    "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n",
		"sys/hypervisor/properties/capabilities": "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64\n",
		"sys/class/net/xenbr0/flags":             "0x1003\n",
		"sys/class/net/eth0/flags":               "0x1003\n",
		"srv/xen/web1.img":                       "disk",
		"etc/lvm/backup/vg_dom0":                 "",
	}
	for p, c := range files {
		writeFile(t, root, p, c, 0o644)
	}
	for _, d := range []string{"sys/class/net/xenbr0/bridge", "sys/class/net/xenbr0/brif/eth0", "sys/module/xen_blkback", "sys/module/xen_netback", "proc/310/fd"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, root, "usr/sbin/xl", "#!/bin/sh\n", 0o755)
	writeFile(t, root, "usr/lib/xen-4.17/bin/pygrub", "#!/usr/bin/python3\n", 0o755)
	h := &Host{Root: root,
		FreeMemory: func(context.Context, string) (int, error) { return 3000, nil },
		Attached:   func(context.Context) ([]Attachment, error) { return nil, nil },
	}
	return h, root
}

func writeFile(t *testing.T, root, p, content string, mode os.FileMode) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func goodConfig() *domain.Config {
	return &domain.Config{Name: "web1", Memory: 512, VCPUs: 1, Bootloader: "pygrub",
		Disks: []domain.Disk{{Target: "/srv/xen/web1.img", File: true, Vdev: "xvda"}},
		Vifs:  []domain.Vif{{Bridge: "xenbr0", MAC: "00:16:3e:00:00:01"}}}
}

func find(r *Report, name string) verify.Check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return verify.Check{Status: "absent"}
}

func TestGoodHostPasses(t *testing.T) {
	h, _ := fakeDom0(t)
	r := Check(context.Background(), h, Input{Domain: goodConfig(), GuestVGs: []string{"VolGroup00"}})
	for _, c := range r.Checks {
		if c.Status != verify.Pass {
			t.Errorf("check %s = %s (%s), want pass", c.Name, c.Status, c.Detail)
		}
	}
	if !r.OK || r.Toolstack != "xl" {
		t.Errorf("Check() = OK %v toolstack %q, want true xl", r.OK, r.Toolstack)
	}
	for _, want := range []string{"dom0", "toolstack", "xenstored", "capabilities", "bridge[0]", "blkback", "netback", "disk xvda", "lvm-names", "bootloader", "memory"} {
		if find(r, want).Status == "absent" {
			t.Errorf("no %q check in %+v", want, r.Checks)
		}
	}
}

func TestProblemsFailWithFix(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, h *Host, root string, d *domain.Config, in *Input)
		check  string
		detail string
		fix    string
	}{
		{"not dom0", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			writeFile(t, root, "proc/xen/capabilities", "", 0o644)
		}, "dom0", "not a running Xen dom0", "boot this host into Xen"},
		{"xenstored stopped", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			os.RemoveAll(filepath.Join(root, "proc/310"))
		}, "xenstored", "not running", "systemctl start xenstored"},
		{"xend stopped", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			in.Toolstack = "xm"
			writeFile(t, root, "usr/sbin/xm", "", 0o755)
		}, "xend", "xend is not running", "service xend start"},
		{"routed xend needs network-route", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			writeFile(t, root, "etc/xen/xend-config.sxp", "#(network-script network-route)\n(network-script network-bridge)\n(vif-script vif-route)\n", 0o644)
		}, "xend-network", "routed vifs need network-route", "(network-script network-route)"},
		{"missing bridge", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			d.Vifs[0].Bridge = "br9"
		}, "bridge[0]", "bridge br9 does not exist", "xenify host-setup bridge br9 --uplink IFACE"},
		{"bridge down", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			writeFile(t, root, "sys/class/net/xenbr0/flags", "0x1002\n", 0o644)
		}, "bridge[0]", "xenbr0 is down", "ip link set xenbr0 up"},
		{"not a bridge", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			d.Vifs[0].Bridge = "eth0"
		}, "bridge[0]", "not a bridge", "host-setup bridge"},
		{"hostile bridge name", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			d.Vifs[0].Bridge = "../../etc"
		}, "bridge[0]", "only letters", "name a bridge"},
		{"no blkback", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			os.RemoveAll(filepath.Join(root, "sys/module/xen_blkback"))
		}, "blkback", "not loaded", "modprobe xen-blkback"},
		{"no netback", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			os.RemoveAll(filepath.Join(root, "sys/module/xen_netback"))
		}, "netback", "not loaded", "modprobe xen-netback"},
		{"disk missing", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			d.Disks[0].Target = "/srv/xen/gone.img"
		}, "disk xvda", "does not exist", "xenify copy"},
		{"disk mounted through a loop", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			writeFile(t, root, "sys/block/loop3/loop/backing_file", "/srv/xen/web1.img\n", 0o644)
			writeFile(t, root, "sys/block/loop3/dev", "7:3\n", 0o644)
			writeFile(t, root, "proc/self/mountinfo", "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n40 22 7:3 / /mnt/web1 rw - ext3 /dev/loop3 rw\n", 0o644)
		}, "disk xvda", "mounted through loop3 on /mnt/web1", "umount /mnt/web1 && losetup -d /dev/loop3"},
		{"disk open for writing", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			if err := os.Symlink("/srv/xen/web1.img", filepath.Join(root, "proc/310/fd/7")); err != nil {
				t.Fatal(err)
			}
			writeFile(t, root, "proc/310/fdinfo/7", "pos:\t0\nflags:\t0100002\nmnt_id:\t22\n", 0o644)
		}, "disk xvda", "open for writing by pid 310 (xenstored)", "stop those processes"},
		{"disk attached to a domain", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			h.Attached = func(context.Context) ([]Attachment, error) {
				return ParseBackends("/local/domain/0/backend/vbd/7/51712/params = \"/srv/xen/web1.img\"\n/local/domain/0/backend/vbd/7/51712/physical-device = \"7:0\"\n"), nil
			}
		}, "disk xvda", "attached to domain 7", "xl block-detach 7"},
		{"vg clash", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			writeFile(t, root, "sys/block/dm-0/dm/name", "VolGroup00-LogVol00\n", 0o644)
		}, "lvm-names", "VolGroup00", "vgrename"},
		{"no pygrub", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			os.RemoveAll(filepath.Join(root, "usr/lib/xen-4.17"))
		}, "bootloader", "not found", "install pygrub"},
		{"pvgrub image missing", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			d.Bootloader, d.Kernel = "", "/usr/lib/grub-xen/grub-x86_64-xen.bin"
		}, "kernel", "does not exist", "grub-xen-host"},
		{"direct kernel missing", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			d.Bootloader, d.Kernel, d.Ramdisk = "", "/var/lib/xenify/boot/web1/vmlinuz", "/var/lib/xenify/boot/web1/initrd.img"
		}, "ramdisk", "does not exist", "--boot direct"},
		{"memory", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			d.Memory = 4096
		}, "memory", "wants 4096 MiB; the hypervisor has 3000 MiB free", "xl mem-set 0"},
		{"pvh without hvm", func(t *testing.T, h *Host, root string, d *domain.Config, in *Input) {
			d.Type = "pvh"
			writeFile(t, root, "sys/hypervisor/properties/capabilities", "xen-3.0-x86_64\n", 0o644)
		}, "capabilities", "no hvm capability", "VT-x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, root := fakeDom0(t)
			d := goodConfig()
			in := Input{Domain: d, GuestVGs: []string{"VolGroup00"}}
			tc.break_(t, h, root, d, &in)
			r := Check(context.Background(), h, in)
			c := find(r, tc.check)
			if c.Status != verify.Fail || !strings.Contains(c.Detail, tc.detail) || !strings.Contains(c.Fix, tc.fix) {
				t.Errorf("check %s = %s %q fix %q, want fail %q fix %q", tc.check, c.Status, c.Detail, c.Fix, tc.detail, tc.fix)
			}
			if r.OK {
				t.Errorf("Check().OK = true with a failed check")
			}
		})
	}
}

func TestRoutedXendNeedsNoBridge(t *testing.T) {
	h, root := fakeDom0(t)
	writeFile(t, root, "etc/xen/xend-config.sxp", "(network-script network-route)\n(vif-script     vif-route)\n", 0o644)
	writeFile(t, root, "usr/sbin/xm", "", 0o755)
	writeFile(t, root, "proc/400/cmdline", "/usr/bin/python\x00/usr/sbin/xend\x00start\x00", 0o644)
	writeFile(t, root, "proc/400/comm", "python\n", 0o644)
	d := goodConfig()
	d.Vifs[0].Bridge = ""
	r := Check(context.Background(), h, Input{Domain: d, Toolstack: "xm"})
	for _, name := range []string{"xend", "xend-network", "bridge[0]"} {
		if c := find(r, name); c.Status != verify.Pass {
			t.Errorf("check %s = %s %q, want pass", name, c.Status, c.Detail)
		}
	}
}

func TestInUseByUs(t *testing.T) {
	h, root := fakeDom0(t)
	writeFile(t, root, "proc/self/mountinfo", "40 22 7:3 / /mnt/web1 rw - ext3 /srv/xen/web1.img rw\n", 0o644)
	d := goodConfig()
	if c := find(Check(context.Background(), h, Input{Domain: d}), "disk xvda"); c.Status != verify.Fail {
		t.Fatalf("mounted disk: check = %s, want fail", c.Status)
	}
	if c := find(Check(context.Background(), h, Input{Domain: d, InUseByUs: true}), "disk xvda"); c.Status != verify.Pass {
		t.Errorf("InUseByUs: check = %s %q, want pass", c.Status, c.Detail)
	}
}

func TestParsers(t *testing.T) {
	if n, err := ParseFreeMemory("host : x\nfree_memory            : 1234\n"); n != 1234 || err != nil {
		t.Errorf("ParseFreeMemory = %d, %v, want 1234", n, err)
	}
	if _, err := ParseFreeMemory("nothing"); err == nil {
		t.Errorf("ParseFreeMemory(no line) = nil error")
	}
	got := ParseBackends(`/local/domain/0/backend/vbd/3/51713/params = "aio:/srv/a.img"
/local/domain/0/backend/vbd/3/51713/physical-device = "ca:1"
/local/domain/0/backend/vif/3/0/bridge = "xenbr0"
/local/domain/0/backend/qdisk/4/768/params = "/dev/vg/lv"
`)
	if len(got) != 2 || got[0] != (Attachment{DomID: 3, Params: "/srv/a.img", Device: "ca:1"}) || got[1].Params != "/dev/vg/lv" {
		t.Errorf("ParseBackends = %+v", got)
	}
	if !sameDev("ca:1", "202:1") || sameDev("ca:1", "202:2") {
		t.Errorf("sameDev(ca:1) wrong")
	}
	if v := dmVG("my--vg-root"); v != "my-vg" {
		t.Errorf("dmVG(my--vg-root) = %q, want my-vg", v)
	}
	for _, bad := range []string{"", "a;b", "br 0", "../x", "verylongbridgename0", "$(x)"} {
		if ValidBridgeName(bad) == nil {
			t.Errorf("ValidBridgeName(%q) = nil, want error", bad)
		}
	}
}

// A dom0 that has run no guest yet has no backend directory in
// xenstore: xenstore-ls fails, and that means no disk is attached, not
// that the attachments are unknown (found by the boot tier's host-check).
func TestNoBackends(t *testing.T) {
	fresh := &run.Error{Cmd: "xenstore-ls -f /local/domain/0/backend", ExitCode: 1,
		Stderr: "xenstore-ls: xs_directory (/local/domain/0/backend): No such file or directory\n"}
	if !NoBackends(fresh) {
		t.Errorf("NoBackends(%v) = false, want true", fresh)
	}
	for _, err := range []error{
		nil,
		&run.Error{Cmd: "xenstore-ls", ExitCode: 1, Stderr: "xenstore-ls: could not connect to xenstored: Permission denied\n"},
		&run.Error{Cmd: "xenstore-ls", ExitCode: 127, Stderr: "exec: xenstore-ls: No such file or directory\n"},
		errors.New("xs_directory: No such file or directory"),
	} {
		if NoBackends(err) {
			t.Errorf("NoBackends(%v) = true, want false", err)
		}
	}
}
