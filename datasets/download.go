package datasets

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/descent-go/descent/internal/atomicfile"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pkg/errors"
)

// maxDownloadBytes bounds one downloaded file (1 GiB).
const maxDownloadBytes = 1 << 30

// Downloader fetches files into a local cache directory and checks them
// against known SHA-256 sums. A file already in the cache with the right sum
// is not fetched again; one with a wrong sum (truncated, corrupted, or from
// another version) is fetched again and never used. Files are written
// atomically: a temporary file in the same directory is written, synced to
// disk and then renamed, so the cache never holds a partial file under its
// real name.
type Downloader struct {
	// BaseURLs are tried in order for each file; the file's URL is the base
	// URL followed by its name ("/" is added between them if missing).
	BaseURLs []string
	// Client makes the requests; nil means http.DefaultClient.
	Client *http.Client
	// Files maps each file name to its SHA-256 sum (64 hex digits). For a
	// gzip file the sum may also be that of its decompressed content, which
	// stays the same when a mirror recompresses the file.
	Files map[string]string
	// StallTimeout abandons a download when the server sends nothing (no
	// headers, no body byte) for this long; 0 means no limit (a stalled
	// server then waits for the context). MNISTDownloader sets
	// DefaultStallTimeout.
	StallTimeout time.Duration
}

// DefaultStallTimeout is the StallTimeout of the package's downloaders.
const DefaultStallTimeout = time.Minute

// maxGunzipBytes bounds the decompressed content whose sum Fetch checks:
// the largest IDX file the loaders accept.
const maxGunzipBytes = maxIDXBytes + 1<<10

// MNIST's files, with the SHA-256 sums of the original .gz files.
var mnistFiles = map[string]string{
	mnistTestImages:  "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
	mnistTestLabels:  "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
	mnistTrainImages: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
	mnistTrainLabels: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
}

// Fashion-MNIST's files, with the SHA-256 sums of their decompressed
// content: mirrors (and Linux distributions) ship .gz files whose headers
// differ, so the sums of the .gz bytes depend on where a copy came from.
var fashionMNISTFiles = map[string]string{
	mnistTestImages:  "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
	mnistTestLabels:  "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
	mnistTrainImages: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
	mnistTrainLabels: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
}

// MNISTDownloader returns a new Downloader for the four files of set:
// MNIST's from the canonical mirror https://ossci-datasets.s3.amazonaws.com/mnist/,
// Fashion-MNIST's from https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/.
// Change its BaseURLs to use another mirror. It is nil for an unknown set.
func MNISTDownloader(set MNISTSet) *Downloader {
	var base string
	var files map[string]string
	switch set {
	case MNIST:
		base, files = "https://ossci-datasets.s3.amazonaws.com/mnist/", mnistFiles
	case FashionMNIST:
		base, files = "https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", fashionMNISTFiles
	default:
		return nil
	}
	return &Downloader{BaseURLs: []string{base}, Files: copyFiles(files), StallTimeout: DefaultStallTimeout}
}

func copyFiles(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// DownloadMNIST makes sure that cacheDir/mnist (or cacheDir/fashion-mnist
// for FashionMNIST) holds the four files of set with the right sums,
// downloading what is missing or wrong, and returns that directory, ready
// for LoadMNIST.
func DownloadMNIST(ctx context.Context, set MNISTSet, cacheDir string) (dir string, err error) {
	d := MNISTDownloader(set)
	if d == nil {
		return "", errors.Errorf("datasets: DownloadMNIST: unknown set %v, want MNIST or FashionMNIST", set)
	}
	dir = filepath.Join(cacheDir, set.dirName())
	return dir, d.Fetch(ctx, dir)
}

// Fetch makes sure that dir (created if needed) holds every file of
// d.Files with its sum, downloading those that are missing or wrong. Files
// are handled in name order; the first failure stops it.
func (d *Downloader) Fetch(ctx context.Context, dir string) error {
	if d == nil {
		return errors.New("datasets: Fetch: nil Downloader")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if len(d.Files) == 0 {
		return errors.New("datasets: Fetch: no files to fetch")
	}
	names := make([]string, 0, len(d.Files))
	for name, sum := range d.Files {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
			return errors.Errorf("datasets: Fetch: %q is not a plain file name", name)
		}
		if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
			return errors.Errorf("datasets: Fetch: %s: sum %q is not 64 hex digits", name, sum)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errors.Wrap(err, "datasets: Fetch")
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return errors.Wrapf(err, "datasets: Fetch %s", name)
		}
		want := strings.ToLower(d.Files[name])
		path := filepath.Join(dir, name)
		ok, err := fileHasSum(path, want)
		if ok {
			continue
		}
		if err == nil || !os.IsNotExist(err) {
			// A cached file with the wrong sum is never used again.
			os.Remove(path)
		}
		if err := d.fetchOne(ctx, dir, name, want); err != nil {
			return err
		}
	}
	return nil
}

// fetchOne downloads one file, trying each base URL in turn.
func (d *Downloader) fetchOne(ctx context.Context, dir, name, want string) error {
	if len(d.BaseURLs) == 0 {
		return errors.Errorf("datasets: Fetch %s: no base URL to download from", name)
	}
	var msgs []string
	for _, base := range d.BaseURLs {
		err := d.fetchFrom(ctx, dir, name, want, base)
		if err == nil || ctx.Err() != nil || len(d.BaseURLs) == 1 {
			return err
		}
		msgs = append(msgs, err.Error())
	}
	return errors.Errorf("datasets: Fetch %s: every mirror failed:\n\t%s", name, strings.Join(msgs, "\n\t"))
}

// fetchFrom downloads one file from one base URL into a temporary file,
// checks its sum and renames it into place.
func (d *Downloader) fetchFrom(ctx context.Context, dir, name, want, base string) error {
	url := base
	if !strings.HasSuffix(url, "/") {
		url += "/"
	}
	url += name
	if d.StallTimeout < 0 {
		return errors.Errorf("datasets: Fetch %s: StallTimeout = %v, want ≥ 0", name, d.StallTimeout)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stall *stallTimer
	if d.StallTimeout > 0 {
		stall = newStallTimer(d.StallTimeout, cancel)
		defer stall.stop()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return errors.Wrapf(err, "datasets: Fetch %s", name)
	}
	client := d.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return stall.explain(errors.Wrapf(err, "datasets: Fetch %s", name))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.Errorf("datasets: Fetch %s: GET %s: %s", name, url, resp.Status)
	}
	if resp.ContentLength > maxDownloadBytes {
		return errors.Errorf("datasets: Fetch %s: GET %s: Content-Length %d is more than %d bytes", name, url, resp.ContentLength, int64(maxDownloadBytes))
	}
	body := stall.reader(resp.Body)

	// Written atomically, and renamed into place only once the sum checks:
	// a corrupt or partial download is never left where a loader reads.
	return atomicfile.Write(filepath.Join(dir, name), func(tmp *os.File) error {
		h := sha256.New()
		k, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(body, maxDownloadBytes+1))
		if err != nil {
			return stall.explain(errors.Wrapf(err, "datasets: Fetch %s: GET %s", name, url))
		}
		if k > maxDownloadBytes {
			return errors.Errorf("datasets: Fetch %s: GET %s: more than %d bytes", name, url, int64(maxDownloadBytes))
		}
		got := hex.EncodeToString(h.Sum(nil))
		if got == want {
			return nil
		}
		inner, ierr := gunzipSum(tmp.Name())
		if ierr == nil && inner == want {
			return nil
		}
		msg := fmt.Sprintf("sha256 %s", got)
		if ierr == nil {
			msg += fmt.Sprintf(" (decompressed %s)", inner)
		}
		return errors.Errorf("datasets: Fetch %s: GET %s: %d bytes with %s, want %s", name, url, k, msg, want)
	})
}

// fileHasSum reports whether the file at path has SHA-256 sum want, of its
// bytes or, for a gzip file, of its decompressed content.
func fileHasSum(path, want string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return false, err
	}
	if hex.EncodeToString(h.Sum(nil)) == want {
		return true, nil
	}
	inner, err := gunzipSum(path)
	return err == nil && inner == want, err
}

// gunzipSum returns the SHA-256 sum of the decompressed content of a gzip
// file, or an error if it is not one.
func gunzipSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var head [2]byte
	if _, err := io.ReadFull(f, head[:]); err != nil || !bytes.Equal(head[:], gzipMagic) {
		return "", errors.New("not gzip")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, newLimitedReader(zr, maxGunzipBytes)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// stallTimer cancels a download that receives nothing for a while: each
// byte read restarts it. Its methods do nothing on a nil stallTimer.
type stallTimer struct {
	d     time.Duration
	t     *time.Timer
	fired atomic.Bool
}

func newStallTimer(d time.Duration, cancel func()) *stallTimer {
	s := &stallTimer{d: d}
	s.t = time.AfterFunc(d, func() { s.fired.Store(true); cancel() })
	return s
}

func (s *stallTimer) stop() { s.t.Stop() }

// reader restarts the timer whenever r gives bytes.
func (s *stallTimer) reader(r io.Reader) io.Reader {
	if s == nil {
		return r
	}
	return readFunc(func(p []byte) (int, error) {
		n, err := r.Read(p)
		if n > 0 && !s.fired.Load() {
			s.t.Reset(s.d)
		}
		return n, err
	})
}

// explain says that err came from a stall, when it did.
func (s *stallTimer) explain(err error) error {
	if s != nil && s.fired.Load() {
		return errors.Wrapf(err, "the server sent nothing for %v (Downloader.StallTimeout)", s.d)
	}
	return err
}

type readFunc func(p []byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }
