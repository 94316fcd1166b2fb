package datasets

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// maxIDXBytes bounds the data of one IDX file (2 GiB; MNIST's largest file
// holds 47 MB).
const maxIDXBytes = 1<<31 - 1

// idxTypes names the IDX element type codes.
var idxTypes = map[byte]string{
	0x08: "unsigned byte",
	0x09: "signed byte",
	0x0B: "int16",
	0x0C: "int32",
	0x0D: "float32",
	0x0E: "float64",
}

// ReadIDX reads an IDX file of unsigned bytes, the format of the MNIST files,
// gzip-compressed or not (it looks at the first bytes). It returns the
// dimensions from the header, e.g. [60000 28 28], and the data in row-major
// order. name is the file name used in error messages.
//
// It checks the magic number (two zero bytes, the type code 0x08 and the
// number of dimensions), that every dimension is at least 1 and the data at
// most 2 GiB, and that the data is exactly as long as the dimensions say.
func ReadIDX(r io.Reader, name string) (shape []int, data []byte, err error) {
	return readIDX(r, name, maxIDXBytes, "")
}

// readIDX is ReadIDX with a bound on the data, maxBytes, named by why in
// the error when it is not the 2 GiB of the format.
func readIDX(r io.Reader, name string, maxBytes int64, why string) (shape []int, data []byte, err error) {
	if r == nil {
		return nil, nil, errors.Errorf("datasets: %s: nil reader", name)
	}
	src, closer, err := maybeGunzip(r)
	if err != nil {
		return nil, nil, errors.Wrapf(err, "datasets: %s", name)
	}
	defer closer.Close()

	shape, size, err := readIDXHeader(src, name, maxBytes, why)
	if err != nil {
		return nil, nil, err
	}

	// Read the data in growing chunks, so that a header claiming much more
	// than the file holds does not allocate it all at once.
	const chunk = 1 << 20
	c := size
	if c > chunk {
		c = chunk
	}
	data = make([]byte, 0, c)
	for len(data) < size {
		if len(data) == cap(data) {
			c := 2 * cap(data)
			if c > size {
				c = size
			}
			grown := make([]byte, len(data), c)
			copy(grown, data)
			data = grown
		}
		k, err := io.ReadFull(src, data[len(data):cap(data)])
		data = data[:len(data)+k]
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, nil, errors.Errorf("datasets: %s: truncated: dimensions %v need %d bytes of data, got %d", name, tensor.Shape(shape), size, len(data))
		}
		if err != nil {
			return nil, nil, errors.Wrapf(err, "datasets: %s", name)
		}
	}
	// Look for data after the end without decompressing all of it.
	extra, err := io.Copy(io.Discard, io.LimitReader(src, 1<<20))
	if err == io.ErrUnexpectedEOF {
		return nil, nil, errors.Errorf("datasets: %s: truncated: unexpected end of the compressed data", name)
	}
	if err != nil {
		return nil, nil, errors.Wrapf(err, "datasets: %s: after the data", name)
	}
	if extra > 0 {
		more := fmt.Sprint(extra)
		if extra == 1<<20 {
			more = "at least " + more
		}
		return nil, nil, errors.Errorf("datasets: %s: dimensions %v need %d bytes of data, got %s more", name, tensor.Shape(shape), size, more)
	}
	return shape, data, nil
}

// readIDXHeader reads the magic number and dimensions of an IDX file of
// unsigned bytes and returns the dimensions and the data size in bytes; see
// ReadIDX for the checks.
func readIDXHeader(src io.Reader, name string, maxBytes int64, why string) (shape []int, size int, err error) {
	var magic [4]byte
	if k, err := io.ReadFull(src, magic[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, 0, errors.Errorf("datasets: %s: %d bytes: too short for an IDX header", name, k)
		}
		return nil, 0, errors.Wrapf(err, "datasets: %s", name)
	}
	m := binary.BigEndian.Uint32(magic[:])
	if magic[0] != 0 || magic[1] != 0 {
		return nil, 0, errors.Errorf("datasets: %s: magic number 0x%08x: not an IDX file (want 0x000008NN)", name, m)
	}
	if magic[2] != 0x08 {
		t, ok := idxTypes[magic[2]]
		if !ok {
			t = "unknown"
		}
		return nil, 0, errors.Errorf("datasets: %s: magic number 0x%08x: type code 0x%02x (%s) is not supported, only 0x08 (unsigned byte)", name, m, magic[2], t)
	}
	nd := int(magic[3])
	if nd == 0 {
		return nil, 0, errors.Errorf("datasets: %s: magic number 0x%08x: 0 dimensions", name, m)
	}
	hdr := make([]byte, 4*nd)
	if k, err := io.ReadFull(src, hdr); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, 0, errors.Errorf("datasets: %s: header truncated: %d dimensions need %d bytes, got %d", name, nd, 4*nd, k)
		}
		return nil, 0, errors.Wrapf(err, "datasets: %s", name)
	}
	shape = make([]int, nd)
	size = 1
	for i := range shape {
		v := binary.BigEndian.Uint32(hdr[4*i:])
		if v == 0 {
			return nil, 0, errors.Errorf("datasets: %s: dimension %d is 0", name, i)
		}
		if uint64(size)*uint64(v) > uint64(maxBytes) {
			if why != "" {
				return nil, 0, errors.Errorf("datasets: %s: dimensions %s: %s", name, dimsString(hdr, nd), why)
			}
			return nil, 0, errors.Errorf("datasets: %s: dimensions %s: more than %d bytes of data", name, dimsString(hdr, nd), maxBytes)
		}
		shape[i] = int(v)
		size *= int(v)
	}

	return shape, size, nil
}

// dimsString formats the first nd big-endian dimensions of hdr as AxBxC.
func dimsString(hdr []byte, nd int) string {
	s := make([]string, nd)
	for i := range s {
		s[i] = fmt.Sprint(binary.BigEndian.Uint32(hdr[4*i:]))
	}
	return strings.Join(s, "x")
}

// LoadIDX reads an IDX file of unsigned bytes; see ReadIDX.
func LoadIDX(path string) ([]int, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, errors.Wrap(err, "datasets: LoadIDX")
	}
	defer f.Close()
	return ReadIDX(f, path)
}

// loadIDXAs reads an IDX file whose bytes become values of dt: its data may
// take at most maxTensorBytes once converted, checked on the header before
// anything is read.
func loadIDXAs(ctx context.Context, path string, dt tensor.Dtype) ([]int, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, errors.Wrap(err, "datasets")
	}
	defer f.Close()
	max := int64(maxTensorBytes / dt.Size())
	return readIDX(withContext(ctx, f), path, max, fmt.Sprintf("more than %d values, which would take more than %d GiB as %v", max, maxTensorBytes>>30, dt))
}

// ImageLayout is the shape of each image example in a Dataset.
type ImageLayout int

const (
	// Flat stores each image as a vector of rows*cols pixels: X is
	// (N, 784) for MNIST.
	Flat ImageLayout = iota
	// NCHW stores each image as (channels, rows, cols): X is
	// (N, 1, 28, 28) for MNIST, ready for convolutions.
	NCHW
)

// MNISTSet names one of the two data sets that come in MNIST's four IDX
// files: they differ in what they hold and where they are downloaded from,
// not in how they are read.
type MNISTSet int

const (
	// MNIST is LeCun et al.'s handwritten digits, classes 0..9.
	MNIST MNISTSet = iota
	// FashionMNIST is Zalando's 28×28 clothing articles, 10 classes named
	// by ClassNames.
	FashionMNIST
)

// String returns "MNIST" or "Fashion-MNIST".
func (s MNISTSet) String() string {
	switch s {
	case MNIST:
		return "MNIST"
	case FashionMNIST:
		return "Fashion-MNIST"
	}
	return fmt.Sprintf("MNISTSet(%d)", int(s))
}

// ClassNames returns the names of the set's classes 0..9 (nil for an
// unknown set).
func (s MNISTSet) ClassNames() []string {
	switch s {
	case MNIST:
		return []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	case FashionMNIST:
		return []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
	}
	return nil
}

// dirName is the set's directory in a download cache.
func (s MNISTSet) dirName() string {
	if s == FashionMNIST {
		return "fashion-mnist"
	}
	return "mnist"
}

// MNISTOptions say how LoadMNISTWith builds its Datasets.
type MNISTOptions struct {
	// Dtype is tensor.Float64 (the default) or tensor.Float32.
	Dtype tensor.Dtype
	// Layout is Flat (the default) or NCHW.
	Layout ImageLayout
}

// The four files of MNIST and Fashion-MNIST, as distributed (gzip).
const (
	mnistTrainImages = "train-images-idx3-ubyte.gz"
	mnistTrainLabels = "train-labels-idx1-ubyte.gz"
	mnistTestImages  = "t10k-images-idx3-ubyte.gz"
	mnistTestLabels  = "t10k-labels-idx1-ubyte.gz"
)

// LoadMNIST reads MNIST or Fashion-MNIST (the same files, shapes and
// scaling) from a directory holding the four standard files
// (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
// t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz, or the same names
// without .gz). The 60000 training and 10000 test examples have X of shape
// (N, 784) with pixels scaled from 0..255 to [0, 1], and Y holding the class
// index, shape (N). DownloadMNIST fetches the files; MNISTSet.ClassNames
// names the classes.
func LoadMNIST(dir string, dt tensor.Dtype) (train, test *Dataset, err error) {
	return LoadMNISTWith(context.Background(), dir, MNISTOptions{Dtype: dt})
}

// LoadMNISTWith is LoadMNIST with a choice of layout, which stops with
// ctx's error once ctx is done.
func LoadMNISTWith(ctx context.Context, dir string, opt MNISTOptions) (train, test *Dataset, err error) {
	return loadMNISTDir(ctx, "LoadMNIST", dir, opt)
}

func loadMNISTDir(ctx context.Context, op, dir string, opt MNISTOptions) (train, test *Dataset, err error) {
	dt := opt.Dtype
	if dt.Type == nil {
		dt = tensor.Float64
	}
	if err := checkDtype(op, dt); err != nil {
		return nil, nil, err
	}
	if opt.Layout != Flat && opt.Layout != NCHW {
		return nil, nil, errors.Errorf("datasets: %s: unknown layout %d", op, opt.Layout)
	}
	train, err = loadMNISTPart(ctx, op, dir, mnistTrainImages, mnistTrainLabels, dt, opt.Layout)
	if err != nil {
		return nil, nil, err
	}
	test, err = loadMNISTPart(ctx, op, dir, mnistTestImages, mnistTestLabels, dt, opt.Layout)
	if err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// findFile returns dir/name if it exists, else dir/name without ".gz".
func findFile(op, dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	q := strings.TrimSuffix(p, ".gz")
	if _, err := os.Stat(q); err == nil {
		return q, nil
	}
	return "", errors.Errorf("datasets: %s: neither %s nor %s exists", op, p, filepath.Base(q))
}

func loadMNISTPart(ctx context.Context, op, dir, images, labels string, dt tensor.Dtype, layout ImageLayout) (*Dataset, error) {
	ip, err := findFile(op, dir, images)
	if err != nil {
		return nil, err
	}
	lp, err := findFile(op, dir, labels)
	if err != nil {
		return nil, err
	}
	is, pix, err := loadIDXAs(ctx, ip, dt)
	if err != nil {
		return nil, err
	}
	ls, lab, err := loadIDXAs(ctx, lp, dt)
	if err != nil {
		return nil, err
	}
	if len(is) != 3 {
		return nil, errors.Errorf("datasets: %s: %s has dimensions %v: want (images, rows, cols)", op, ip, tensor.Shape(is))
	}
	if len(ls) != 1 {
		return nil, errors.Errorf("datasets: %s: %s has dimensions %v: want (labels)", op, lp, tensor.Shape(ls))
	}
	if is[0] != ls[0] {
		return nil, errors.Errorf("datasets: %s: %s holds %d images but %s holds %d labels", op, ip, is[0], lp, ls[0])
	}
	for i, c := range lab {
		if c > 9 {
			return nil, errors.Errorf("datasets: %s: %s: label %d is %d: want 0..9", op, lp, i, c)
		}
	}
	n, rows, cols := is[0], is[1], is[2]
	xShape := tensor.Shape{n, rows * cols}
	if layout == NCHW {
		xShape = tensor.Shape{n, 1, rows, cols}
	}
	var x, y *tensor.Dense
	if dt == tensor.Float32 {
		x, y = pixelTensors[float32](pix, lab, xShape)
	} else {
		x, y = pixelTensors[float64](pix, lab, xShape)
	}
	return newDataset(op, x, y)
}

// pixelTensors scales bytes to [0, 1] and labels to class indices, in T.
func pixelTensors[T float32 | float64](pix, lab []byte, xShape tensor.Shape) (x, y *tensor.Dense) {
	var lut [256]T
	for i := range lut {
		lut[i] = T(i) / 255
	}
	xb := make([]T, len(pix))
	for i, p := range pix {
		xb[i] = lut[p]
	}
	yb := make([]T, len(lab))
	for i, c := range lab {
		yb[i] = T(c)
	}
	return tensor.New(tensor.WithShape(xShape...), tensor.WithBacking(xb)), tensor.New(tensor.WithShape(len(lab)), tensor.WithBacking(yb))
}
