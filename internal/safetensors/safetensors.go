package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// DType is a tensor's element type as the header names it.
type DType string

// The dtypes of the format. F32 and I64 are the ones this project writes.
const (
	Bool DType = "BOOL"
	U8   DType = "U8"
	I8   DType = "I8"
	I16  DType = "I16"
	U16  DType = "U16"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I32  DType = "I32"
	U32  DType = "U32"
	F32  DType = "F32"
	F64  DType = "F64"
	I64  DType = "I64"
	U64  DType = "U64"
)

// Size returns the bytes of one element, 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case Bool, U8, I8:
		return 1
	case I16, U16, F16, BF16:
		return 2
	case I32, U32, F32:
		return 4
	case F64, I64, U64:
		return 8
	}
	return 0
}

// MetadataKey is the header entry that holds the file's metadata rather
// than a tensor.
const MetadataKey = "__metadata__"

// MaxHeaderSize bounds the header's length, as the reference reader does
// (100 MB): a larger length is a corrupted file, not a header to allocate.
const MaxHeaderSize = 100_000_000

// Tensor is one named tensor: its dtype, shape (empty for a scalar) and
// raw little-endian bytes.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// File is a safetensors file: its metadata and its tensors.
type File struct {
	Metadata map[string]string
	Tensors  []Tensor
}

// Tensor returns the tensor called name.
func (f *File) Tensor(name string) (Tensor, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

// F32Tensor returns a float32 tensor of the values in data, which must
// hold exactly the shape's number of elements.
func F32Tensor(name string, shape []int, data []float32) Tensor {
	b := make([]byte, 4*len(data))
	for i, x := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, DType: F32, Shape: append([]int{}, shape...), Data: b}
}

// I64Tensor returns an int64 tensor of the values in data.
func I64Tensor(name string, shape []int, data []int64) Tensor {
	b := make([]byte, 8*len(data))
	for i, x := range data {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return Tensor{Name: name, DType: I64, Shape: append([]int{}, shape...), Data: b}
}

// Float32s decodes an F32 tensor's values.
func (t Tensor) Float32s() ([]float32, error) {
	if t.DType != F32 {
		return nil, fmt.Errorf("safetensors: tensor %s is %s, not F32", t.Name, t.DType)
	}
	if len(t.Data)%4 != 0 {
		return nil, fmt.Errorf("safetensors: tensor %s has %d bytes, not a whole number of F32", t.Name, len(t.Data))
	}
	out := make([]float32, len(t.Data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

// Int64s decodes an I64 tensor's values.
func (t Tensor) Int64s() ([]int64, error) {
	if t.DType != I64 {
		return nil, fmt.Errorf("safetensors: tensor %s is %s, not I64", t.Name, t.DType)
	}
	if len(t.Data)%8 != 0 {
		return nil, fmt.Errorf("safetensors: tensor %s has %d bytes, not a whole number of I64", t.Name, len(t.Data))
	}
	out := make([]int64, len(t.Data)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(t.Data[8*i:]))
	}
	return out, nil
}

// byteSize returns the bytes a tensor of dtype and shape holds, or false
// when a dimension is negative, the dtype unknown or the size overflows.
func byteSize(d DType, shape []int) (uint64, bool) {
	n := uint64(d.Size())
	if n == 0 {
		return 0, false
	}
	for _, s := range shape {
		if s < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(n, uint64(s))
		if hi != 0 {
			return 0, false
		}
		n = lo
	}
	return n, true
}
