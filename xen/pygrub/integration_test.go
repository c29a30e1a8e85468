package pygrub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
)

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skipf(t, "%s not installed (Debian packages: fdisk e2fsprogs xfsprogs xen-utils-4.17)", tool)
		}
	}
}

func runCmd(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
}

// xfsProto writes an mkfs.xfs protofile that copies dir into the new
// filesystem (xfsprogs 6.1 has no directory import otherwise).
func xfsProto(t *testing.T, dir, protoPath string) {
	var b strings.Builder
	b.WriteString("/dev/null\n0 0\nd--755 0 0\n")
	var walk func(d string, depth int)
	walk = func(d string, depth int) {
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
		for _, e := range ents {
			p := filepath.Join(d, e.Name())
			ind := strings.Repeat(" ", depth)
			if e.IsDir() {
				fmt.Fprintf(&b, "%s%s d--755 0 0\n", ind, e.Name())
				walk(p, depth+1)
				fmt.Fprintf(&b, "%s$\n", ind)
			} else {
				fmt.Fprintf(&b, "%s%s ---644 0 0 %s\n", ind, e.Name(), p)
			}
		}
	}
	walk(dir, 1)
	b.WriteString("$\n")
	if err := os.WriteFile(protoPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// buildImage makes the variant's disk image without root: sfdisk on a
// file, mke2fs -d at an offset, mkfs.xfs -p into a file copied in.
// It returns the image path and the byte offset and tree dir of each
// partition (offset -1 for the extended container).
func buildImage(t *testing.T, v variant) (string, []int64, []string) {
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	var offs []int64
	var trees []string
	var script strings.Builder
	if v.table != "" {
		fmt.Fprintf(&script, "label: %s\n", v.table)
	}
	sector := int64(2048)
	total := int64(2048)
	for i, p := range v.parts {
		size := int64(p.sizeM)
		if size == 0 {
			size = 16
		}
		size *= 2048 // sectors
		num := i + 1
		typ := strings.TrimSuffix(p.mbr, ",*")
		boot := ""
		if strings.HasSuffix(p.mbr, ",*") {
			boot = ", bootable"
		}
		if typ == "5" {
			// An extended partition holding the next partition.
			next := int64(v.parts[i+1].sizeM)
			if next == 0 {
				next = 16
			}
			size = next*2048 + 2048
			fmt.Fprintf(&script, "disk.img%d : start=%d, size=%d, type=5\n", num, sector, size)
			offs = append(offs, sector*512)
			trees = append(trees, "")
			sector += 2048
			continue
		}
		if i > 0 && v.parts[i-1].mbr == "5" {
			num = 5
		}
		if v.table != "" {
			fmt.Fprintf(&script, "disk.img%d : start=%d, size=%d, type=%s%s\n", num, sector, size, typ, boot)
		}
		offs = append(offs, sector*512)
		tree := filepath.Join(dir, fmt.Sprintf("tree%d", i))
		writeTree(t, tree, p.files)
		trees = append(trees, tree)
		sector += size
		total = sector
	}
	if v.table == "" {
		offs[0] = 0
		total = int64(v.parts[0].sizeM+16) * 2048
	}
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, (total+4096)*512); err != nil {
		t.Fatal(err)
	}
	if v.table != "" {
		cmd := exec.Command("sfdisk", "-q", img)
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(script.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sfdisk: %v\n%s\n%s", err, out, script.String())
		}
	}
	for i, p := range v.parts {
		if trees[i] == "" {
			continue
		}
		sizeM := p.sizeM
		if sizeM == 0 {
			sizeM = 16
		}
		switch p.fs {
		case fsExt4:
			runCmd(t, "mke2fs", "-q", "-F", "-t", "ext4", "-E", fmt.Sprintf("offset=%d", offs[i]), "-d", trees[i], img, fmt.Sprintf("%dk", sizeM*1024))
		case fsXFS4, fsXFS5, fsXFS4F:
			part := filepath.Join(dir, fmt.Sprintf("xfs%d.img", i))
			if err := os.WriteFile(part, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(part, int64(sizeM)<<20); err != nil {
				t.Fatal(err)
			}
			proto := part + ".proto"
			xfsProto(t, trees[i], proto)
			args := []string{"-q", "-p", proto}
			switch p.fs {
			case fsXFS4:
				args = append(args, "-m", "crc=0", "-n", "ftype=0")
			case fsXFS4F:
				args = append(args, "-m", "crc=0", "-n", "ftype=1")
			}
			runCmd(t, "mkfs.xfs", append(args, part)...)
			runCmd(t, "dd", "if="+part, "of="+img, "bs=1M", fmt.Sprintf("seek=%d", offs[i]>>20), "conv=notrunc,sparse", "status=none")
		}
	}
	return img, offs, trees
}

// runPygrub runs the installed pygrub and returns stdout, stderr and
// the exit status.
func runPygrub(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(pygrubBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running pygrub: %v", err)
	}
	return stdout.String(), stderr.String(), code
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// observe runs the real pygrub three ways on an image.
func observe(t *testing.T, img string) golden {
	var g golden
	g.ListStdout, _, g.ListExit = runPygrub(t, "-q", "-n", "-l", img)
	outDir := t.TempDir()
	var stderr string
	_, stderr, g.CheckExit = runPygrub(t, "-q", "-n", "--output-format=simple", "--output-directory="+outDir, img)
	if g.CheckExit != 0 {
		g.CheckError = lastLine(stderr)
	}
	stdout, _, code := runPygrub(t, "-q", "--output-format=simple", "--output-directory="+outDir, img)
	g.BootExit = code
	if code == 0 {
		for _, l := range strings.Split(stdout, "\n") {
			k, v, _ := strings.Cut(l, " ")
			switch k {
			case "kernel", "ramdisk":
				b, err := os.ReadFile(v)
				if err != nil {
					t.Fatalf("reading pygrub's %s copy: %v", k, err)
				}
				if k == "kernel" {
					g.Kernel = string(b)
				} else {
					g.Ramdisk = string(b)
				}
			case "args":
				g.Args = v
			}
		}
	}
	return g
}

// TestIntegrationPygrubCorpus builds every corpus variant as a real disk
// image, runs the installed pygrub on it, and checks that the emulation
// (over the same trees, with offsets and readability from Candidates on
// the image) agrees. With -update it records pygrub's behaviour as
// golden files for TestPygrubCorpusGolden.
func TestIntegrationPygrubCorpus(t *testing.T) {
	needPygrub(t)
	needTools(t, "sfdisk", "mke2fs", "mkfs.xfs", "dd", pygrubBin)
	if err := os.MkdirAll(filepath.Join("testdata", "corpus"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range corpus(t) {
		t.Run(v.name, func(t *testing.T) {
			img, offs, trees := buildImage(t, v)
			g := observe(t, img)
			if *update {
				b, _ := json.MarshalIndent(g, "", "  ")
				if err := os.WriteFile(goldenPath(v.name), append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			} else if b, err := os.ReadFile(goldenPath(v.name)); err == nil {
				var old golden
				if err := json.Unmarshal(b, &old); err == nil {
					if diff := cmpGolden(old, g); diff != "" {
						t.Errorf("pygrub's behaviour differs from %s (-golden +now):\n%s", goldenPath(v.name), diff)
					}
				}
			}
			f, err := os.Open(img)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			cands, err := Candidates(f, st.Size())
			if err != nil {
				t.Fatalf("Candidates(%s) error %v", img, err)
			}
			for i := range cands {
				for j, off := range offs {
					if cands[i].Offset == off && trees[j] != "" && cands[i].Unreadable == "" {
						cands[i].FS = os.DirFS(trees[j])
					}
				}
				if cands[i].Unreadable == "" && cands[i].FS == nil && cands[i].Type != "" {
					t.Errorf("Candidates(%s)[%d] = readable %s at %d, but no corpus partition is there", v.name, i, cands[i].Type, cands[i].Offset)
				}
			}
			res := Emulate(cands, Options{})
			compareGolden(t, v, res, g)
		})
	}
}

func cmpGolden(a, b golden) string {
	if a == b {
		return ""
	}
	ja, _ := json.MarshalIndent(a, "", "  ")
	jb, _ := json.MarshalIndent(b, "", "  ")
	return fmt.Sprintf("%s\n---\n%s", ja, jb)
}
