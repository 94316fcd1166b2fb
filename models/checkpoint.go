package models

import (
	"io"
	"os"

	"github.com/pkg/errors"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/atomicfile"
	"github.com/descent-go/descent/internal/ckpt"
)

// A checkpoint file holds named tensors, each with a role — a model
// parameter, a buffer, an optimizer's or a callback's state —, a progress
// record and a SHA-256 checksum; the layout is documented in internal/ckpt.
// Save writes the weights only; a training checkpoint written by the
// trainers (trainers.Checkpoint) holds the whole training state, and Load
// reads the weights from either, and from a checkpoint of format version 1.
//
// Readers reject other magics, versions (naming the version) and dtype codes,
// then truncated files, checksum mismatches, trailing bytes and implausible
// sizes, never allocating more than the input's own size for them.

// Save writes p to w in the checkpoint format. Parameters the format cannot
// hold (a scalar, more than 8 dimensions, a name longer than 65535 bytes, more
// than 2^31−1 elements) are reported before anything is written.
func Save(w io.Writer, p *graph.Params) error {
	if p == nil {
		return errors.New("models: Save: nil params")
	}
	if w == nil {
		return errors.New("models: Save: nil writer")
	}
	if err := p.Validate(); err != nil {
		return errors.Wrap(err, "models: Save")
	}
	f := &ckpt.File{Dtype: p.Dtype(), Seed: p.Seed(), Tensors: ckpt.Weights(p)}
	return errors.Wrap(ckpt.Encode(w, f), "models: Save")
}

// SaveFile writes p to path atomically: to a temporary file in the same
// directory, synced, then renamed over path, so a crash or a full disk never
// leaves a partial checkpoint where a good one was. On failure the file at
// path, if any, is untouched and the temporary file is removed.
func SaveFile(path string, p *graph.Params) error {
	if p == nil {
		return errors.Errorf("models: SaveFile %s: nil params", path)
	}
	err := atomicfile.Write(path, func(f *os.File) error { return Save(f, p) })
	return errors.Wrapf(err, "models: SaveFile %s", path)
}

// Load reads a checkpoint, to the end of r, into new Params.
func Load(r io.Reader) (*graph.Params, error) {
	p, err := load(r)
	if err != nil {
		return nil, errors.Wrap(err, "models: Load")
	}
	return p, nil
}

// LoadFile reads the checkpoint at path into new Params.
func LoadFile(path string) (*graph.Params, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Wrap(err, "models: LoadFile")
	}
	defer f.Close()
	p, err := load(f)
	if err != nil {
		return nil, errors.Wrapf(err, "models: LoadFile %s", path)
	}
	return p, nil
}

// LoadInto reads a checkpoint and copies it into p, whose parameters (made
// by training or by Init) must match it exactly: a missing or extra
// parameter, or a shape or dtype that differs, is an error naming it, and p
// is then left unchanged. Graphs already bound to p see the loaded values;
// p keeps its own seed.
func LoadInto(p *graph.Params, r io.Reader) error {
	if p == nil {
		return errors.New("models: LoadInto: nil params (make them with graph.NewParams and Init)")
	}
	q, err := load(r)
	if err != nil {
		return errors.Wrap(err, "models: LoadInto")
	}
	if err := p.CopyFrom(q); err != nil {
		return errors.Wrap(err, "models: LoadInto: the checkpoint does not match the model")
	}
	return nil
}

func load(r io.Reader) (*graph.Params, error) {
	f, err := ckpt.Decode(r)
	if err != nil {
		return nil, err
	}
	return f.Params()
}
