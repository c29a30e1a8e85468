package e2e

import (
	"bytes"
	"fmt"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
)

// TestIntegrationConsoleDriverVNC runs the dom0 console driver
// (dom0/driver/console-driver.py) for a VNC job against a stand-in xl
// (testdata/fakexl: a guest console answering the driver's commands)
// and a real QEMU's VNC server, the same server code qemu-system-xen
// runs for a vfb: a paused machine with a standard VGA shows QEMU's own
// "Guest has not initialized the display" text on 640x480. What the
// driver prints must satisfy ParseRun and the framebuffer Verdict.
func TestIntegrationConsoleDriverVNC(t *testing.T) {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		testenv.Skipf(t, "needs qemu-system-x86_64 (qemu-system-x86): %v", err)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Skipf(t, "needs python3: %v", err)
	}
	port := freeVNCPort(t)
	q := exec.Command(qemu, "-nodefaults", "-vga", "std", "-display", "none", "-vnc", fmt.Sprintf("127.0.0.1:%d", port-5900),
		"-S", "-m", "64", "-accel", "tcg", "-monitor", "none", "-serial", "none")
	var qout bytes.Buffer
	q.Stdout, q.Stderr = &qout, &qout
	if err := q.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = q.Process.Kill()
		_ = q.Wait()
	}()
	dir := t.TempDir()
	cfg, disk := filepath.Join(dir, "g.cfg"), filepath.Join(dir, "disk")
	if err := os.WriteFile(cfg, []byte("name='g'\nextra='root=/dev/xvda1'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(disk, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	job := filepath.Join(dir, "job.json")
	js := fmt.Sprintf(`{"guests": [{"label": "g", "name": "g", "config": %q, "disk": %q, "password": "pw", "timeout": 120, "attempts": 1, "vnc": true}]}`, cfg, disk)
	if err := os.WriteFile(job, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	fake, err := filepath.Abs("testdata/fakexl")
	if err != nil {
		t.Fatal(err)
	}
	// connect() in vnc.py tries the port xenstore-read names first and
	// waits for QEMU: the driver reaches it only after the login steps.
	c := driverCmd(py, fake, dir, []string{fmt.Sprintf("FAKE_VNC_PORT=%d", port)}, job)
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("console-driver.py: %v\n%s\nqemu: %s", err, out, qout.Bytes())
	}
	run, err := ParseRun(bytes.NewReader(out))
	rep := run.Report("g")
	if err != nil || rep.RootSource != "/dev/xvda1" || rep.BootSource != BootNotMounted || !rep.Done {
		t.Errorf("ParseRun: %v, root %q, boot %q, done %v\n%s", err, rep.RootSource, rep.BootSource, rep.Done, out)
	}
	p := rep.Proof
	if why := p.Verdict(nil, true); why != "" {
		t.Fatalf("Verdict() = %s\n%s", why, out)
	}
	img, err := png.Decode(bytes.NewReader(p.PNG))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 480 {
		t.Errorf("frame is %dx%d, want QEMU's 640x480", b.Dx(), b.Dy())
	}
	if !strings.Contains(string(out), fmt.Sprintf("on 127.0.0.1:%d: 640x480", port)) {
		t.Errorf("the driver did not say which VNC server it used:\n%s", out)
	}
}

// freeVNCPort returns a TCP port from 5910 to 5999 that nothing listens on.
func freeVNCPort(t *testing.T) int {
	for p := 5910; p < 6000; p++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no free port in 5910-5999 for QEMU's VNC server")
	return 0
}
