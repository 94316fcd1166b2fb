// Package datasets holds training data for descent: a Dataset of
// examples X and targets Y stored as gorgonia tensors, a seeded mini-batch
// Iterator, splitting, standardization and one-hot encoding, loaders for CSV
// and IDX (MNIST) files, a checksummed downloader with a local cache, two small
// real data sets embedded in the package (scikit-learn's digits and Fisher's
// iris) and synthetic generators whose true parameters are known.
//
// # Datasets
//
// A Dataset holds X with shape (N, features...) and Y with shape (N, K) —
// one-hot rows or K regression targets — or (N) — class indices 0..K-1 stored
// as float values. X and Y share one dtype, tensor.Float32 or tensor.Float64.
// New validates and wraps existing tensors without copying them; FromFloat64
// copies plain slices, which is the convenient form in a notebook.
//
// # Mini-batches
//
// An Iterator walks one epoch at a time in the style of bufio.Scanner:
//
//	it, err := datasets.NewIterator(ds, datasets.Batches{Size: 32, Shuffle: true, Seed: 1})
//	if err != nil { ... }
//	for epoch := 0; epoch < 10; epoch++ {
//		for it.Next() {
//			x, y := it.Batch()
//			// feed x, y to the model
//		}
//		if err := it.Err(); err != nil { ... }
//		it.Reset() // next epoch, new order
//	}
//
// Batch size 1 is online (stochastic) gradient descent, a size B between 1
// and N is mini-batch SGD, and 0 (or any size >= N) is full-batch gradient
// descent. With Shuffle, epoch k visits the examples in an order that depends
// only on the seed and k, so a run can be repeated exactly, or resumed at
// epoch k with SetEpoch.
//
// The iterator copies each batch into buffers it owns and reuses, so a
// training loop allocates nothing per batch. A trainer that already owns the
// input tensors of a compiled graph can call Indices and Dataset.Gather
// instead, and then the data is copied once, straight into those tensors.
//
// # Larger than memory
//
// Trainers read a Source: a *Dataset, or a data set streamed from disk —
// Shards (descent's checksummed shard format, written by WriteShards),
// IDXStream or CSVStream — one pass per epoch, part r of P for each replica
// or rank. Streamed sources hold only a shuffle buffer and a few prefetched
// chunks (StreamOptions), never the data set; a shuffled pass permutes the
// shards and mixes records through the buffer, both drawn from the seed and
// the epoch. Augment applies a per-batch transform with per-example seeds.
// docs/datasets.md documents the format, the errors and the measurements.
//
// # Randomness
//
// Every random choice (shuffling, splitting, the synthetic generators) is
// drawn from github.com/descent-go/descent/internal/rng with a seed and a
// label, never from a global source: the same seed gives the same result on
// every machine and in every order of calls.
//
// # Data
//
// Digits and Iris are small classic data sets shipped with scikit-learn under
// the BSD-3-Clause license; the files and their descriptions are in the data
// folder of this package with the attribution (data/README.md). MNIST and
// Fashion-MNIST (an MNISTSet) are read from their IDX files (LoadMNIST),
// which DownloadMNIST fetches into a cache after checking their SHA-256
// sums.
//
// Errors name what was wrong and where (a file, line and column; a shape; an
// index), and are wrapped with github.com/pkg/errors. No function or method
// panics on bad input.
package datasets
