package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
)

// LoadMNIST loads MNIST ("mnist") or Fashion-MNIST ("fashion") as float32
// in the given layout: flat (N, 784) or NCHW (N, 1, 28, 28). Without dir it
// uses shared/data/<set> in the working directory or its closest parent that
// has one (the project's shared copy), and otherwise downloads into the user
// cache, verifying checksums.
func LoadMNIST(ctx context.Context, set, dir string, layout datasets.ImageLayout) (train, test *datasets.Dataset, err error) {
	which, ok := map[string]datasets.MNISTSet{"mnist": datasets.MNIST, "fashion": datasets.FashionMNIST}[set]
	folder := map[string]string{"mnist": "mnist", "fashion": "fashion-mnist"}[set]
	if !ok {
		return nil, nil, fmt.Errorf("unknown data set %q (want mnist or fashion)", set)
	}
	if dir == "" {
		dir = SharedData(folder)
	}
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return nil, nil, err
		}
		cache = filepath.Join(cache, "descent")
		if dir, err = datasets.DownloadMNIST(ctx, which, cache); err != nil {
			return nil, nil, err
		}
	}
	return datasets.LoadMNISTWith(ctx, dir, datasets.MNISTOptions{Dtype: tensor.Float32, Layout: layout})
}

// SharedData finds shared/data/<folder> holding the training images in the
// working directory or its closest parent, or "".
func SharedData(folder string) string {
	d, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		cand := filepath.Join(d, "shared", "data", folder)
		for _, f := range []string{"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"} {
			if _, err := os.Stat(filepath.Join(cand, f)); err == nil {
				return cand
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}
