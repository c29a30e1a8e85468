package e2e

import (
	"strings"
	"testing"
)

func TestMachineArgs(t *testing.T) {
	m := Machine{Xen: "/c/xen", Dom0Kernel: "/c/vmlinuz", Dom0Initrd: "/c/initrd.img", Dom0Root: "/c/dom0.img",
		GuestDisks: []string{"/w/a,b.img", "/w/c.img"}, JobTar: "/w/job.tar", SerialLog: "/w/serial.log", Accel: "tcg"}
	got := strings.Join(m.Args(), " ")
	for _, want := range []string{
		"-accel tcg -cpu qemu64",
		"-m 2048",
		"-kernel /c/xen -append " + XenArgs,
		"-initrd /c/vmlinuz console=hvc0 earlyprintk=xen root=/dev/vda rw,/c/initrd.img",
		"file=/c/dom0.img,format=raw,snapshot=on -device virtio-blk-pci,drive=dom0,serial=xenify-dom0",
		"file=/w/a,,b.img,format=raw,snapshot=on -device virtio-blk-pci,drive=guest1,serial=xenify-guest-1",
		"file=/w/c.img,format=raw,snapshot=on -device virtio-blk-pci,drive=guest2,serial=xenify-guest-2",
		"file=/w/job.tar,format=raw,readonly=on -device virtio-blk-pci,drive=job,serial=xenify-job",
		"-serial file:/w/serial.log",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Args() = %q, want it to contain %q", got, want)
		}
	}
	m.CPU = CPUShim
	if got := strings.Join(m.Args(), " "); !strings.Contains(got, "-accel tcg -cpu "+CPUShim+" ") {
		t.Errorf("Args() with CPU %s = %q, want -accel tcg -cpu %s", CPUShim, got, CPUShim)
	}
	m.Accel = "kvm"
	if got := strings.Join(m.Args(), " "); !strings.Contains(got, "-accel kvm -cpu host") {
		t.Errorf("Args() with kvm = %q, want -accel kvm -cpu host", got)
	}
}
