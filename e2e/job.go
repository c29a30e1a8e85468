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

// Guest is one guest a dom0 run boots, in turn with the others of the job.
type Guest struct {
	Label    string // marker label and table row, unique in the job
	Config   []byte // domain config; its disk already names GuestDiskPath of the guest's index
	Password string // guest root password, from the recipe
	// Timeout bounds one attempt, from xl create to the findmnt result.
	Timeout  time.Duration
	Attempts int      // boots tried while one fails (0 and 1: once)
	VGs      []string // volume groups dom0 activates on the guest's disk only
	Files    []string // host files the config names by absolute path
	// Extras are the guest's proof steps beyond the boot (proof.go):
	// host-check runs before xl create, the framebuffer after login.
	Extras Extras
}

// Job is what the dom0 driver reads from the job disk (dom0/driver).
type Job struct {
	Guests []JobGuest `json:"guests"`
}

// JobGuest is one guest of job.json, in boot order.
type JobGuest struct {
	Label    string `json:"label"`    // prefix of its markers and console lines
	Name     string `json:"name"`     // domain name, from the config
	Config   string `json:"config"`   // path of the domain config in dom0
	Disk     string `json:"disk"`     // its virtio disk in dom0 (GuestDiskPath)
	Password string `json:"password"` // guest root password, from the recipe
	Timeout  int    `json:"timeout"`  // seconds from xl create to the findmnt result, per attempt
	Attempts int    `json:"attempts"` // boots tried while one fails
	// VGs are the LVM volume groups on the guest's disk that dom0
	// activates (vgchange -ay, seeing that disk only) before xl create and
	// deactivates after the guest, for a config that names /dev/VG/LV.
	VGs []string `json:"vgs,omitempty"`
	// VNC asks the console driver for the framebuffer proof after login
	// (dom0/driver/vnc.py): /proc/fb and a VNC frame.
	VNC bool `json:"vnc,omitempty"`
	// HostChecks are the xenify host-check runs dom0 makes before the
	// guest's first xl create (dom0/driver/hostcheck.py), with the
	// xenify the job ships (bin/xenify, installed by driver/run).
	HostChecks []HostCheckCase `json:"hostchecks,omitempty"`
}

// jobDir is where dom0 unpacks the job tar.
const jobDir = "/run/xenify-e2e"

// WriteJob writes the job disk: a raw tar holding the driver (driver/),
// job.json, each guest's domain config (guests/LABEL.cfg) and, under
// files/, each host file a config names by absolute path, which dom0
// copies to the same path. Guest i boots from the disk GuestDiskPath(i).
// A guest's Extras add its host-check configs (guests/LABEL.CASE.cfg)
// and the xenify binary (bin/xenify, once; guests must name the same).
func WriteJob(w io.Writer, guests []Guest) error {
	var job Job
	var xenify string
	seen := map[string]bool{}
	for i, g := range guests {
		if g.Label == "" || path.Base(g.Label) != g.Label || seen[g.Label] {
			return fmt.Errorf("job guest %d: label %q is empty, not a plain name or not unique", i, g.Label)
		}
		seen[g.Label] = true
		name, err := ConfigName(g.Config)
		if err != nil {
			return fmt.Errorf("job guest %s: %w", g.Label, err)
		}
		jg := JobGuest{
			Label: g.Label, Name: name, Config: jobDir + "/guests/" + g.Label + ".cfg", Disk: GuestDiskPath(i),
			Password: g.Password, Timeout: int(g.Timeout.Seconds()), Attempts: max(g.Attempts, 1), VGs: g.VGs,
			VNC: g.Extras.VNC,
		}
		if x := g.Extras.Xenify; x != "" {
			if xenify != "" && xenify != x {
				return fmt.Errorf("job guest %s: xenify %s, another guest of the job ships %s", g.Label, x, xenify)
			}
			xenify = x
		}
		if len(g.Extras.HostChecks) > 0 && g.Extras.Xenify == "" {
			return fmt.Errorf("job guest %s: host-check cases without a xenify binary", g.Label)
		}
		for _, c := range g.Extras.HostChecks {
			c.Config = jg.Config
			if c.cfg != nil {
				c.Config = jobDir + "/" + hostCheckFile(g.Label, c.Name)
			}
			jg.HostChecks = append(jg.HostChecks, c)
		}
		job.Guests = append(job.Guests, jg)
	}
	js, err := json.Marshal(job)
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
	if err := add("job.json", int64(len(js)), bytes.NewReader(js)); err != nil {
		return err
	}
	files := map[string]bool{}
	for _, g := range guests {
		if err := add("guests/"+g.Label+".cfg", int64(len(g.Config)), bytes.NewReader(g.Config)); err != nil {
			return err
		}
		for _, c := range g.Extras.HostChecks {
			if c.cfg == nil {
				continue // the guest's own config
			}
			if err := add(hostCheckFile(g.Label, c.Name), int64(len(c.cfg)), bytes.NewReader(c.cfg)); err != nil {
				return err
			}
		}
		for _, f := range g.Files {
			// Guests may name the same file (pvgrub's GRUB image): once.
			if files[path.Clean(f)] {
				continue
			}
			files[path.Clean(f)] = true
			if err := addFile(add, path.Join("files", path.Clean(f)), f); err != nil {
				return fmt.Errorf("domain config names %s: %w", f, err)
			}
		}
	}
	if xenify != "" {
		if err := addFile(add, "bin/xenify", xenify); err != nil {
			return fmt.Errorf("xenify binary: %w", err)
		}
	}
	return tw.Close()
}

// hostCheckFile is the job's name of a guest's host-check config.
func hostCheckFile(label, name string) string {
	return "guests/" + label + "." + name + ".cfg"
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
