package e2e

import (
	"archive/tar"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"time"
)

// driver is the dom0 side of a run (dom0/driver/run, console-driver.py),
// shipped in every job: dom0's image only unpacks the job and runs it
// (dom0/xenify-e2e-boot), so the driver changes without a dom0 rebuild.
//
//go:embed dom0/driver
var driver embed.FS

// Job is what the dom0 driver reads from the job disk (dom0/driver).
type Job struct {
	Name     string `json:"name"`     // domain name, from the config
	Config   string `json:"config"`   // path of the domain config in dom0
	Password string `json:"password"` // guest root password, from the recipe
	Timeout  int    `json:"timeout"`  // seconds from xl create to the findmnt result
	// VGs are the LVM volume groups on the guest disk that dom0 activates
	// (vgchange -ay) before xl create, for a config that names /dev/VG/LV.
	VGs []string `json:"vgs,omitempty"`
	// VNC asks the console driver for the framebuffer proof after login
	// (dom0/driver/vnc.py): the driver of /dev/fb0 and a VNC frame.
	VNC bool `json:"vnc,omitempty"`
	// HostChecks are the xenify host-check runs dom0 makes before xl
	// create (dom0/driver/hostcheck.py); they need Extras.Xenify.
	HostChecks []HostCheckCase `json:"hostchecks,omitempty"`
}

// jobDir is where dom0 unpacks the job tar.
const jobDir = "/run/xenify-e2e"

// WriteJob writes the job disk: a raw tar holding the driver (driver/),
// job.json, the domain config (domain.cfg) and, under files/, each host file the config names by
// absolute path, which dom0 copies to the same path. vgs are the volume
// groups dom0 activates first. Extras (at most one; proof.go) add the
// host-check runs, their configs and the xenify binary (bin/xenify), and
// the framebuffer proof.
func WriteJob(w io.Writer, name, password string, timeout time.Duration, cfg []byte, files, vgs []string, extras ...Extras) error {
	j := Job{Name: name, Config: jobDir + "/domain.cfg", Password: password, Timeout: int(timeout.Seconds()), VGs: vgs}
	var ex Extras
	if len(extras) > 0 {
		ex = extras[0]
	}
	j.VNC = ex.VNC
	for _, c := range ex.HostChecks {
		c.Config = jobDir + "/" + c.file
		j.HostChecks = append(j.HostChecks, c)
	}
	job, err := json.Marshal(j)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	add := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			return fmt.Errorf("writing job %s: %w", name, err)
		}
		if _, err := io.Copy(tw, r); err != nil {
			return fmt.Errorf("writing job %s: %w", name, err)
		}
		return nil
	}
	ents, err := driver.ReadDir("dom0/driver")
	if err != nil {
		return err
	}
	for _, e := range ents {
		data, err := driver.ReadFile("dom0/driver/" + e.Name())
		if err != nil {
			return err
		}
		if err := add("driver/"+e.Name(), int64(len(data)), bytes.NewReader(data)); err != nil {
			return err
		}
	}
	if err := add("job.json", int64(len(job)), bytes.NewReader(job)); err != nil {
		return err
	}
	if err := add("domain.cfg", int64(len(cfg)), bytes.NewReader(cfg)); err != nil {
		return err
	}
	for _, c := range ex.HostChecks {
		if c.cfg == nil {
			continue // the job's own domain.cfg
		}
		if err := add(c.file, int64(len(c.cfg)), bytes.NewReader(c.cfg)); err != nil {
			return err
		}
	}
	if ex.Xenify != "" {
		if err := addFile(add, "bin/xenify", ex.Xenify); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := addFile(add, path.Join("files", path.Clean(f)), f); err != nil {
			return fmt.Errorf("domain config names %s: %w", f, err)
		}
	}
	return tw.Close()
}

// addFile adds the host file f to a job as name.
func addFile(add func(string, int64, io.Reader) error, name, f string) error {
	fh, err := os.Open(f)
	if err != nil {
		return err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return err
	}
	return add(name, st.Size(), fh)
}
