package datasets

import (
	"context"
	"encoding/binary"
	"io"
	"math"
	"math/rand"
	"unsafe"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/rng"
)

// StreamOptions say how a streamed Source (Shards, IDXStream, CSVStream)
// reads a pass. Memory is bounded by these, never by the data set: about
// (ShuffleBuffer + Prefetch + 2 chunks) records, plus one 1 MiB read buffer.
type StreamOptions struct {
	// ShuffleBuffer is the number of examples held to shuffle the stream
	// (tf.data's shuffle buffer): each example read replaces a random one
	// of the buffer, which is emitted. 0 holds none: a shuffled pass of
	// Shards then only permutes the order of the shards.
	ShuffleBuffer int
	// Prefetch is the number of examples a goroutine reads ahead of the
	// trainer, so that reading overlaps training. 0 reads on the caller's
	// goroutine, in Read.
	Prefetch int
	// MaxBytes, if positive, is a budget: Open fails if the shuffle
	// buffer, the prefetched examples and the read buffers could hold
	// more bytes than this. 0 sets no budget.
	MaxBytes int64
}

// readBufSize is the size of the buffered reader of a streamed file.
const readBufSize = 1 << 20

// maxChunkBytes bounds one chunk of prefetched records.
const maxChunkBytes = 1 << 20

// A recordIter yields the records of one part's pass in storage order: x's
// values then y's, little-endian in the source's dtype.
type recordIter interface {
	// next fills dst with the next record, or returns io.EOF at the end of
	// the pass, or an error naming the file and offset.
	next(dst []byte) error
	close() error
}

// streamShape is what a streamed source's Stream needs to decode records.
type streamShape struct {
	dt             tensor.Dtype
	xshape, yshape tensor.Shape
	xf, yf         int // values per example
	esize          int // bytes per value
}

func newStreamShape(dt tensor.Dtype, xs, ys tensor.Shape) streamShape {
	e := int(dt.Size())
	if ys == nil {
		ys = tensor.Shape{}
	}
	return streamShape{dt: dt, xshape: xs.Clone(), yshape: ys.Clone(), xf: sizeOf(xs), yf: sizeOf(ys), esize: e}
}

func (s streamShape) recBytes() int { return (s.xf + s.yf) * s.esize }

// chunkRecords is the number of records per chunk of a stream.
func (s streamShape) chunkRecords(prefetch int) int {
	c := maxChunkBytes / s.recBytes()
	if c < 1 {
		c = 1
	}
	if prefetch > 0 && prefetch < c {
		c = prefetch
	}
	return c
}

// memoryBytes is the most a stream with these options holds in records and
// read buffers.
func (s streamShape) memoryBytes(o StreamOptions) int64 {
	c := s.chunkRecords(o.Prefetch)
	depth := 0
	if o.Prefetch > 0 {
		depth = (o.Prefetch + c - 1) / c
	}
	rec := int64(s.recBytes())
	const small = 64 << 10 // a generator, scratch records, the structs
	return rec*int64(o.ShuffleBuffer) + rec*int64(c)*int64(depth+2) + readBufSize + 2*rec + small
}

func checkStreamOptions(op string, o StreamOptions, sh streamShape) error {
	if sh.recBytes() > maxRecordBytes {
		return errors.Errorf("datasets: %s: examples of %d values (%d bytes) exceed %d bytes", op, sh.xf+sh.yf, sh.recBytes(), maxRecordBytes)
	}
	if o.ShuffleBuffer < 0 || o.Prefetch < 0 || o.MaxBytes < 0 {
		return errors.Errorf("datasets: %s: StreamOptions %+v: negative values", op, o)
	}
	const limit = 1 << 24
	if o.ShuffleBuffer > limit || o.Prefetch > limit {
		return errors.Errorf("datasets: %s: StreamOptions %+v: ShuffleBuffer and Prefetch are at most %d examples", op, o, limit)
	}
	if m := sh.memoryBytes(o); o.MaxBytes > 0 && m > o.MaxBytes {
		return errors.Errorf("datasets: %s: shuffle buffer %d and prefetch %d of %d-byte examples need %d bytes, over the budget MaxBytes = %d", op, o.ShuffleBuffer, o.Prefetch, sh.recBytes(), m, o.MaxBytes)
	}
	return nil
}

// forPart bounds the buffers of a pass by the n examples it holds, so that
// no allocation exceeds what the data can fill.
func (o StreamOptions) forPart(n int) StreamOptions {
	if o.ShuffleBuffer > n {
		o.ShuffleBuffer = n
	}
	if o.Prefetch > n {
		o.Prefetch = n
	}
	return o
}

// pipe turns a recordIter into the pass's order: through the shuffle
// buffer, after skipping.
type pipe struct {
	it   recordIter
	rec  int
	buf  []byte // shuffle buffer: cap records of rec bytes
	cap  int
	n    int // records in buf
	r    *rand.Rand
	skip int
	eof  bool
	tmp  []byte
}

func newPipe(it recordIter, rec int, p Pass, part int, o StreamOptions) *pipe {
	pp := &pipe{it: it, rec: rec, skip: p.Skip, tmp: make([]byte, rec)}
	if p.Shuffle && o.ShuffleBuffer > 0 {
		pp.cap = o.ShuffleBuffer
		pp.buf = make([]byte, 0, o.ShuffleBuffer*rec)
		pp.r = rng.New(p.Seed, "shuffle buffer", uint64(p.Epoch), uint64(part))
	}
	return pp
}

// one writes the pass's next record into dst.
func (p *pipe) one(dst []byte) error {
	if p.cap == 0 {
		return p.it.next(dst)
	}
	for !p.eof && p.n < p.cap { // fill
		p.buf = p.buf[:(p.n+1)*p.rec]
		if err := p.it.next(p.buf[p.n*p.rec:]); err != nil {
			p.buf = p.buf[:p.n*p.rec]
			if err != io.EOF {
				return err
			}
			p.eof = true
			break
		}
		p.n++
	}
	if p.n == 0 {
		return io.EOF
	}
	j := p.r.Intn(p.n)
	slot := p.buf[j*p.rec : (j+1)*p.rec]
	copy(dst, slot)
	if !p.eof {
		err := p.it.next(slot)
		if err == nil {
			return nil
		}
		if err != io.EOF {
			return err
		}
		p.eof = true
	}
	// drain: move the last record into the hole
	p.n--
	copy(slot, p.buf[p.n*p.rec:(p.n+1)*p.rec])
	p.buf = p.buf[:p.n*p.rec]
	return nil
}

// fill writes up to len(dst)/rec records into dst and returns how many,
// with io.EOF once the pass is over or the error that stopped it.
func (p *pipe) fill(dst []byte) (int, error) {
	for p.skip > 0 {
		if err := p.one(p.tmp); err != nil {
			if err == io.EOF {
				return 0, errors.Errorf("datasets: the pass ended before the %d examples to skip", p.skip)
			}
			return 0, err
		}
		p.skip--
	}
	k := 0
	for ; (k+1)*p.rec <= len(dst); k++ {
		if err := p.one(dst[k*p.rec : (k+1)*p.rec]); err != nil {
			return k, err
		}
	}
	return k, nil
}

// chunk is a run of records handed from the reader to Read.
type chunk struct {
	data   []byte
	n, off int
	err    error
}

// pipeStream is the Stream of a streamed source, with or without a
// prefetching goroutine.
type pipeStream struct {
	sh  streamShape
	p   *pipe
	ctx context.Context
	cur *chunk
	err error

	// prefetching
	ch, free chan *chunk
	cancel   func()
	exited   chan struct{}
	closed   bool
}

// newPipeStream starts a Stream over p; with o.Prefetch > 0 a goroutine
// fills chunks ahead. The stream owns p.it and closes it.
func newPipeStream(ctx context.Context, sh streamShape, p *pipe, o StreamOptions) *pipeStream {
	s := &pipeStream{sh: sh, p: p, ctx: ctx}
	c := sh.chunkRecords(o.Prefetch)
	if o.Prefetch == 0 {
		s.cur = &chunk{data: make([]byte, c*sh.recBytes())}
		return s
	}
	depth := (o.Prefetch + c - 1) / c
	s.ch = make(chan *chunk, depth)
	s.free = make(chan *chunk, depth+2)
	for i := 0; i < depth+2; i++ {
		s.free <- &chunk{data: make([]byte, c*sh.recBytes())}
	}
	pctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.exited = make(chan struct{})
	go s.produce(pctx)
	return s
}

func (s *pipeStream) produce(ctx context.Context) {
	defer close(s.exited)
	for {
		var c *chunk
		select {
		case c = <-s.free:
		case <-ctx.Done():
			return
		}
		c.n, c.err = s.p.fill(c.data)
		c.off = 0
		select {
		case s.ch <- c:
		case <-ctx.Done():
			return
		}
		if c.err != nil {
			return
		}
	}
}

// nextChunk makes s.cur a chunk with unread records or an error.
func (s *pipeStream) nextChunk() error {
	if s.ch == nil {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		s.cur.n, s.cur.err = s.p.fill(s.cur.data)
		s.cur.off = 0
		return nil
	}
	if s.cur != nil {
		s.free <- s.cur
		s.cur = nil
	}
	select {
	case c := <-s.ch:
		s.cur = c
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

func (s *pipeStream) Read(x, y *tensor.Dense, n int) (int, error) {
	if s.closed {
		return 0, errors.New("datasets: Stream.Read: stream is closed")
	}
	if n < 0 {
		return 0, errors.Errorf("datasets: Stream.Read: n = %d is negative", n)
	}
	if s.err != nil {
		return 0, s.err
	}
	if err := checkDest("Stream.Read", "X", x, s.sh.dt, s.sh.xshape, n); err != nil {
		return 0, err
	}
	if err := checkDest("Stream.Read", "Y", y, s.sh.dt, s.sh.yshape, n); err != nil {
		return 0, err
	}
	got := 0
	for got < n {
		if s.cur == nil || s.cur.off == s.cur.n {
			if s.cur != nil && s.cur.err != nil {
				// the chunk's records are used up: its error is next
				s.err = s.cur.err // io.EOF, or an error naming the file
				break
			}
			if err := s.nextChunk(); err != nil {
				s.err = errors.Wrap(err, "datasets: Stream.Read")
				break
			}
			continue
		}
		k := s.cur.n - s.cur.off
		if k > n-got {
			k = n - got
		}
		s.decode(x, y, got, s.cur.data[s.cur.off*s.sh.recBytes():(s.cur.off+k)*s.sh.recBytes()])
		s.cur.off += k
		got += k
	}
	if s.err == io.EOF && got > 0 {
		return got, nil // the end of the pass: io.EOF on the next call
	}
	return got, s.err // an error is returned at the read that meets it
}

// decode writes the records in b into rows row, row+1, ... of x and y.
func (s *pipeStream) decode(x, y *tensor.Dense, row int, b []byte) {
	xf, yf := s.sh.xf, s.sh.yf
	if s.sh.dt == tensor.Float32 {
		xd, yd := x.Float32s()[row*xf:], y.Float32s()[row*yf:]
		if littleEndian {
			// the records' bytes are the values' memory: copy them
			xb, yb := bytesOf32(xd), bytesOf32(yd)
			decodeLE(xb, yb, 4*xf, 4*yf, b)
			return
		}
		decode32(xd, yd, xf, yf, b)
		return
	}
	xd, yd := x.Float64s()[row*xf:], y.Float64s()[row*yf:]
	if littleEndian {
		decodeLE(bytesOf64(xd), bytesOf64(yd), 8*xf, 8*yf, b)
		return
	}
	for k := 0; len(b) > 0; k++ {
		for i := 0; i < xf; i++ {
			xd[k*xf+i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
		b = b[8*xf:]
		for i := 0; i < yf; i++ {
			yd[k*yf+i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
		b = b[8*yf:]
	}
}

// decodeLE splits records of xb+yb bytes into the byte views of x and y.
func decodeLE(xd, yd []byte, xb, yb int, b []byte) {
	for k := 0; len(b) > 0; k++ {
		copy(xd[k*xb:(k+1)*xb], b[:xb])
		copy(yd[k*yb:(k+1)*yb], b[xb:xb+yb])
		b = b[xb+yb:]
	}
}

// littleEndian reports whether this machine stores values little-endian,
// the order of the records: then decoding is a copy.
var littleEndian = func() bool {
	v := uint16(1)
	return *(*byte)(unsafe.Pointer(&v)) == 1
}()

func bytesOf32(d []float32) []byte {
	if len(d) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), len(d)*4)
}

func bytesOf64(d []float64) []byte {
	if len(d) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), len(d)*8)
}

func decode32(xd, yd []float32, xf, yf int, b []byte) {
	for k := 0; len(b) > 0; k++ {
		xr := xd[k*xf : (k+1)*xf]
		for i := range xr {
			xr[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		b = b[4*xf:]
		yr := yd[k*yf : (k+1)*yf]
		for i := range yr {
			yr[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		b = b[4*yf:]
	}
}

// Close stops the prefetching goroutine, waits for it, and closes the
// files. It may be called more than once.
func (s *pipeStream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.cancel != nil {
		s.cancel()
		<-s.exited
	}
	return s.p.it.close()
}

// encodeRow appends example k of x and y (flat values xf and yf per
// example) to dst as a record, little-endian in dt.
func encodeRow(dst []byte, dt tensor.Dtype, x, y *tensor.Dense, k, xf, yf int) []byte {
	if dt == tensor.Float32 {
		for _, v := range x.Float32s()[k*xf : (k+1)*xf] {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
		}
		for _, v := range y.Float32s()[k*yf : (k+1)*yf] {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
		}
		return dst
	}
	for _, v := range x.Float64s()[k*xf : (k+1)*xf] {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
	}
	for _, v := range y.Float64s()[k*yf : (k+1)*yf] {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
	}
	return dst
}

// putValue writes v as value i of a record in dt.
func putValue(rec []byte, dt tensor.Dtype, i int, v float64) {
	if dt == tensor.Float32 {
		binary.LittleEndian.PutUint32(rec[4*i:], math.Float32bits(float32(v)))
		return
	}
	binary.LittleEndian.PutUint64(rec[8*i:], math.Float64bits(v))
}

// checkRecord reports the first non-finite target value of a record, or a
// class index (the single y value when cls) that is not an integer in
// range, as the value index and a description. Input values are not
// scanned: the record's CRC already proves them the values WriteShards
// wrote from a checked Source, and a non-finite input written by another
// tool shows up as a non-finite loss, which the trainers report.
func checkRecord(rec []byte, dt tensor.Dtype, xf, yf int, cls bool) (int, string, bool) {
	for i := xf; i < xf+yf; i++ {
		var v float64
		if dt == tensor.Float32 {
			v = float64(math.Float32frombits(binary.LittleEndian.Uint32(rec[4*i:])))
		} else {
			v = math.Float64frombits(binary.LittleEndian.Uint64(rec[8*i:]))
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return i, "not finite", true
		}
		if cls && (v < 0 || v != math.Trunc(v) || v >= maxClasses) {
			return i, "not a class index", true
		}
	}
	return 0, "", false
}
