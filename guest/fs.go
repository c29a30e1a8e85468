package guest

import (
	"io/fs"
	"strings"
)

// FS returns an fs.FS view of the guest root. Names are fs.FS style
// ("etc/fstab"); symlinks resolve inside the root.
func (r *Root) FS() fs.FS { return rootFS{r} }

type rootFS struct{ r *Root }

func pathToFS(p string) string { return strings.TrimPrefix(clean(p), "/") }

func fsToPath(name string) string { return "/" + name }

func (f rootFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	file, err := f.r.OpenFile(fsToPath(name))
	if err != nil {
		return nil, err
	}
	return file, nil
}

func (f rootFS) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: fs.ErrInvalid}
	}
	return f.r.ReadFile(fsToPath(name))
}

func (f rootFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	return f.r.ReadDir(fsToPath(name))
}

func (f rootFS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	return f.r.Stat(fsToPath(name))
}
