package apply

import (
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/xenify/xenify/apply/journal"
	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/plan"
)

// mergeBoot copies the separate /boot (op.Path as mounted in root) into
// the root filesystem's own /boot directory, making it an exact copy
// (what the hidden directory held before is journaled and replaced), and
// then shows it in place of the separate /boot, so the ops after it read
// and write the merged /boot.
//
// Rollback restores the root filesystem's /boot from the journal record,
// taken in the root-filesystem view; the separate /boot is only read.
func mergeBoot(root *guest.Root, j *journal.Journal, op plan.Op, opts Options) error {
	if opts.RootFS == nil || opts.ShowRootBoot == nil {
		return errors.New("merging /boot needs the root filesystem alone, which only a disk source provides; convert with --keep-boot")
	}
	dst := opts.RootFS
	// Lstat: a link there could point anywhere in the guest, and what
	// it names would be emptied.
	if st, err := dst.Lstat(op.Path); err != nil || !st.IsDir() {
		return fmt.Errorf("the root filesystem's %s is not a directory (the mount point of the separate %s); convert with --keep-boot", op.Path, op.Path)
	}
	if err := j.RecordTreesIn(journal.ViewRootFS, op.Step, op.Reason, []string{op.Path}); err != nil {
		return err
	}
	ents, err := dst.ReadDir(op.Path)
	if err != nil {
		return err
	}
	for _, d := range ents {
		if err := journal.RemoveAll(dst, path.Join(op.Path, d.Name())); err != nil {
			return err
		}
	}
	if err := copyTree(root, dst, op.Path, true); err != nil {
		return fmt.Errorf("copying %s into the root filesystem: %w", op.Path, err)
	}
	return opts.ShowRootBoot()
}

// copyTree copies directory p of src onto the existing directory p of
// dst: files, symlinks and directories with their metadata (mode, owner,
// SELinux label). The top directory's lost+found belongs to its
// filesystem and is not copied.
func copyTree(src, dst *guest.Root, p string, top bool) error {
	ents, err := src.ReadDir(p)
	if err != nil {
		return err
	}
	for _, d := range ents {
		c := path.Join(p, d.Name())
		if top && d.Name() == "lost+found" {
			continue
		}
		meta, err := src.Meta(c)
		if err != nil {
			return err
		}
		switch {
		case meta.Mode.IsDir():
			if err := dst.Mkdir(c, meta); err != nil {
				return err
			}
			if err := copyTree(src, dst, c, false); err != nil {
				return err
			}
		case meta.Mode&fs.ModeSymlink != 0:
			target, err := src.Readlink(c)
			if err != nil {
				return err
			}
			if err := dst.Symlink(target, c, meta); err != nil {
				return err
			}
		case meta.Mode.IsRegular():
			data, err := src.ReadFile(c)
			if err != nil {
				return err
			}
			if err := dst.WriteFile(c, data, meta); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s is neither file, directory nor symlink", c)
		}
		if err := keepModTime(src, dst, c); err != nil {
			return err
		}
	}
	// Directories last, so copying their contents did not change them.
	meta, err := src.Meta(p)
	if err != nil {
		return err
	}
	if err := dst.SetMeta(p, meta); err != nil {
		return err
	}
	return keepModTime(src, dst, p)
}

// keepModTime gives dst's p the modification time of src's p: rpm -V
// checks it for the kernel packages' files in /boot.
func keepModTime(src, dst *guest.Root, p string) error {
	st, err := src.Lstat(p)
	if err != nil {
		return err
	}
	return dst.SetModTime(p, st.ModTime())
}
