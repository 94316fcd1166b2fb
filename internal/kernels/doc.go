// Package kernels holds descent's numeric kernels: the matrix products
// (Sgemm, Dgemm: Go assembly micro-kernels for AVX2/FMA, pure-Go fallbacks,
// or OpenBLAS with -tags openblas), and the convolution and pooling kernels
// built on them (Im2col, Col2im, MaxPool). They work on plain row-major
// slices and know nothing of graphs: graph's machine and fused ops call
// them. Everything here is deterministic (the same inputs give the same bits
// whatever the number of cores) and allocates nothing in the steady state.
package kernels
