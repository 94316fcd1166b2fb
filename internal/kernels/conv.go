package kernels

import "gonum.org/v1/gonum/blas"

// Conv is the geometry of a 2-D convolution, as gorgonia's Conv2d computes
// it: an NCHW input (N, C, H, W), F filters (F, C, K, K), the same stride S
// and zero padding P on both axes, an output (N, F, OutH, OutW).
//
// The convolution is a matrix product over im2col's matrix: col (R × NP),
// R = C·K·K rows (one per filter tap), NP = N·OutH·OutW columns (one per
// output position of the whole batch), so that
//
//	forward   t  (F × NP) = w (F × R) · col,        y = t with (N, F) swapped
//	filters   dw (F × R)  = dyᵗ (F × NP) · colᵀ     (dyᵗ: dy with (N, F) swapped)
//	input     dcol (R × NP) = wᵀ · dyᵗ,             dx = col2im(dcol)
//
// one product each, over the whole batch, on Sgemm/Dgemm (split over the
// cores by rows or, for few filters, by columns). The caller owns every
// buffer: col and dcol of ColLen, t of TLen; nothing is allocated.
type Conv struct{ N, C, H, W, F, K, S, P int }

// OutH and OutW are the output's height and width.
func (c Conv) OutH() int { return (c.H+2*c.P-c.K)/c.S + 1 }

// OutW is the output's width.
func (c Conv) OutW() int { return (c.W+2*c.P-c.K)/c.S + 1 }

// ColLen is the length of im2col's matrix.
func (c Conv) ColLen() int { return c.C * c.K * c.K * c.N * c.OutH() * c.OutW() }

// TLen is the length of a filter-major output or gradient.
func (c Conv) TLen() int { return c.F * c.N * c.OutH() * c.OutW() }

// Forward32 computes y (N, F, OutH, OutW) from x and w, filling col with
// im2col's matrix of x (which Filters32 can reuse) and using t.
func (c Conv) Forward32(x, w, col, t, y []float32) { convForward(c, gemm32, x, w, col, t, y) }

// Forward64 is Forward32 for float64.
func (c Conv) Forward64(x, w, col, t, y []float64) { convForward(c, gemm64, x, w, col, t, y) }

// Filters32 computes the filters' gradient dw (F, C, K, K) from col (im2col
// of x, as Forward32 or Im2col32 left it) and the output's gradient dy,
// using t.
func (c Conv) Filters32(col, dy, t, dw []float32) {
	r, np := c.C*c.K*c.K, c.N*c.OutH()*c.OutW()
	swapNF(c, t, dy, true)
	sgemmNT(c.F, r, np, t, np, col, np, dw, r)
}

// Filters64 is Filters32 for float64.
func (c Conv) Filters64(col, dy, t, dw []float64) { convFilters(c, gemm64, col, dy, t, dw) }

// Input32 computes the input's gradient dx (N, C, H, W) from w and dy, using
// dcol and t.
func (c Conv) Input32(w, dy, dcol, t, dx []float32) { convInput(c, gemm32, w, dy, dcol, t, dx) }

// Input64 is Input32 for float64.
func (c Conv) Input64(w, dy, dcol, t, dx []float64) { convInput(c, gemm64, w, dy, dcol, t, dx) }

// Im2col32 fills col with im2col's matrix of x.
func (c Conv) Im2col32(x, col []float32) { im2col(c, x, col) }

// Im2col64 is Im2col32 for float64.
func (c Conv) Im2col64(x, col []float64) { im2col(c, x, col) }

type gemmFunc[T float] func(tA, tB blas.Transpose, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int)

func convForward[T float](c Conv, gemm gemmFunc[T], x, w, col, t, y []T) {
	r, np := c.C*c.K*c.K, c.N*c.OutH()*c.OutW()
	im2col(c, x, col)
	gemm(blas.NoTrans, blas.NoTrans, c.F, np, r, w, r, col, np, t, np)
	swapNF(c, t, y, false)
}

func convFilters[T float](c Conv, gemm gemmFunc[T], col, dy, t, dw []T) {
	r, np := c.C*c.K*c.K, c.N*c.OutH()*c.OutW()
	swapNF(c, t, dy, true)
	gemm(blas.NoTrans, blas.Trans, c.F, r, np, t, np, col, np, dw, r)
}

func convInput[T float](c Conv, gemm gemmFunc[T], w, dy, dcol, t, dx []T) {
	r, np := c.C*c.K*c.K, c.N*c.OutH()*c.OutW()
	swapNF(c, t, dy, true)
	gemm(blas.Trans, blas.NoTrans, r, np, c.F, w, r, t, np, dcol, np)
	col2im(c, dcol, dx)
}

// swapNF copies between t (F, N, P) and y (N, F, P), P = OutH·OutW: into t
// if toT, else into y.
func swapNF[T float](c Conv, t, y []T, toT bool) {
	ps, src, dst := passSwapToY, t, y
	if toT {
		ps, src, dst = passSwapToT, y, t
	}
	runPass(ps, c, Pool{}, src, nil, dst, nil, c.N, c.TLen())
}

// swapImages is swapNF for images [n0, n1).
func swapImages[T float](c Conv, t, y []T, toT bool, n0, n1 int) {
	p := c.OutH() * c.OutW()
	for n := n0; n < n1; n++ {
		for f := 0; f < c.F; f++ {
			tr := t[(f*c.N+n)*p : (f*c.N+n+1)*p]
			yr := y[(n*c.F+f)*p : (n*c.F+f+1)*p]
			if toT {
				copy(tr, yr)
			} else {
				copy(yr, tr)
			}
		}
	}
}

// im2col fills col (R × NP): row (ci, kh, kw), column (n, oh, ow) holds
// x[n, ci, oh·S−P+kh, ow·S−P+kw], or 0 in the padding.
func im2col[T float](c Conv, x, col []T) {
	r := c.C * c.K * c.K
	runPass(passIm2col, c, Pool{}, x, nil, col, nil, r, c.ColLen())
}

// im2colRows fills rows [r0, r1) of col.
func im2colRows[T float](c Conv, x, col []T, r0, r1 int) {
	oh, ow := c.OutH(), c.OutW()
	np, hw := c.N*oh*ow, c.H*c.W
	for row := r0; row < r1; row++ {
		ci, kh, kw := row/(c.K*c.K), row/c.K%c.K, row%c.K
		dst := col[row*np : (row+1)*np]
		lo, hi := span(kw, c.P, c.S, c.W, ow)
		ylo, yhi := span(kh, c.P, c.S, c.H, oh) // output rows inside the input
		for n := 0; n < c.N; n++ {
			src := x[(n*c.C+ci)*hw : (n*c.C+ci+1)*hw]
			if c.S == 1 {
				// Output rows [ylo, yhi) hold runs of hi−lo inputs
				// between zeros; the other rows are zeros.
				out := dst[n*oh*ow : (n+1)*oh*ow]
				clear(out[:ylo*ow])
				clear(out[yhi*ow:])
				if yhi <= ylo {
					continue
				}
				if hi > lo {
					copyRows(yhi-ylo, hi-lo, src[(ylo-c.P+kh)*c.W+lo-c.P+kw:], c.W, out[ylo*ow+lo:], ow)
				}
				if lo > 0 || hi < ow {
					for y := ylo; y < yhi; y++ {
						row := out[y*ow : (y+1)*ow]
						for i := 0; i < lo; i++ {
							row[i] = 0
						}
						for i := hi; i < ow; i++ {
							row[i] = 0
						}
					}
				}
				continue
			}
			for y := 0; y < oh; y++ {
				out := dst[(n*oh+y)*ow : (n*oh+y+1)*ow]
				ih := y*c.S - c.P + kh
				if ih < 0 || ih >= c.H {
					clear(out)
					continue
				}
				in := src[ih*c.W : (ih+1)*c.W]
				clear(out[:lo])
				clear(out[hi:])
				if c.S == 1 {
					copy(out[lo:hi], in[lo-c.P+kw:])
					continue
				}
				for x := lo; x < hi; x++ {
					out[x] = in[x*c.S-c.P+kw]
				}
			}
		}
	}
}

// col2im sets dx to the sum, over col's entries, of each entry at the input
// position im2col took it from (padding dropped).
func col2im[T float](c Conv, col, dx []T) {
	runPass(passCol2im, c, Pool{}, col, nil, dx, nil, c.N, c.ColLen())
}

// col2imImages is col2im for images [n0, n1). Each input value sums its
// entries in the order of col's rows, whatever the split.
func col2imImages[T float](c Conv, col, dx []T, n0, n1 int) {
	chw := c.C * c.H * c.W
	clear(dx[n0*chw : n1*chw])
	oh, ow := c.OutH(), c.OutW()
	np, hw := c.N*oh*ow, c.H*c.W
	row := 0
	for ci := 0; ci < c.C; ci++ {
		for kh := 0; kh < c.K; kh++ {
			for kw := 0; kw < c.K; kw++ {
				src := col[row*np : (row+1)*np]
				row++
				lo, hi := span(kw, c.P, c.S, c.W, ow)
				ylo, yhi := span(kh, c.P, c.S, c.H, oh)
				for n := n0; n < n1; n++ {
					dst := dx[(n*c.C+ci)*hw : (n*c.C+ci+1)*hw]
					if c.S == 1 {
						if yhi > ylo && hi > lo {
							addRows(yhi-ylo, hi-lo, src[(n*oh+ylo)*ow+lo:(n+1)*oh*ow], ow, dst[(ylo-c.P+kh)*c.W+lo-c.P+kw:], c.W)
						}
						continue
					}
					for y := 0; y < oh; y++ {
						ih := y*c.S - c.P + kh
						if ih < 0 || ih >= c.H {
							continue
						}
						in := src[(n*oh+y)*ow : (n*oh+y+1)*ow]
						out := dst[ih*c.W : (ih+1)*c.W]
						for x := lo; x < hi; x++ {
							out[x*c.S-c.P+kw] += in[x]
						}
					}
				}
			}
		}
	}
}

// span is the range [lo, hi) of output columns x whose input column
// x·s−p+k lies inside [0, w).
func span(k, p, s, w, out int) (lo, hi int) {
	// x·s ≥ p−k  ⇔  x ≥ ceil((p−k)/s);  x·s < w+p−k  ⇔  x ≤ (w+p−k−1)/s.
	if d := p - k; d > 0 {
		lo = (d + s - 1) / s
	}
	hi = out
	if d := w + p - k - 1; d < 0 {
		hi = 0
	} else if m := d/s + 1; m < hi {
		hi = m
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}
