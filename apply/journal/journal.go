// Package journal records the original state of everything a conversion
// changes, inside the guest, before it is changed; Rollback reads it back.
//
// The journal lives in the guest at /var/lib/xenify, so rollback works
// from any machine that can see the guest's disks. Each original file is
// stored once by content hash under blobs/; journal.json lists records in
// the order they were taken and is replaced atomically after each one.
// Rollback replays the records newest first, so a path recorded twice (a
// convert that was interrupted and re-run) ends at its oldest state: the
// state before xenify first touched it.
package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/xerr"
)

// Dir is the journal's directory inside the guest.
const Dir = "/var/lib/xenify"

const file = Dir + "/journal.json"
const blobDir = Dir + "/blobs"

// Entry is the recorded state of one path.
type Entry struct {
	Path    string     `json:"path"`
	Existed bool       `json:"existed"`
	Meta    guest.Meta `json:"meta,omitempty"`
	Blob    string     `json:"blob,omitempty"` // sha256 of the content, for regular files
	Link    string     `json:"link,omitempty"` // target, for symlinks
	// MTime is the modification time (Unix ns): rpm -V compares it, so
	// rollback restores it too (0 in journals from before it was kept).
	MTime int64 `json:"mtime_ns,omitempty"`
	// ParentMTime is the directory's modification time, for single-file
	// records: writing or removing the file changes it.
	ParentMTime int64 `json:"parent_mtime_ns,omitempty"`
}

// Record is one journaled step: a single file before a write or removal,
// or a whole set of trees before a guest command ran.
type Record struct {
	Seq    int       `json:"seq"`
	Time   time.Time `json:"time"`
	Step   string    `json:"step"`
	Reason string    `json:"reason"`
	// Trees are the roots (or glob patterns) a guest command may touch.
	// Entries list everything below them; on rollback anything below a
	// tree that is not in Entries is removed.
	Trees   []string `json:"trees,omitempty"`
	Entries []Entry  `json:"entries"`
	// View names the view of the guest the record was taken in ("" is
	// the guest as mounted; ViewRootFS the root filesystem alone).
	View string `json:"view,omitempty"`
}

// ViewRootFS is the root filesystem alone, without the filesystems
// mounted below it: where a separate /boot is merged into the root
// filesystem's own /boot directory.
const ViewRootFS = "rootfs"

// Journal is the on-disk journal of one guest.
type Journal struct {
	Version int      `json:"version"`
	Records []Record `json:"records"`
	// CreatedDirs are directories xenify made for itself (the journal's
	// own parents), removed last on rollback.
	CreatedDirs []string `json:"created_dirs,omitempty"`

	root  *guest.Root
	views map[string]*guest.Root
	now   func() time.Time
}

// SetView makes a further view of the guest known, for recording in it
// (RecordTreesIn) and for rolling back records taken in it.
func (j *Journal) SetView(name string, r *guest.Root) {
	if j.views == nil {
		j.views = map[string]*guest.Root{}
	}
	j.views[name] = r
}

// in returns the root a record's paths are relative to.
func (j *Journal) in(view string) (*guest.Root, error) {
	if view == "" {
		return j.root, nil
	}
	if r := j.views[view]; r != nil {
		return r, nil
	}
	return nil, &xerr.Refused{Msg: fmt.Sprintf("the journal has changes made on the view %q of the guest (the root filesystem alone), which this source does not provide", view),
		Fix: "open the guest from its disks (image or block devices), as convert did"}
}

// Open loads the guest's journal, or starts an empty one (nothing is
// written until the first record).
func Open(root *guest.Root) (*Journal, error) {
	j := &Journal{Version: 1, root: root, now: time.Now}
	data, err := root.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading journal: %w", err)
	}
	if err := json.Unmarshal(data, j); err != nil {
		return nil, fmt.Errorf("reading journal %s: %w (the journal is damaged; do not run convert again before restoring it)", file, err)
	}
	if j.Version != 1 {
		return nil, fmt.Errorf("journal %s has version %d; this xenify reads version 1", file, j.Version)
	}
	return j, nil
}

// Exists reports whether the guest has a journal.
func Exists(root *guest.Root) bool { return root.Exists(file) }

// Empty reports whether nothing has been recorded.
func (j *Journal) Empty() bool { return len(j.Records) == 0 }

func (j *Journal) ensureDir() error {
	if j.root.IsFile(file) {
		return nil
	}
	// The journal must be a real directory of the guest: through a link
	// it could land anywhere in the guest, and rollback could not remove
	// it cleanly.
	for _, d := range []string{"/var", "/var/lib", Dir} {
		if st, err := j.root.Lstat(d); err == nil && st.Mode()&fs.ModeSymlink != 0 && d == Dir {
			return &xerr.Refused{Path: Dir, Msg: "is a symlink; xenify keeps its journal only in a real directory of the guest", Fix: "remove the link in the guest and run convert again"}
		}
	}
	created, err := j.root.MkdirAll(blobDir)
	if err != nil {
		return fmt.Errorf("creating journal directory: %w", err)
	}
	j.CreatedDirs = append(j.CreatedDirs, created...)
	return nil
}

func (j *Journal) save() error {
	data, err := json.MarshalIndent(j, "", " ")
	if err != nil {
		return err
	}
	return j.root.WriteFile(file, append(data, '\n'), guest.Meta{Mode: 0o600})
}

// storeBlob saves content under its hash (once).
func (j *Journal) storeBlob(data []byte) (string, error) {
	h := plan.Hash(data)
	p := blobDir + "/" + h
	if j.root.IsFile(p) {
		return h, nil
	}
	if err := j.root.WriteFile(p, data, guest.Meta{Mode: 0o600}); err != nil {
		return "", fmt.Errorf("saving original content: %w", err)
	}
	return h, nil
}

// snapshot records the state of p itself (not following a final symlink).
func (j *Journal) snapshot(r *guest.Root, p string) (Entry, error) {
	a, err := r.ResolveAt(p, false)
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{Path: p}, nil
	}
	if err != nil {
		return Entry{}, err
	}
	defer a.Close()
	e, err := j.snapshotAt(a)
	e.Path = p
	return e, err
}

// snapshotAt records the state of what a names, through a alone: type,
// metadata and content are those of one file, whatever the tree does.
func (j *Journal) snapshotAt(a *guest.At) (Entry, error) {
	p := a.Path()
	st, err := a.Lstat()
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{Path: p}, nil
	}
	if err != nil {
		return Entry{}, err
	}
	meta, err := a.Meta()
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Path: p, Existed: true, Meta: meta, MTime: st.ModTime().UnixNano()}
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		e.Link, err = a.Readlink()
	case st.Mode().IsRegular():
		var data []byte
		data, err = a.ReadFile()
		if err == nil {
			e.Blob, err = j.storeBlob(data)
		}
	case st.IsDir():
	default:
		err = fmt.Errorf("%s is neither file, directory nor symlink; xenify does not change such files", p)
	}
	return e, err
}

// RecordFile journals the file a write to p would change: the final
// target of p if p is a symlink. It returns that canonical path.
func (j *Journal) RecordFile(step, reason, p string) (string, error) {
	a, err := j.root.ResolveAt(p, true)
	if err != nil {
		return "", err
	}
	defer a.Close()
	return a.Path(), j.RecordAt(step, reason, a)
}

// RecordAt journals what a names before it is written or removed. The
// caller then writes or removes through the same a, so the record and
// the change are of one file.
func (j *Journal) RecordAt(step, reason string, a *guest.At) error {
	if err := j.ensureDir(); err != nil {
		return err
	}
	e, err := j.snapshotAt(a)
	if err != nil {
		return fmt.Errorf("journaling %s: %w", a.Path(), err)
	}
	e.ParentMTime = a.DirModTime()
	j.append(Record{Step: step, Reason: reason, Entries: []Entry{e}})
	return j.save()
}

// RecordRemoval journals p itself before it is removed.
func (j *Journal) RecordRemoval(step, reason, p string) error {
	a, err := j.root.ResolveAt(p, false)
	if err != nil {
		return err
	}
	defer a.Close()
	return j.RecordAt(step, reason, a)
}

// RecordTrees journals every path below the given roots (glob patterns
// allowed) before a guest command that may change them.
func (j *Journal) RecordTrees(step, reason string, trees []string) error {
	return j.RecordTreesIn("", step, reason, trees)
}

// RecordTreesIn is RecordTrees in a view set with SetView. The saved
// contents go to the journal in the guest as mounted.
func (j *Journal) RecordTreesIn(view, step, reason string, trees []string) error {
	r, err := j.in(view)
	if err != nil {
		return err
	}
	if err := j.ensureDir(); err != nil {
		return err
	}
	rec := Record{Step: step, Reason: reason, Trees: trees, View: view}
	for _, t := range trees {
		matches, err := expand(r, t)
		if err != nil {
			return err
		}
		for _, m := range matches {
			err := j.walk(r, m, func(e Entry) { rec.Entries = append(rec.Entries, e) })
			if err != nil {
				return fmt.Errorf("journaling %s: %w", m, err)
			}
		}
	}
	j.append(rec)
	return j.save()
}

// expand returns the paths a tree pattern names now. A plain path names
// itself whether or not it exists.
func expand(r *guest.Root, pattern string) ([]string, error) {
	if !strings.ContainsAny(pattern, "*?[") {
		return []string{pattern}, nil
	}
	return r.Glob(pattern)
}

func (j *Journal) walk(r *guest.Root, p string, visit func(Entry)) error {
	e, err := j.snapshot(r, p)
	if err != nil {
		return err
	}
	visit(e)
	if !e.Existed || !e.Meta.Mode.IsDir() {
		return nil
	}
	ents, err := r.ReadDir(p)
	if err != nil {
		return err
	}
	for _, d := range ents {
		if err := j.walk(r, path.Join(p, d.Name()), visit); err != nil {
			return err
		}
	}
	return nil
}

func (j *Journal) append(r Record) {
	r.Seq = len(j.Records) + 1
	r.Time = j.now().UTC()
	j.Records = append(j.Records, r)
}

// Rollback restores every journaled path, newest record first, then
// removes the journal. It stops at the first error, leaving the journal in
// place so rollback can be run again.
func (j *Journal) Rollback(progress func(Record)) error {
	for i := len(j.Records) - 1; i >= 0; i-- {
		rec := j.Records[i]
		if progress != nil {
			progress(rec)
		}
		if err := j.restoreRecord(rec); err != nil {
			return fmt.Errorf("rolling back step %d (%s): %w", rec.Seq, rec.Step, err)
		}
	}
	return j.remove()
}

func (j *Journal) restoreRecord(rec Record) error {
	r, err := j.in(rec.View)
	if err != nil {
		return err
	}
	if len(rec.Trees) > 0 {
		// Remove what the command created below its trees, deepest first.
		known := map[string]bool{}
		for _, e := range rec.Entries {
			if e.Existed {
				known[e.Path] = true
			}
		}
		var now []string
		for _, t := range rec.Trees {
			matches, err := expand(r, t)
			if err != nil {
				return err
			}
			for _, m := range matches {
				walkPaths(r, m, func(p string) { now = append(now, p) })
			}
		}
		sort.Slice(now, func(a, b int) bool { return strings.Count(now[a], "/") > strings.Count(now[b], "/") })
		for _, p := range now {
			if !known[p] {
				if err := removeAll(r, p); err != nil {
					return err
				}
			}
		}
	}
	// Restore recorded entries parents first.
	ents := append([]Entry(nil), rec.Entries...)
	sort.SliceStable(ents, func(a, b int) bool { return strings.Count(ents[a].Path, "/") < strings.Count(ents[b].Path, "/") })
	for _, e := range ents {
		if err := j.restore(r, e); err != nil {
			return fmt.Errorf("restoring %s: %w", e.Path, err)
		}
	}
	// Directory times last, deepest first: restoring what is inside a
	// directory changes its modification time.
	for i := len(ents) - 1; i >= 0; i-- {
		if e := ents[i]; e.Meta.Mode.IsDir() {
			restoreModTime(r, e)
		}
	}
	return nil
}

// restoreModTime gives e.Path its recorded modification time back. It is
// best effort: a time it cannot set must not stop a rollback that has
// restored contents, modes and owners.
func restoreModTime(r *guest.Root, e Entry) {
	if !e.Existed || e.MTime == 0 {
		return
	}
	if st, err := r.Lstat(e.Path); err != nil || st.ModTime().UnixNano() == e.MTime {
		return
	}
	_ = r.SetModTime(e.Path, time.Unix(0, e.MTime))
}

func walkPaths(r *guest.Root, p string, visit func(string)) {
	st, err := r.Lstat(p)
	if err != nil {
		return
	}
	visit(p)
	if !st.IsDir() {
		return
	}
	ents, err := r.ReadDir(p)
	if err != nil {
		return
	}
	for _, d := range ents {
		walkPaths(r, path.Join(p, d.Name()), visit)
	}
}

// RemoveAll removes p and everything below it, through the resolver.
func RemoveAll(r *guest.Root, p string) error {
	return removeAll(r, p)
}

func removeAll(r *guest.Root, p string) error {
	st, err := r.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.IsDir() {
		ents, err := r.ReadDir(p)
		if err != nil {
			return err
		}
		for _, d := range ents {
			if err := removeAll(r, path.Join(p, d.Name())); err != nil {
				return err
			}
		}
	}
	return r.Remove(p)
}

func (j *Journal) restore(r *guest.Root, e Entry) error {
	if err := j.restoreContent(r, e); err != nil {
		return err
	}
	if !e.Meta.Mode.IsDir() {
		// A directory's own time waits for its contents (restoreRecord).
		restoreModTime(r, e)
	}
	restoreModTime(r, Entry{Path: path.Dir(e.Path), Existed: true, MTime: e.ParentMTime})
	return nil
}

// restoreContent restores e's content and metadata.
func (j *Journal) restoreContent(r *guest.Root, e Entry) error {
	if !e.Existed {
		return removeAll(r, e.Path)
	}
	cur, _ := snapshotNoStore(r, e.Path)
	switch {
	case e.Meta.Mode&fs.ModeSymlink != 0:
		if cur.Existed && cur.Link == e.Link && cur.Meta == e.Meta {
			return nil
		}
		if cur.Existed && cur.Meta.Mode.IsDir() {
			if err := removeAll(r, e.Path); err != nil {
				return err
			}
		}
		return r.Symlink(e.Link, e.Path, e.Meta)
	case e.Meta.Mode.IsDir():
		if !cur.Existed || !cur.Meta.Mode.IsDir() {
			if cur.Existed {
				if err := r.Remove(e.Path); err != nil {
					return err
				}
			}
			return r.Mkdir(e.Path, e.Meta)
		}
		if cur.Meta != e.Meta {
			return r.SetMeta(e.Path, e.Meta)
		}
		return nil
	default:
		data, err := j.root.ReadFile(blobDir + "/" + e.Blob)
		if err != nil {
			return fmt.Errorf("reading saved content: %w", err)
		}
		if plan.Hash(data) != e.Blob {
			return fmt.Errorf("saved content %s is damaged (hash mismatch)", e.Blob)
		}
		if cur.Existed && cur.Blob == e.Blob && cur.Meta == e.Meta {
			return nil
		}
		if cur.Existed && (cur.Meta.Mode&fs.ModeSymlink != 0 || cur.Meta.Mode.IsDir()) {
			if err := removeAll(r, e.Path); err != nil {
				return err
			}
		}
		return r.WriteFile(e.Path, data, e.Meta)
	}
}

// snapshotNoStore is snapshot without saving a blob (for comparisons).
func snapshotNoStore(r *guest.Root, p string) (Entry, error) {
	st, err := r.Lstat(p)
	if err != nil {
		return Entry{Path: p}, err
	}
	meta, err := r.Meta(p)
	if err != nil {
		return Entry{Path: p}, err
	}
	e := Entry{Path: p, Existed: true, Meta: meta}
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		e.Link, _ = r.Readlink(p)
	case st.Mode().IsRegular():
		if data, err := r.ReadFile(p); err == nil {
			e.Blob = plan.Hash(data)
		}
	}
	return e, nil
}

// remove deletes the journal and the directories xenify created for it.
func (j *Journal) remove() error {
	if err := removeAll(j.root, Dir); err != nil {
		return fmt.Errorf("removing journal: %w", err)
	}
	for i := len(j.CreatedDirs) - 1; i >= 0; i-- {
		d := j.CreatedDirs[i]
		if d == Dir || strings.HasPrefix(d, Dir+"/") {
			continue
		}
		if err := j.root.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", d, err)
		}
	}
	j.Records = nil
	return nil
}
