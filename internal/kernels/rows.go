package kernels

import "unsafe"

// copyRows sets dst[r*ldd+j] = src[r*lds+j] for r < rows, j < w: im2col's
// runs of one output row each, eight float32s at a time (and the rest
// masked) in assembly where the CPU has AVX2: memmove's call costs more than
// an 8- or 28-value copy.
func copyRows[T float](rows, w int, src []T, lds int, dst []T, ldd int) {
	if rows <= 0 || w <= 0 {
		return
	}
	_, _ = src[(rows-1)*lds+w-1], dst[(rows-1)*ldd+w-1]
	if haveKernel && unsafe.Sizeof(src[0]) == 4 {
		copyRows32(rows, w, (*float32)(unsafe.Pointer(&src[0])), lds, (*float32)(unsafe.Pointer(&dst[0])), ldd)
		return
	}
	for r := 0; r < rows; r++ {
		copy(dst[r*ldd:r*ldd+w], src[r*lds:r*lds+w])
	}
}

// addRows sets dst[r*ldd+j] += src[r*lds+j] for r < rows, j < w (col2im's
// runs), one rounded addition each however it is computed.
func addRows[T float](rows, w int, src []T, lds int, dst []T, ldd int) {
	if rows <= 0 || w <= 0 {
		return
	}
	_, _ = src[(rows-1)*lds+w-1], dst[(rows-1)*ldd+w-1]
	if haveKernel && unsafe.Sizeof(src[0]) == 4 {
		addRows32(rows, w, (*float32)(unsafe.Pointer(&src[0])), lds, (*float32)(unsafe.Pointer(&dst[0])), ldd)
		return
	}
	for r := 0; r < rows; r++ {
		d, s := dst[r*ldd:r*ldd+w], src[r*lds:r*lds+w]
		for i, v := range s {
			d[i] += v
		}
	}
}
