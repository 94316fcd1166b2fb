// Package kernels holds descent's numeric kernels: the matrix products
// (Sgemm, Dgemm: Go assembly micro-kernels for AVX2/FMA, pure-Go fallbacks,
// or OpenBLAS with -tags openblas), the convolution and pooling kernels
// built on them (Im2col, Col2im, MaxPool), and the elementwise loops of a
// training step's update (Axpy, Axpby, Momentum, Finite; AVX2 with Go
// fallbacks of the same bits). They work on plain row-major slices and know
// nothing of graphs: graph's machine and fused ops and the trainers call
// them. The work is split over one set of worker goroutines (Split for
// elementwise passes, SplitBy for passes split by unit, as graph's
// BatchNorm by channel, Spread for data-parallel replicas, Hold to keep a
// small step on one core). Everything here is deterministic (the same
// inputs give the same bits whatever the number of cores or the split) and
// allocates nothing in the steady state.
package kernels
