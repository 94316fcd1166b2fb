package datasets

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descent-go/descent/internal/testutil"
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fileServer serves files by name under /data/ and counts requests.
type fileServer struct {
	mu    sync.Mutex
	files map[string][]byte
	hits  map[string]int
	// block makes every request wait for its context (or 10 s).
	block bool
}

func newFileServer(t *testing.T, files map[string][]byte) (*fileServer, *httptest.Server) {
	fs := &fileServer{files: files, hits: map[string]int{}}
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	return fs, srv
}

func (fs *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/data/")
	fs.mu.Lock()
	fs.hits[name]++
	b, ok := fs.files[name]
	block := fs.block
	fs.mu.Unlock()
	if block {
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	if !ok || !strings.HasPrefix(r.URL.Path, "/data/") {
		http.NotFound(w, r)
		return
	}
	w.Write(b)
}

func (fs *fileServer) count(name string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.hits[name]
}

// noTemp fails if dir holds leftover temporary files.
func noTemp(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left in the cache", e.Name())
		}
	}
}

func testFiles() (map[string][]byte, map[string]string) {
	files := map[string][]byte{
		"a.bin": []byte("the first file"),
		"b.gz":  bytes.Repeat([]byte("second "), 1000),
	}
	sums := map[string]string{}
	for k, v := range files {
		sums[k] = sum(v)
	}
	return files, sums
}

func TestDownloaderFetch(t *testing.T) {
	files, sums := testFiles()
	fs, srv := newFileServer(t, files)
	dir := filepath.Join(t.TempDir(), "cache", "x")
	d := &Downloader{BaseURLs: []string{srv.URL + "/data"}, Files: sums, Client: srv.Client()}
	if err := d.Fetch(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %q %v", name, got, err)
		}
		if fs.count(name) != 1 {
			t.Errorf("%s fetched %d times", name, fs.count(name))
		}
	}
	noTemp(t, dir)

	// cached with the right sums: nothing is fetched
	if err := d.Fetch(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	if fs.count("a.bin") != 1 || fs.count("b.gz") != 1 {
		t.Error("files with the right sum were fetched again")
	}

	// a corrupted and a truncated cached file are fetched again
	os.WriteFile(filepath.Join(dir, "a.bin"), []byte("the first fiLe"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.gz"), files["b.gz"][:100], 0o644)
	if err := d.Fetch(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); !bytes.Equal(got, want) {
			t.Errorf("%s not repaired", name)
		}
		if fs.count(name) != 2 {
			t.Errorf("%s fetched %d times, want 2", name, fs.count(name))
		}
	}
	noTemp(t, dir)
}

func TestDownloaderBadBytes(t *testing.T) {
	files, sums := testFiles()
	files["a.bin"] = []byte("tampered")
	_, srv := newFileServer(t, files)
	dir := t.TempDir()
	// a cached file with the wrong sum is removed, never used
	os.WriteFile(filepath.Join(dir, "a.bin"), []byte("old"), 0o644)
	d := &Downloader{BaseURLs: []string{srv.URL + "/data/"}, Files: sums}
	err := d.Fetch(context.Background(), dir)
	testutil.ErrPrefixed(t, err, "datasets: ", "Fetch a.bin", srv.URL+"/data/a.bin", "8 bytes with sha256 "+sum([]byte("tampered")), "want "+sums["a.bin"])
	if _, err := os.Stat(filepath.Join(dir, "a.bin")); !os.IsNotExist(err) {
		t.Error("a file with the wrong sum is in the cache")
	}
	noTemp(t, dir)
}

func TestDownloaderHTTPErrors(t *testing.T) {
	files, sums := testFiles()
	fs, srv := newFileServer(t, files)
	dir := t.TempDir()

	d := &Downloader{BaseURLs: []string{srv.URL + "/missing/"}, Files: sums}
	testutil.ErrPrefixed(t, d.Fetch(context.Background(), dir), "datasets: ", "Fetch a.bin: GET "+srv.URL+"/missing/a.bin: 404 Not Found")

	// mirrors are tried in order
	d.BaseURLs = []string{srv.URL + "/missing/", srv.URL + "/data/"}
	if err := d.Fetch(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	// every mirror failing names each failure
	os.Remove(filepath.Join(dir, "a.bin"))
	d.BaseURLs = []string{srv.URL + "/missing/", srv.URL + "/gone/"}
	testutil.ErrPrefixed(t, d.Fetch(context.Background(), dir), "datasets: ", "every mirror failed", "/missing/a.bin: 404", "/gone/a.bin: 404")

	// a refused connection
	d.BaseURLs = []string{"http://127.0.0.1:1/"}
	testutil.ErrPrefixed(t, d.Fetch(context.Background(), dir), "datasets: ", "Fetch a.bin")

	// cancelled while the body is streaming
	fs.mu.Lock()
	fs.block = true
	fs.mu.Unlock()
	d.BaseURLs = []string{srv.URL + "/data/"}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	testutil.ErrPrefixed(t, d.Fetch(ctx, dir), "datasets: ", "Fetch a.bin", "context canceled")
	if time.Since(start) > 5*time.Second {
		t.Error("cancel did not stop the download")
	}
	noTemp(t, dir)
	// cancelled before the start
	testutil.ErrPrefixed(t, d.Fetch(ctx, dir), "datasets: ", "context canceled")
}

func TestDownloaderBadConfig(t *testing.T) {
	dir := t.TempDir()
	good := sum([]byte("x"))
	tests := []struct {
		name string
		d    *Downloader
		want string
	}{
		{"nil", nil, "nil Downloader"},
		{"no files", &Downloader{BaseURLs: []string{"http://127.0.0.1:1/"}}, "no files to fetch"},
		{"bad sum", &Downloader{BaseURLs: []string{"http://127.0.0.1:1/"}, Files: map[string]string{"a": "abc"}}, `a: sum "abc" is not 64 hex digits`},
		{"path name", &Downloader{BaseURLs: []string{"http://127.0.0.1:1/"}, Files: map[string]string{"../a": good}}, `"../a" is not a plain file name`},
		{"no base URL", &Downloader{Files: map[string]string{"a": good}}, "Fetch a: no base URL"},
	}
	for _, tc := range tests {
		testutil.ErrPrefixed(t, tc.d.Fetch(context.Background(), dir), "datasets: ", tc.want)
	}
}

// TestDownloaderDecompressedSum checks that a gzip file is accepted by the
// sum of its content even when its compressed bytes differ (another mirror,
// another gzip header).
func TestDownloaderDecompressedSum(t *testing.T) {
	content := bytes.Repeat([]byte("content "), 100)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Name = "renamed"
	zw.Write(content)
	zw.Close()
	fs, srv := newFileServer(t, map[string][]byte{"c.gz": buf.Bytes()})
	dir := t.TempDir()
	d := &Downloader{BaseURLs: []string{srv.URL + "/data/"}, Files: map[string]string{"c.gz": sum(content)}}
	if err := d.Fetch(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	if err := d.Fetch(context.Background(), dir); err != nil || fs.count("c.gz") != 1 {
		t.Errorf("cached gzip refetched (%d) or error %v", fs.count("c.gz"), err)
	}
	d.Files["c.gz"] = sum([]byte("other"))
	testutil.ErrPrefixed(t, d.Fetch(context.Background(), dir), "datasets: ", "(decompressed "+sum(content)+")")
}

// readSums parses a SHA256SUMS file.
func readSums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 {
			m[fields[1]] = fields[0]
		}
	}
	return m
}

// TestMNISTDownloadFromMirror serves the real MNIST files from a local
// server and checks the embedded sums, the cache layout and DownloadMNIST's
// use of a complete cache (which must not touch the network).
func TestMNISTDownloadFromMirror(t *testing.T) {
	if _, err := os.Stat(mnistDir); os.IsNotExist(err) {
		t.Skipf("MNIST not found at %s", mnistDir)
	}
	want := readSums(t, filepath.Join(mnistDir, "SHA256SUMS"))
	files := map[string][]byte{}
	for name := range mnistFiles {
		if mnistFiles[name] != want[name] {
			t.Errorf("%s: embedded sum %s, SHA256SUMS has %s", name, mnistFiles[name], want[name])
		}
		b, err := os.ReadFile(filepath.Join(mnistDir, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	_, srv := newFileServer(t, files)
	cache := t.TempDir()
	d := MNISTDownloader(MNIST)
	if len(d.BaseURLs) != 1 || d.BaseURLs[0] != "https://ossci-datasets.s3.amazonaws.com/mnist/" {
		t.Errorf("default mirror %v", d.BaseURLs)
	}
	d.BaseURLs = []string{srv.URL + "/data/"}
	d.Files[mnistTestImages] = "00" // a copy: the package's table is untouched
	if mnistFiles[mnistTestImages] == "00" {
		t.Fatal("MNISTDownloader shares its Files map")
	}
	d = MNISTDownloader(MNIST)
	d.BaseURLs = []string{srv.URL + "/data/"}
	if err := d.Fetch(context.Background(), filepath.Join(cache, "mnist")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir, err := DownloadMNIST(ctx, MNIST, cache)
	if err != nil || dir != filepath.Join(cache, "mnist") {
		t.Fatalf("DownloadMNIST on a full cache: %q %v", dir, err)
	}
}

// TestFashionMNISTSums checks the embedded Fashion-MNIST sums (of the
// decompressed files) against the shared copy, whose .gz bytes differ from
// upstream's: DownloadMNIST(FashionMNIST) must accept it as a complete cache.
func TestFashionMNISTSums(t *testing.T) {
	if testutil.Race && testing.Short() {
		t.Skip("single-goroutine checksums of 85 MB take 16 s under the race detector: skipped with -short")
	}
	src := filepath.Join("..", "..", "shared", "data", "fashion-mnist")
	if _, err := os.Stat(src); os.IsNotExist(err) {
		t.Skipf("Fashion-MNIST not found at %s", src)
	}
	cache := t.TempDir()
	dir := filepath.Join(cache, "fashion-mnist")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name := range fashionMNISTFiles {
		abs, err := filepath.Abs(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if d := MNISTDownloader(FashionMNIST); len(d.BaseURLs) != 1 || !strings.HasPrefix(d.BaseURLs[0], "https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/") {
		t.Errorf("default mirror %v", d.BaseURLs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := DownloadMNIST(ctx, FashionMNIST, cache)
	if err != nil || got != dir {
		t.Fatalf("%q %v", got, err)
	}
}
