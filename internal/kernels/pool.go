package kernels

// Pool is the geometry of a 2-D max pooling, as gorgonia's MaxPool2D
// computes it without padding: an NCHW input (N, C, H, W), K×K windows
// moved by S, an output (N, C, OutH, OutW). Each output is the first
// largest value of its window, in row-major order; the gradient goes to
// that value's position (summed where windows overlap).
type Pool struct{ N, C, H, W, K, S int }

// OutH is the output's height.
func (p Pool) OutH() int { return (p.H-p.K)/p.S + 1 }

// OutW is the output's width.
func (p Pool) OutW() int { return (p.W-p.K)/p.S + 1 }

// Max32 sets y to the window maxima of x, and arg (of y's length) to their
// positions in x.
func (p Pool) Max32(x, y []float32, arg []int32) { maxPool(p, x, y, nil, nil, arg) }

// Max64 is Max32 for float64.
func (p Pool) Max64(x, y []float64, arg []int32) { maxPool(p, x, y, nil, nil, arg) }

// Scatter32 sets dx to the gradient of a pooling whose maxima Max32 found
// at arg, given dy: what MaxGrad32 computes, without searching again.
func (p Pool) Scatter32(arg []int32, dy, dx []float32) { scatter(p, arg, dy, dx) }

// Scatter64 is Scatter32 for float64.
func (p Pool) Scatter64(arg []int32, dy, dx []float64) { scatter(p, arg, dy, dx) }

func scatter[T float](p Pool, arg []int32, dy, dx []T) {
	runPass(passScatter, p.conv(), p, dy, nil, dx, arg, p.N*p.C, p.N*p.C*p.H*p.W)
}

// scatterPlanes is scatter for planes [q0, q1).
func scatterPlanes[T float](p Pool, arg []int32, dy, dx []T, q0, q1 int) {
	hw, o := p.H*p.W, p.OutH()*p.OutW()
	clear(dx[q0*hw : q1*hw])
	arg, dy = arg[q0*o:q1*o], dy[q0*o:q1*o]
	for i, at := range arg {
		dx[at] += dy[i]
	}
}

// conv is a Conv of p's batch and input size, for runPass.
func (p Pool) conv() Conv { return Conv{N: p.N, C: p.C, H: p.H, W: p.W} }

// MaxGrad32 sets dx to the gradient of the pooling of x, given dy.
func (p Pool) MaxGrad32(x, dy, dx []float32) { maxPool(p, x, nil, dy, dx, nil) }

// MaxGrad64 is MaxGrad32 for float64.
func (p Pool) MaxGrad64(x, dy, dx []float64) { maxPool(p, x, nil, dy, dx, nil) }

// maxPool finds every window's first maximum; it stores it in y (forward)
// and its position in arg (forward), or adds dy's entry to dx at its
// position (backward).
func maxPool[T float](p Pool, x, y, dy, dx []T, arg []int32) {
	if dx != nil {
		runPass(passMaxGrad, p.conv(), p, x, dy, dx, nil, p.N*p.C, p.N*p.C*p.H*p.W)
		return
	}
	runPass(passMax, p.conv(), p, x, nil, y, arg, p.N*p.C, p.N*p.C*p.H*p.W)
}

// maxPoolPlanes is maxPool for planes [q0, q1).
func maxPoolPlanes[T float](p Pool, x, y, dy, dx []T, arg []int32, q0, q1 int) {
	oh, ow, hw := p.OutH(), p.OutW(), p.H*p.W
	if dx != nil {
		clear(dx[q0*hw : q1*hw])
	} else if p.K == 2 && p.S == 2 {
		max2x2Planes(p, x, y, arg, q0, q1)
		return
	}
	o := q0 * oh * ow
	for plane := q0; plane < q1; plane++ {
		in := x[plane*hw : (plane+1)*hw]
		for r := 0; r < oh; r++ {
			for q := 0; q < ow; q++ {
				i0 := r*p.S*p.W + q*p.S
				best, at := in[i0], i0
				if p.K == 2 {
					// The maximum, then the first position holding it (the
					// first strict maximum, as gorgonia's).
					x0, x1, x2, x3 := in[i0], in[i0+1], in[i0+p.W], in[i0+p.W+1]
					best = max(max(x0, x1), max(x2, x3))
					// Which comes first: the compiler sets each k without
					// a branch (a tie of the maximum is never predictable).
					k0, k1, k2 := 0, 0, 0
					if x0 >= best { // == best
						k0 = 1
					}
					if x1 >= best {
						k1 = 1
					}
					if x2 >= best {
						k2 = 1
					}
					off := p.W + 1 - k2
					off += k1 * (1 - off)
					at = i0 + off*(1-k0)
				} else {
					for kh := 0; kh < p.K; kh++ {
						row := in[i0+kh*p.W : i0+kh*p.W+p.K]
						for kw, v := range row {
							if v > best {
								best, at = v, i0+kh*p.W+kw
							}
						}
					}
				}
				if dx != nil {
					dx[plane*hw+at] += dy[o]
				} else {
					y[o] = best
					arg[o] = int32(plane*hw + at)
				}
				o++
			}
		}
	}
}

// max2x2Planes is maxPoolPlanes' forward pass for 2×2 windows moved by 2
// (LeNet's): the same maxima and positions, a row of windows at a time
// with the bounds checked once per row.
func max2x2Planes[T float](p Pool, x, y []T, arg []int32, q0, q1 int) {
	oh, ow, hw, w := p.OutH(), p.OutW(), p.H*p.W, p.W
	o := q0 * oh * ow
	for plane := q0; plane < q1; plane++ {
		in := x[plane*hw : (plane+1)*hw]
		for r := 0; r < oh; r++ {
			top := in[2*r*w : 2*r*w+2*ow]
			bot := in[(2*r+1)*w : (2*r+1)*w+2*ow]
			ys, as := y[o:o+ow], arg[o:o+ow]
			base := int32(plane*hw + 2*r*w)
			for q := range ys {
				x0, x1, x2, x3 := top[2*q], top[2*q+1], bot[2*q], bot[2*q+1]
				best := max(max(x0, x1), max(x2, x3))
				// The first position holding the maximum, as maxPoolPlanes
				// finds it, without a branch.
				k0, k1, k2 := int32(0), int32(0), int32(0)
				if x0 >= best {
					k0 = 1
				}
				if x1 >= best {
					k1 = 1
				}
				if x2 >= best {
					k2 = 1
				}
				off := int32(w) + 1 - k2
				off += k1 * (1 - off)
				ys[q] = best
				as[q] = base + int32(2*q) + off*(1-k0)
			}
			o += ow
		}
	}
}
