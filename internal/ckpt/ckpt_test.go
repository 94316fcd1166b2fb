package ckpt

import (
	"bytes"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

func sample(t testing.TB) *File {
	mk := func(vals ...float32) *tensor.Dense {
		return tensor.New(tensor.WithShape(len(vals)), tensor.WithBacking(vals))
	}
	return &File{Dtype: tensor.Float32, Seed: -3, Meta: []byte("progress"), Tensors: []Entry{
		{Param, "w", mk(1, 2)}, {Buffer, "mean", mk(0.5)}, {Optimizer, "w", mk(3, 4)}, {Callback, "cb0/w", mk(5, 6)},
	}}
}

func encode(t testing.TB, f *File) []byte {
	var buf bytes.Buffer
	if err := Encode(&buf, f); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Every role and the metadata round-trip, canonically; one name may appear
// under several roles but not twice in one.
func TestRolesRoundTrip(t *testing.T) {
	data := encode(t, sample(t))
	f, err := Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != Version || string(f.Meta) != "progress" || len(f.Tensors) != 4 {
		t.Fatalf("decoded version %d meta %q, %d tensors", f.Version, f.Meta, len(f.Tensors))
	}
	for i, e := range sample(t).Tensors {
		if g := f.Tensors[i]; g.Role != e.Role || g.Name != e.Name || g.Tensor.Shape()[0] != e.Tensor.Shape()[0] {
			t.Errorf("tensor %d: %v %q, want %v %q", i, g.Role, g.Name, e.Role, e.Name)
		}
	}
	if again := encode(t, f); !bytes.Equal(again, data) {
		t.Error("decode then encode changed the bytes")
	}
	bad := sample(t)
	bad.Tensors[2].Role = Param
	_, err = Decode(bytes.NewReader(encode(t, bad)))
	testutil.ErrContains(t, err, `parameter "w" appears twice`)
	bad = sample(t)
	bad.Tensors[0].Role = 9
	var buf bytes.Buffer
	testutil.ErrContains(t, Encode(&buf, bad), "unknown role 9")
	if buf.Len() != 0 {
		t.Errorf("encoding an unknown role wrote %d bytes", buf.Len())
	}
}

// FuzzDecode: no input panics or allocates beyond its size, and whatever
// decodes (of the current version) encodes back to the same bytes.
func FuzzDecode(f *testing.F) {
	good := encode(f, sample(f))
	f.Add(good)
	f.Add(good[:len(good)-40])
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		if file.Version == Version && !bytes.Equal(encode(t, file), data) {
			t.Fatal("Encode(Decode(x)) != x")
		}
	})
}
