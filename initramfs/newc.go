package initramfs

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// Member is one member to write into a newc archive.
type Member struct {
	// Path is the member's name, relative ("lib/xenblk.ko").
	Path string
	// Mode is the raw st_mode: file type and permission bits.
	Mode uint32
	// Data is a regular file's contents or a symbolic link's target.
	Data []byte
}

// Dir, File and Symlink make members of each type.
func Dir(p string, perm uint32) Member { return Member{Path: p, Mode: modeDir | perm&0o7777} }
func File(p string, data []byte, perm uint32) Member {
	return Member{Path: p, Mode: modeRegular | perm&0o7777, Data: data}
}
func Symlink(p, target string) Member {
	return Member{Path: p, Mode: modeSymlink | 0o777, Data: []byte(target)}
}

// WriteNewc returns a "newc" (070701) cpio archive of the members, in
// the order given, followed by the trailer. The output depends only on
// the members: owner root, modification time 0, one link each and inode
// numbers counted from 1, so that writing the same members twice gives
// the same bytes. Members with nlink 1 are never hard-linked by the
// kernel's unpacker, whatever their inode numbers.
func WriteNewc(members []Member) ([]byte, error) {
	var b bytes.Buffer
	add := func(ino int, m Member) {
		nlink := 1
		if m.Mode&modeType == modeDir {
			nlink = 2
		}
		fmt.Fprintf(&b, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, m.Mode, 0, 0, nlink, 0, len(m.Data), 0, 0, 0, 0, len(m.Path)+1, 0)
		b.WriteString(m.Path)
		b.WriteByte(0)
		pad4(&b)
		b.Write(m.Data)
		pad4(&b)
	}
	for i, m := range members {
		p := cleanPath(m.Path)
		if p == "" || p != m.Path || strings.Contains(p, "\x00") || p == "TRAILER!!!" || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
			return nil, fmt.Errorf("cpio member name %q: want a clean relative path", m.Path)
		}
		switch m.Mode & modeType {
		case modeDir:
			if len(m.Data) > 0 {
				return nil, fmt.Errorf("cpio member %s: a directory has no data", m.Path)
			}
		case modeRegular, modeSymlink:
		default:
			return nil, fmt.Errorf("cpio member %s: mode %#o: only directories, regular files and symbolic links", m.Path, m.Mode)
		}
		add(i+1, m)
	}
	add(0, Member{Path: "TRAILER!!!"})
	return b.Bytes(), nil
}

func pad4(b *bytes.Buffer) {
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
}

// View is the tree the kernel ends up with after unpacking every archive
// of an initramfs in order (init/initramfs.c): a later member replaces an
// earlier one of the same name; a member of another type first removes
// what was there (clean_path); and the parent directories of a name are
// resolved through the symbolic links unpacked so far, as the kernel's
// open and mkdir do.
type View struct {
	files map[string]viewFile // canonical path -> member
}

type viewFile struct {
	Entry
	data []byte
}

// maxLinks bounds symbolic link resolution, as the kernel's 40.
const maxLinks = 40

// NewView unpacks data, as the kernel would, into a View.
func NewView(data []byte) (*View, error) {
	v := &View{files: map[string]viewFile{}}
	err := walk(data, DefaultMaxView, func(e Entry, content []byte) bool {
		v.add(e, content)
		return true
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// DefaultMaxView caps the decompressed size NewView reads.
const DefaultMaxView = 1 << 30

func (v *View) add(e Entry, content []byte) {
	dir, base := splitPath(e.Path)
	parent, ok := v.resolveDir(dir, 0)
	if !ok {
		return // the kernel's open or mkdir fails: the member is lost
	}
	p := joinPath(parent, base)
	if old, ok := v.files[p]; ok && old.Mode&modeType != e.Mode&modeType {
		// clean_path: unlink (or rmdir) what has another type.
		if old.IsDir() {
			for q := range v.files {
				if strings.HasPrefix(q, p+"/") {
					return // rmdir of a non-empty directory fails; mkdir/open then fail too
				}
			}
		}
		delete(v.files, p)
	} else if ok && old.IsDir() {
		// mkdir fails (it exists); chown and chmod still apply.
		old.Mode = e.Mode
		v.files[p] = old
		return
	}
	e.Path = p
	v.files[p] = viewFile{Entry: e, data: content}
}

// resolveDir resolves a directory path, following symbolic links in
// every component. ok is false when a component is missing or not a
// directory.
func (v *View) resolveDir(p string, depth int) (string, bool) {
	if p == "" {
		return "", true
	}
	cur := ""
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			cur, _ = splitPath(cur)
			continue
		}
		next := joinPath(cur, c)
		f, ok := v.files[next]
		if !ok {
			return "", false
		}
		if f.IsSymlink() {
			if depth >= maxLinks {
				return "", false
			}
			target := string(f.data)
			if !strings.HasPrefix(target, "/") {
				target = joinPath(cur, target)
			}
			r, ok := v.resolveDir(cleanPath(target), depth+1)
			if !ok {
				return "", false
			}
			cur = r
			continue
		}
		if !f.IsDir() {
			return "", false
		}
		cur = next
	}
	return cur, true
}

// Resolve returns the canonical path name refers to in the view: its
// parent directories resolved through symbolic links, the last component
// kept as is. ok is false when a parent is missing.
func (v *View) Resolve(name string) (string, bool) {
	dir, base := splitPath(cleanPath(name))
	parent, ok := v.resolveDir(dir, 0)
	if !ok {
		return "", false
	}
	return joinPath(parent, base), true
}

// ResolveDir returns the canonical path of directory name, following
// symbolic links. ok is false when it does not exist as a directory.
func (v *View) ResolveDir(name string) (string, bool) {
	return v.resolveDir(cleanPath(name), 0)
}

// Lstat returns the member at name (parents resolved, the last component
// not followed).
func (v *View) Lstat(name string) (Entry, bool) {
	p, ok := v.Resolve(name)
	if !ok {
		return Entry{}, false
	}
	f, ok := v.files[p]
	return f.Entry, ok
}

// ReadFile returns the contents of the regular file at name, following
// a symbolic link at the last component too.
func (v *View) ReadFile(name string) ([]byte, bool) {
	p, ok := v.Resolve(name)
	for i := 0; ok && i < maxLinks; i++ {
		f, found := v.files[p]
		if !found {
			return nil, false
		}
		if f.IsRegular() {
			return f.data, true
		}
		if !f.IsSymlink() {
			return nil, false
		}
		target := string(f.data)
		if !strings.HasPrefix(target, "/") {
			dir, _ := splitPath(p)
			target = joinPath(dir, target)
		}
		p, ok = v.Resolve(target)
	}
	return nil, false
}

// Entries lists the view's members, sorted by path.
func (v *View) Entries() []Entry {
	out := make([]Entry, 0, len(v.files))
	for _, f := range v.files {
		out = append(out, f.Entry)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func splitPath(p string) (dir, base string) {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

func joinPath(dir, base string) string {
	if dir == "" {
		return base
	}
	return dir + "/" + base
}
