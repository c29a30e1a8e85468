// Package plan holds xenify's plan: a pure value listing every change a
// conversion makes, each with a reason. Building a plan never touches the
// guest; package apply is the only consumer that writes.
//
// `xenify plan --json` prints exactly this value, and `xenify convert`
// executes exactly the operations it holds.
package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"

	"github.com/xenify/xenify/xen/domain"
)

// Kind is the kind of an operation.
type Kind string

const (
	// WriteFile creates or replaces a guest file with Content.
	WriteFile Kind = "write-file"
	// RemoveFile removes a guest file (e.g. a stale /etc/blkid.tab).
	RemoveFile Kind = "remove-file"
	// RunInGuest runs Argv chrooted into the guest. Touches lists the guest
	// paths the command may change; they are snapshotted in the journal
	// before it runs, so rollback can restore them.
	RunInGuest Kind = "run-in-guest"
	// CopyOut copies a guest file (Path) to a host file (HostPath), for
	// kernels booted directly from dom0.
	CopyOut Kind = "copy-out"
	// WriteHostFile writes Content to HostPath on the host (the domain
	// config). Host files are not part of the guest journal.
	WriteHostFile Kind = "write-host-file"
	// MergeBoot copies the separate /boot filesystem (Path) into the root
	// filesystem's own /boot directory, which it then shows in place of
	// the separate one. The root filesystem's /boot is journaled first.
	MergeBoot Kind = "merge-boot"
)

// Op is one change.
type Op struct {
	Step   string `json:"step"` // procedure step: "fstab", "kernel", "initrd", ...
	Kind   Kind   `json:"kind"`
	Reason string `json:"reason"`

	Path     string `json:"path,omitempty"`      // guest path
	HostPath string `json:"host_path,omitempty"` // host path

	// For WriteFile: the new content and its metadata. OldSHA256 is the
	// content the plan was made against ("" when the file did not exist);
	// apply refuses to overwrite a file that changed since.
	Content   string       `json:"content,omitempty"`
	Mode      *fs.FileMode `json:"mode,omitempty"` // nil: keep the file's mode (or 0644 when new)
	OldSHA256 string       `json:"old_sha256,omitempty"`
	Old       *string      `json:"-"` // old content, for diffs; nil when new
	// FromHost, for WriteFile, names a host file whose bytes are written
	// instead of Content (package files copied into the guest).
	FromHost string `json:"from_host,omitempty"`
	// FromGuest, for WriteFile, names a guest file to copy (keeping its
	// mode and owner), e.g. the previous initrd kept before a rebuild.
	FromGuest string `json:"from_guest,omitempty"`
	// Append, for WriteFile, is appended to the file's current content
	// (which must still hash to OldSHA256): the initrd layer of
	// --initrd append. The journal keeps the whole original.
	Append []byte `json:"append,omitempty"`

	// For RunInGuest.
	Argv    []string `json:"argv,omitempty"`
	Touches []string `json:"touches,omitempty"`
	// Manual marks a guest command the user asked to run by hand
	// (--skip-guest-commands): apply prints it instead of running it.
	Manual bool `json:"manual,omitempty"`
}

// Plan is the whole conversion.
type Plan struct {
	Source   string   `json:"source"`
	Guest    Summary  `json:"guest"`
	Ops      []Op     `json:"ops"`
	Warnings []string `json:"warnings,omitempty"`
	// Later lists steps that can only be planned after this plan's guest
	// commands have run (e.g. the boot entry for a kernel yum will pick).
	// convert re-inspects and plans them in a further pass.
	Later []string `json:"later,omitempty"`
	// Domain is the domain configuration and Config its rendering.
	Domain     *domain.Config `json:"domain,omitempty"`
	ConfigText string         `json:"config_text,omitempty"`
	ConfigPath string         `json:"config_path,omitempty"`
	Toolstack  string         `json:"toolstack,omitempty"`
	// DevMap is the device map the plan uses.
	DevMap *DevMap `json:"devmap,omitempty"`
}

// Summary is what the plan was made for, in a few words.
type Summary struct {
	Distro  string `json:"distro"`
	Version string `json:"version"`
	Arch    string `json:"arch"`
	Kernel  string `json:"kernel,omitempty"` // the domU kernel to boot
	// Type is the guest type (pv, pvh, pvh-shim) and Boot the boot path
	// (pygrub, pvgrub, direct), each with why it was chosen.
	Type       string `json:"type,omitempty"`
	TypeReason string `json:"type_reason,omitempty"`
	Boot       string `json:"boot,omitempty"`
	BootReason string `json:"boot_reason,omitempty"`
}

// Hash returns the hex SHA-256 of data, as used in OldSHA256.
func Hash(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// Empty reports whether the plan changes nothing in the guest.
func (p *Plan) Empty() bool {
	for _, op := range p.Ops {
		if op.Kind != WriteHostFile {
			return false
		}
	}
	return len(p.Later) == 0
}

// GuestOps returns the ops that change the guest.
func (p *Plan) GuestOps() []Op {
	var ops []Op
	for _, op := range p.Ops {
		if op.Kind != WriteHostFile && op.Kind != CopyOut {
			ops = append(ops, op)
		}
	}
	return ops
}

// String describes the op in one line.
func (op Op) String() string {
	switch op.Kind {
	case WriteFile:
		if op.Append != nil {
			return "append to " + op.Path
		}
		return "write " + op.Path
	case RemoveFile:
		return "remove " + op.Path
	case RunInGuest:
		return "run " + strings.Join(op.Argv, " ")
	case CopyOut:
		return "copy " + op.Path + " to " + op.HostPath
	case WriteHostFile:
		return "write " + op.HostPath
	case MergeBoot:
		return "copy the separate " + op.Path + " into the root filesystem"
	}
	return string(op.Kind)
}
