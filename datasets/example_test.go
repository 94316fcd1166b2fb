package datasets_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
)

// A Dataset from plain slices, and one epoch of shuffled mini-batches.
func Example() {
	x := []float64{
		0, 0,
		0, 1,
		1, 0,
		1, 1,
		2, 2,
	}
	y := []float64{0, 1, 1, 0, 1} // class indices
	ds, err := datasets.FromFloat64(x, []int{5, 2}, y, []int{5}, tensor.Float64)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ds)

	it, err := datasets.NewIterator(ds, datasets.Batches{Size: 2, Shuffle: true, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for it.Next() {
		xb, yb := it.Batch()
		fmt.Println("epoch", it.Epoch(), "examples", it.Indices(), "x", xb.Shape(), "y", yb.Shape())
	}
	if err := it.Err(); err != nil {
		fmt.Println(err)
	}
	it.Reset() // ready for epoch 1, in another order
	// Output:
	// Dataset{N: 5, X: (5, 2), Y: (5), float64, 2 classes}
	// epoch 0 examples [1 2] x (2, 2) y (2)
	// epoch 0 examples [4 3] x (2, 2) y (2)
	// epoch 0 examples [0] x (1, 2) y (1)
}

// Batch size 1 is online SGD, B is mini-batch SGD, and 0 (or N) is
// full-batch gradient descent.
func ExampleNewIterator() {
	ds, _ := datasets.Iris(tensor.Float64)
	for _, b := range []datasets.Batches{
		{Size: 1},
		{Size: 32},
		{Size: 32, DropLast: true},
		{Size: 0},
	} {
		it, err := datasets.NewIterator(ds, b)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("Size %d DropLast %v: %d batches of %d\n", b.Size, b.DropLast, it.BatchesPerEpoch(), it.BatchSize())
	}
	// Output:
	// Size 1 DropLast false: 150 batches of 1
	// Size 32 DropLast false: 5 batches of 32
	// Size 32 DropLast true: 4 batches of 32
	// Size 0 DropLast false: 1 batches of 150
}

// A trainer that owns its input tensors (those of a compiled graph) copies
// each batch straight into them with Gather.
func ExampleIterator_Indices() {
	ds, _ := datasets.Iris(tensor.Float32)
	it, _ := datasets.NewIterator(ds, datasets.Batches{Size: 50, Shuffle: true, Seed: 7, DropLast: true})
	x := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(50, 4))
	y := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(50))
	for it.Next() {
		if err := ds.Gather(it.Indices(), x, y); err != nil {
			fmt.Println(err)
			return
		}
		// run the graph on x and y here
	}
	fmt.Println(it.BatchesPerEpoch(), "batches of", x.Shape())
	// Output:
	// 3 batches of (50, 4)
}

// Epoch k's order depends only on the seed and k, so training can resume at
// any epoch.
func ExampleIterator_SetEpoch() {
	ds, _ := datasets.FromFloat64(make([]float64, 6), []int{6, 1}, []float64{0, 1, 0, 1, 0, 1}, []int{6}, tensor.Float64)
	it, _ := datasets.NewIterator(ds, datasets.Batches{Size: 6, Shuffle: true, Seed: 3})
	it.Reset()
	it.Reset()
	it.Next()
	fmt.Println("after two Resets:", it.Indices())
	it.SetEpoch(2)
	it.Next()
	fmt.Println("SetEpoch(2):     ", it.Indices())
	// Output:
	// after two Resets: [0 5 2 3 4 1]
	// SetEpoch(2):      [0 5 2 3 4 1]
}

// Split into training and test sets keeping the class proportions, then
// standardize both with statistics of the training set only.
func ExampleDataset_Split() {
	ds, _ := datasets.Iris(tensor.Float64)
	parts, err := ds.Split(42, true, 0.8, 0.2)
	if err != nil {
		fmt.Println(err)
		return
	}
	train, test := parts[0], parts[1]
	fmt.Println(train.Len(), test.Len())

	s, err := train.Standardizer()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("petal length: mean %.2f cm, std %.2f cm\n", s.Mean[2], s.Std[2])
	train, _ = s.Apply(train)
	test, _ = s.Apply(test)
	fmt.Println(train.Len(), test.Len())
	// Output:
	// 120 30
	// petal length: mean 3.77 cm, std 1.77 cm
	// 120 30
}

// The usual preparation in one call: train, validation and test parts,
// stratified by class, all standardized with the training part's statistics.
func ExampleDataset_SplitStandardized() {
	ds, _ := datasets.Iris(tensor.Float64)
	parts, std, err := ds.SplitStandardized(42, true, 0.6, 0.2, 0.2)
	if err != nil {
		fmt.Println(err)
		return
	}
	train, val, test := parts[0], parts[1], parts[2]
	fmt.Println(train.Len(), val.Len(), test.Len())
	fmt.Printf("petal length: mean %.2f cm, std %.2f cm\n", std.Mean[2], std.Std[2])
	// Output:
	// 90 30 30
	// petal length: mean 3.80 cm, std 1.75 cm
}

func ExampleOneHot() {
	y, _ := datasets.OneHot([]int{2, 0, 1}, 3, tensor.Float64)
	fmt.Println(y.Float64s())
	// Output:
	// [0 0 1 1 0 0 0 1 0]
}

// Class-index targets (N) become one-hot targets (N, K), e.g. for a
// softmax cross-entropy written against one-hot rows.
func ExampleDataset_OneHot() {
	ds, _ := datasets.Iris(tensor.Float64)
	oh, _ := ds.OneHot()
	fmt.Println(ds.Y().Shape(), "->", oh.Y().Shape(), oh.YShape(), oh.NumClasses())
	// Output:
	// (150) -> (150, 3) (3) 3
}

func ExampleReadCSV() {
	text := `size,rooms,price
70,3,250
120,5,410
45,2,180
`
	ds, err := datasets.ReadCSV(strings.NewReader(text), "houses.csv", datasets.CSVOptions{Header: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ds.X().Shape(), ds.Y().Shape(), ds.Y().Float64s())

	_, err = datasets.ReadCSV(strings.NewReader("1,2\n3,x\n"), "bad.csv", datasets.CSVOptions{})
	fmt.Println(err)
	// Output:
	// (3, 2) (3, 1) [250 410 180]
	// datasets: bad.csv:2:2: cannot parse "x" as a number
}

func ExampleIris() {
	ds, _ := datasets.Iris(tensor.Float64)
	fmt.Println(ds, datasets.IrisClassNames())
	// Output:
	// Dataset{N: 150, X: (150, 4), Y: (150), float64, 3 classes} [setosa versicolor virginica]
}

func ExampleDigits() {
	ds, _ := datasets.Digits(tensor.Float32)
	fmt.Println(ds, ds.XShape())
	// Output:
	// Dataset{N: 1797, X: (1797, 64), Y: (1797), float32, 10 classes} (64)
}

// Download MNIST into a cache (once; later runs find the files there and
// only check their sums), then load it. This example is compiled but not
// run, as it needs the network.
func ExampleLoadMNIST() {
	dir, err := datasets.DownloadMNIST(context.Background(), datasets.MNIST, filepath.Join(os.TempDir(), "descent-data"))
	if err != nil {
		fmt.Println(err)
		return
	}
	train, test, err := datasets.LoadMNISTWith(context.Background(), dir, datasets.MNISTOptions{Dtype: tensor.Float32, Layout: datasets.NCHW})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(train)
	fmt.Println(test)
	// Prints:
	// Dataset{N: 60000, X: (60000, 1, 28, 28), Y: (60000), float32, 10 classes}
	// Dataset{N: 10000, X: (10000, 1, 28, 28), Y: (10000), float32, 10 classes}
}

// A Downloader fetches files into a cache and checks their SHA-256 sums;
// here from a local server standing in for a mirror.
func ExampleDownloader() {
	content := []byte("hello, cache\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(content)
	}))
	defer srv.Close()
	sum := sha256.Sum256(content)

	cache, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(cache)
	d := &datasets.Downloader{
		BaseURLs: []string{srv.URL + "/files/"},
		Files:    map[string]string{"hello.txt": hex.EncodeToString(sum[:])},
	}
	if err := d.Fetch(context.Background(), cache); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := os.ReadFile(filepath.Join(cache, "hello.txt"))
	fmt.Print(string(b))

	d.Files["hello.txt"] = strings.Repeat("0", 64) // the wrong sum
	err := d.Fetch(context.Background(), cache)
	fmt.Println(err != nil)
	// Output:
	// hello, cache
	// true
}

// LinearRegression returns the true weights, which a model should recover.
func ExampleLinearRegression() {
	ds, w, b, err := datasets.LinearRegression(1000, 3, 0.1, 1, tensor.Float64)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ds)
	fmt.Printf("y = %.3f x0 + %.3f x1 + %.3f x2 + %.3f + noise\n", w[0], w[1], w[2], b)
	// Output:
	// Dataset{N: 1000, X: (1000, 3), Y: (1000, 1), float64}
	// y = -1.439 x0 + -2.359 x1 + 2.734 x2 + -0.323 + noise
}

// Quadratic builds a least-squares problem whose Hessian has condition
// number kappa: smallest eigenvalue 1 and largest kappa, so the step size
// 1/L is 1/kappa.
func ExampleQuadratic() {
	ds, w, err := datasets.Quadratic(500, 10, 100, 1, tensor.Float64)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ds, len(w))
	// Output:
	// Dataset{N: 500, X: (500, 10), Y: (500, 1), float64} 10
}

// TwoMoons, Spirals and Blobs are classification problems of growing
// difficulty for a linear model.
func ExampleTwoMoons() {
	moons, _ := datasets.TwoMoons(200, 0.1, 1, tensor.Float64)
	spirals, _ := datasets.Spirals(300, 3, 0.05, 1, tensor.Float64)
	blobs, _ := datasets.Blobs(300, 3, 2, 1.0, 1, tensor.Float64)
	fmt.Println(moons)
	fmt.Println(spirals)
	fmt.Println(blobs)
	// Output:
	// Dataset{N: 200, X: (200, 2), Y: (200), float64, 2 classes}
	// Dataset{N: 300, X: (300, 2), Y: (300), float64, 3 classes}
	// Dataset{N: 300, X: (300, 2), Y: (300), float64, 3 classes}
}

// WriteShards converts any Source (here the embedded iris data) to shards;
// OpenShards streams them back, shuffled through a buffer, with a
// goroutine reading ahead.
func ExampleWriteShards() {
	iris, err := datasets.Iris(tensor.Float32)
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "shards")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	man, err := datasets.WriteShards(context.Background(), dir, iris, datasets.ShardWriteOptions{ExamplesPerShard: 64, Shuffle: true, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(man.Shards), "shards:", man.Shards[0].Examples, man.Shards[1].Examples, man.Shards[2].Examples)

	shards, err := datasets.OpenShards(dir, datasets.StreamOptions{ShuffleBuffer: 32, Prefetch: 16})
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := shards.Open(context.Background(), datasets.Pass{Epoch: 0, Seed: 7, Shuffle: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	x := tensor.New(tensor.WithShape(50, 4), tensor.Of(tensor.Float32))
	y := tensor.New(tensor.WithShape(50), tensor.Of(tensor.Float32))
	total := 0
	for {
		n, err := st.Read(x, y, 50)
		total += n
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println(shards.Len(), "examples in the manifest,", total, "read")
	// Output:
	// 3 shards: 64 64 22
	// 150 examples in the manifest, 150 read
}
