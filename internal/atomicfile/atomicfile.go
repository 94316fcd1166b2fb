// Package atomicfile writes files so that a reader, a crash or a full disk
// never sees a partial one: checkpoints, plots, downloads and benchmark data
// all go through Write.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write creates or replaces path atomically. write fills a new temporary
// file in path's directory; only if it returns nil is the file synced,
// closed, given mode 0644 and renamed over path, and the directory synced so
// the rename survives a crash. On any error the temporary file is removed and
// whatever was at path is untouched. The error is returned unwrapped.
func Write(path string, write func(f *os.File) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
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
	if err = os.Chmod(f.Name(), 0o644); err != nil {
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
