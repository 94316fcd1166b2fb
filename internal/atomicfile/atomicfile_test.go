package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	if err := Write(path, func(f *os.File) error { _, err := f.WriteString("one"); return err }); err != nil {
		t.Fatal(err)
	}
	// A failing write leaves the old content and no temporary file.
	boom := errors.New("boom")
	if err := Write(path, func(f *os.File) error { f.WriteString("partial"); return boom }); err != boom {
		t.Fatalf("error %v, want %v", err, boom)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "one" {
		t.Fatalf("after a failed write: %q, %v; want %q", b, err, "one")
	}
	if err := Write(path, func(f *os.File) error { _, err := f.WriteString("two"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "two" {
		t.Fatalf("content %q, want %q", b, "two")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%d entries in the directory, want only the file", len(entries))
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if err := Write(filepath.Join(dir, "missing", "f"), func(*os.File) error { return nil }); err == nil {
		t.Error("a missing directory gave no error")
	}
}

// deadPid returns the id of a process that has ended.
func deadPid(t *testing.T) int {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// Item 7 and 10 of issue 15: what a Write leaves, finds and keeps.
func TestWriteKeepsAndCleans(t *testing.T) {
	write := func(s string) func(*os.File) error {
		return func(f *os.File) error { _, err := f.WriteString(s); return err }
	}
	dead := deadPid(t)
	for _, tc := range []struct {
		name  string
		setup func(dir, path string) // before the Write
		check func(t *testing.T, dir, path string)
	}{
		{"stale temp files of dead writers are removed",
			func(dir, path string) {
				for i := 0; i < 3; i++ {
					os.WriteFile(filepath.Join(dir, fmt.Sprintf(".f.%d.%d.tmp", dead, i)), []byte("partial"), 0o600)
				}
			},
			func(t *testing.T, dir, path string) {
				if files, _ := TempFiles(path); len(files) != 0 {
					t.Errorf("stale temp files remain: %v", files)
				}
			}},
		{"temp files of live writers and other files stay",
			func(dir, path string) {
				os.WriteFile(filepath.Join(dir, fmt.Sprintf(".f.%d.1.tmp", os.Getpid())), nil, 0o600)
				os.WriteFile(filepath.Join(dir, fmt.Sprintf(".g.%d.1.tmp", dead)), nil, 0o600)
				os.WriteFile(filepath.Join(dir, "notes.tmp"), nil, 0o600)
			},
			func(t *testing.T, dir, path string) {
				for _, name := range []string{fmt.Sprintf(".f.%d.1.tmp", os.Getpid()), fmt.Sprintf(".g.%d.1.tmp", dead), "notes.tmp"} {
					if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
						t.Errorf("%s was removed", name)
					}
				}
			}},
		{"a symlink is followed, not replaced",
			func(dir, path string) {
				os.WriteFile(filepath.Join(dir, "real"), []byte("old"), 0o644)
				os.Symlink("real", path)
			},
			func(t *testing.T, dir, path string) {
				if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink == 0 {
					t.Errorf("the link was replaced: %v %v", fi.Mode(), err)
				}
				if b, _ := os.ReadFile(filepath.Join(dir, "real")); string(b) != "new" {
					t.Errorf("the link's target holds %q, want %q", b, "new")
				}
			}},
		{"the file mode is kept",
			func(dir, path string) { os.WriteFile(path, []byte("old"), 0o600); os.Chmod(path, 0o600) },
			func(t *testing.T, dir, path string) {
				if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
					t.Errorf("mode %v, want 0600", fi.Mode().Perm())
				}
			}},
		{"a new file is 0644",
			func(dir, path string) {},
			func(t *testing.T, dir, path string) {
				if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
					t.Errorf("mode %v, want 0644", fi.Mode().Perm())
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			tc.setup(dir, path)
			if err := Write(path, write("new")); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(path); string(b) != "new" {
				t.Errorf("content %q, want %q", b, "new")
			}
			tc.check(t, dir, path)
		})
	}
}
