// Package atomicfile writes files so that a reader, a crash or a full disk
// never sees a partial one: checkpoints, plots, downloads and benchmark data
// all go through Write.
package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Write creates or replaces path atomically. write fills a new temporary
// file in path's directory; only if it returns nil is the file synced,
// closed, given its mode and renamed over path, and the directory synced so
// the rename survives a crash. On any error the temporary file is removed and
// whatever was at path is untouched. The error is returned unwrapped.
//
// A path that is a symbolic link is followed: the file it points to is
// replaced and the link stays. A replaced file keeps its permission bits; a
// new one gets 0644.
//
// The temporary file is named ".<name>.<pid>.<random>.tmp". A process killed
// while writing leaves one behind; the next Write to the same path removes
// those whose process is no longer running (TempFiles lists them).
func Write(path string, write func(f *os.File) error) (err error) {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		mode = fi.Mode().Perm()
	}
	dir := filepath.Dir(path)
	removeStale(path)
	f, err := os.CreateTemp(dir, tempPrefix(path)+strconv.Itoa(os.Getpid())+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(f.Name(), mode); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// tempPrefix is the start of the name of every temporary file Write makes
// for path.
func tempPrefix(path string) string { return "." + filepath.Base(path) + "." }

// TempFiles lists the temporary files of Writes to path that are in its
// directory now, with the process id that made each (live writers included).
func TempFiles(path string) (files []string, pids []int) {
	dir, prefix := filepath.Dir(path), tempPrefix(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".tmp") {
			continue
		}
		mid := strings.TrimSuffix(strings.TrimPrefix(name, prefix), ".tmp")
		dot := strings.IndexByte(mid, '.')
		if dot <= 0 {
			continue
		}
		pid, err := strconv.Atoi(mid[:dot])
		if err != nil || pid <= 0 {
			continue
		}
		files = append(files, filepath.Join(dir, name))
		pids = append(pids, pid)
	}
	return files, pids
}

// removeStale removes the temporary files of earlier Writes to path whose
// process has ended (killed while writing). Files of running processes,
// this one included, are left alone: they may be writing now.
func removeStale(path string) {
	files, pids := TempFiles(path)
	for i, f := range files {
		if pids[i] != os.Getpid() && !alive(pids[i]) {
			os.Remove(f)
		}
	}
}

// alive reports whether a process with id pid may be running.
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	if err == nil || errors.Is(err, syscall.EPERM) {
		return true
	}
	return !errors.Is(err, os.ErrProcessDone) && !errors.Is(err, syscall.ESRCH)
}
