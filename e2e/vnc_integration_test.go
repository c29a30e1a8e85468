package e2e

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
)

// TestIntegrationVNCQEMU captures a frame from a real QEMU's VNC server
// with the dom0 driver's client (dom0/driver/vnc.py), the same server
// code qemu-system-xen runs for a vfb: a paused machine with a standard
// VGA shows QEMU's own "Guest has not initialized the display" text on
// 640x480. The frame must come back through the serial encoding
// (ParseProof), decode, and not be blank.
func TestIntegrationVNCQEMU(t *testing.T) {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		testenv.Skipf(t, "needs qemu-system-x86_64 (qemu-system-x86): %v", err)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Skipf(t, "needs python3: %v", err)
	}
	sock := filepath.Join(t.TempDir(), "vnc.sock")
	q := exec.Command(qemu, "-nodefaults", "-vga", "std", "-display", "none", "-vnc", "unix:"+sock,
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
	// The client waits (up to 60 s) for QEMU to create the socket.
	const script = `import os, socket, sys, time, vnc
path = sys.argv[1]
for _ in range(600):
    if os.path.exists(path):
        break
    time.sleep(0.1)
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(path)
w, h, rgb = vnc.capture(s)
vnc.emit(vnc.png(w, h, rgb), w, h, pause=0)
`
	c := exec.Command(py, "-c", script, sock)
	c.Dir, c.Env = "dom0/driver", append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("vnc.py against QEMU: %v\n%s\nqemu: %s", err, stderr.Bytes(), qout.Bytes())
	}
	p, err := ParseProof(bytes.NewReader(out))
	if err != nil || p.PNG == nil {
		t.Fatalf("ParseProof = %v (%s)", err, p.PNGErr)
	}
	img, err := png.Decode(bytes.NewReader(p.PNG))
	if err != nil {
		t.Fatalf("decoding the frame: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 480 {
		t.Errorf("frame is %dx%d, want QEMU's 640x480", b.Dx(), b.Dy())
	}
	if why := FrameBlank(img); why != "" {
		t.Errorf("%s", why)
	}
}
