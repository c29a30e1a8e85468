package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Default command lines, as verified on the CI machine (see README.md).
// bootscrub=0: scrubbing 2 GiB under TCG only burns CPU; the machine is fresh.
const (
	XenArgs  = "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=1 loglvl=all guest_loglvl=all noreboot bootscrub=0"
	Dom0Args = "console=hvc0 earlyprintk=xen root=/dev/vda rw"
)

// Serial numbers of the virtio disks; dom0 finds them under
// /dev/disk/by-id/virtio-SERIAL. Guest disk i has serial SerialGuest-(i+1)
// (GuestSerial); virtio-blk serials hold 20 bytes.
const (
	SerialDom0  = "xenify-dom0"
	SerialGuest = "xenify-guest"
	SerialJob   = "xenify-job"
)

// GuestSerial is the serial of the i-th guest disk of a run (from 0).
func GuestSerial(i int) string { return fmt.Sprintf("%s-%d", SerialGuest, i+1) }

// GuestDiskPath is the i-th guest disk's path as dom0 sees it: the one
// edit to a whole-disk domain config points its disk here.
func GuestDiskPath(i int) string { return "/dev/disk/by-id/virtio-" + GuestSerial(i) }

// Machine is one QEMU run: Xen with a dom0, the guest disks and a job disk.
type Machine struct {
	Xen, Dom0Kernel, Dom0Initrd, Dom0Root string   // files from the dom0 build
	GuestDisks                            []string // raw guest images, in job order; QEMU opens them with snapshot=on
	JobTar                                string   // raw tar dom0 reads from the job disk
	SerialLog                             string   // QEMU's serial port: Xen's com1 and dom0's hvc0
	Accel                                 string   // "tcg" or "kvm"
	CPU                                   string   // -cpu under TCG; "": CPUQEMU64
	MemMiB                                int
}

// Args returns QEMU's argv (without the program name).
func (m Machine) Args() []string {
	cpu := m.CPU
	if cpu == "" {
		cpu = CPUQEMU64 // -cpu max crashes dom0 right after Xen hands over under TCG
	}
	if m.Accel == "kvm" {
		cpu = "host"
	}
	mem := m.MemMiB
	if mem == 0 {
		mem = 2048
	}
	disk := func(id, file, serial, extra string) []string {
		return []string{
			"-drive", fmt.Sprintf("if=none,id=%s,file=%s,format=raw,%s", id, qemuEscape(file), extra),
			"-device", fmt.Sprintf("virtio-blk-pci,drive=%s,serial=%s", id, serial),
		}
	}
	a := []string{
		"-nodefaults", "-display", "none", "-no-reboot",
		// One vCPU: with -smp 2 under TCG dom0 once hung for good in early
		// boot (while Xen scrubbed memory on the other CPU); dom0 and the
		// guest have one vCPU each anyway.
		"-accel", m.Accel, "-cpu", cpu, "-smp", "1", "-m", fmt.Sprint(mem),
		"-kernel", m.Xen,
		"-append", XenArgs,
		// Multiboot modules: "file args,file"; commas inside would split modules.
		"-initrd", m.Dom0Kernel + " " + Dom0Args + "," + m.Dom0Initrd,
	}
	a = append(a, disk("dom0", m.Dom0Root, SerialDom0, "snapshot=on")...)
	for i, g := range m.GuestDisks {
		a = append(a, disk(fmt.Sprintf("guest%d", i+1), g, GuestSerial(i), "snapshot=on")...)
	}
	a = append(a, disk("job", m.JobTar, SerialJob, "readonly=on")...)
	a = append(a, "-serial", "file:"+m.SerialLog)
	return a
}

// qemuEscape doubles commas, QEMU's escape inside -drive option values.
func qemuEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// Run starts QEMU and waits until it exits, the dom0 prints its END marker,
// or timeout passes; then QEMU is stopped. It reports whether it timed out.
func (m Machine) Run(ctx context.Context, timeout time.Duration) (timedOut bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", m.Args()...)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("starting qemu: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if ctx.Err() != nil {
				return true, nil
			}
			if err != nil {
				return false, fmt.Errorf("qemu: %w: %s", err, strings.TrimSpace(out.String()))
			}
			return false, nil
		case <-tick.C:
			// dom0 powers off after END, but Xen's halt can linger; don't wait for it.
			if b, err := os.ReadFile(m.SerialLog); err == nil && strings.Contains(string(b), Marker+"END") {
				time.Sleep(3 * time.Second)
				_ = cmd.Process.Kill()
				<-done
				return false, nil
			}
		}
	}
}

// DetectAccel returns "kvm" only when a real KVM module is loaded with
// nested virtualization on and QEMU stays up with -accel kvm; this machine's
// /dev/kvm is a software backend that cannot run a hypervisor (Xen dies on its
// first CET probe), so the default is "tcg". The reason says why.
func DetectAccel(ctx context.Context) (accel, reason string) {
	mods, err := os.ReadFile("/proc/modules")
	if err != nil {
		return "tcg", "cannot read /proc/modules, not trusting /dev/kvm"
	}
	var nested string
	switch {
	case strings.Contains(string(mods), "kvm_intel "):
		nested = "/sys/module/kvm_intel/parameters/nested"
	case strings.Contains(string(mods), "kvm_amd "):
		nested = "/sys/module/kvm_amd/parameters/nested"
	default:
		return "tcg", "neither kvm_intel nor kvm_amd is loaded"
	}
	b, err := os.ReadFile(nested)
	if v := strings.TrimSpace(string(b)); err != nil || (v != "Y" && v != "1") {
		return "tcg", "KVM is loaded but nested virtualization is off"
	}
	// Probe: a QEMU that cannot use KVM exits at once; one that can stays up.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", "-nodefaults", "-display", "none",
		"-accel", "kvm", "-cpu", "host", "-m", "64", "-S", "-monitor", "none")
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); ctx.Err() == nil {
		return "tcg", fmt.Sprintf("QEMU with -accel kvm exited at once: %v", err)
	}
	return "kvm", "kvm module with nested virtualization; QEMU runs with -accel kvm"
}
