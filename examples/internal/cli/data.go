package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
)

// LoadMNIST loads MNIST ("mnist") or Fashion-MNIST ("fashion") as float32,
// flat (N, 784) or, with nchw, (N, 1, 28, 28). Without dir it uses the
// project's shared copy (../shared/data/<set> beside the repository) when
// there is one, and otherwise downloads into the user cache, verifying
// checksums.
func LoadMNIST(ctx context.Context, set, dir string, nchw bool) (train, test *datasets.Dataset, err error) {
	folder := map[string]string{"mnist": "mnist", "fashion": "fashion-mnist"}[set]
	if folder == "" {
		return nil, nil, fmt.Errorf("unknown data set %q (want mnist or fashion)", set)
	}
	if dir == "" {
		dir = sharedData(folder)
	}
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return nil, nil, err
		}
		cache = filepath.Join(cache, "descent")
		if set == "mnist" {
			dir, err = datasets.DownloadMNIST(ctx, cache)
		} else {
			dir, err = datasets.DownloadFashionMNIST(ctx, cache)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	opt := datasets.MNISTOptions{Dtype: tensor.Float32}
	if nchw {
		opt.Layout = datasets.NCHW
	}
	if set == "mnist" {
		return datasets.LoadMNISTWith(dir, opt)
	}
	return datasets.LoadFashionMNISTWith(dir, opt)
}

// sharedData finds shared/data/<folder> beside the repository holding the
// working directory, or "".
func sharedData(folder string) string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p := filepath.Join(filepath.Dir(d), "shared", "data", folder)
			if _, err := os.Stat(p); err == nil {
				return p
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}
