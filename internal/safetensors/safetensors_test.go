package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func sample() *File {
	return &File{
		Metadata: map[string]string{"seed": "7", "config_hash": "03dfbdeed2c80b7b"},
		Tensors: []Tensor{
			F32Tensor("w", []int{2, 3}, []float32{1, 2, 3, 4, 5, -6.5}),
			I64Tensor("n", []int{}, []int64{-3}),
			F32Tensor("b", []int{1}, []float32{0.25}),
			F32Tensor("empty", []int{0, 4}, nil),
		},
	}
}

// TestMarshalBytes pins the layout: header length, header JSON (metadata
// first, tensors by element size then name), space padding to 8 bytes,
// data in the same order.
func TestMarshalBytes(t *testing.T) {
	got, err := Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	header := `{"__metadata__":{"config_hash":"03dfbdeed2c80b7b","seed":"7"},` +
		`"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},` +
		`"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},` +
		`"empty":{"dtype":"F32","shape":[0,4],"data_offsets":[12,12]},` +
		`"w":{"dtype":"F32","shape":[2,3],"data_offsets":[12,36]}}`
	for (8+len(header))%8 != 0 {
		header += " "
	}
	var want bytes.Buffer
	binary.Write(&want, binary.LittleEndian, uint64(len(header)))
	want.WriteString(header)
	binary.Write(&want, binary.LittleEndian, int64(-3))
	binary.Write(&want, binary.LittleEndian, []float32{0.25, 1, 2, 3, 4, 5, -6.5})
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("Marshal =\n%q\nwant\n%q", got, want.Bytes())
	}
	if (8+len(header))%8 != 0 {
		t.Errorf("data starts at byte %d, not a multiple of 8", 8+len(header))
	}
}

func TestRoundTrip(t *testing.T) {
	f := sample()
	var buf bytes.Buffer
	if err := Encode(&buf, f); err != nil {
		t.Fatal(err)
	}
	g, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.Metadata, f.Metadata) {
		t.Errorf("metadata = %v, want %v", g.Metadata, f.Metadata)
	}
	if len(g.Tensors) != len(f.Tensors) {
		t.Fatalf("%d tensors, want %d", len(g.Tensors), len(f.Tensors))
	}
	for _, want := range f.Tensors {
		got, ok := g.Tensor(want.Name)
		if !ok {
			t.Fatalf("tensor %s missing", want.Name)
		}
		if got.DType != want.DType || !reflect.DeepEqual(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("tensor %s = %s %v %v, want %s %v %v", want.Name, got.DType, got.Shape, got.Data, want.DType, want.Shape, want.Data)
		}
	}
	w, _ := g.Tensor("w")
	if xs, err := w.Float32s(); err != nil || !reflect.DeepEqual(xs, []float32{1, 2, 3, 4, 5, -6.5}) {
		t.Errorf("w.Float32s() = %v, %v", xs, err)
	}
	n, _ := g.Tensor("n")
	if xs, err := n.Int64s(); err != nil || !reflect.DeepEqual(xs, []int64{-3}) {
		t.Errorf("n.Int64s() = %v, %v", xs, err)
	}
	if _, err := w.Int64s(); err == nil {
		t.Error("w.Int64s() on an F32 tensor = nil error")
	}
	if _, err := n.Float32s(); err == nil {
		t.Error("n.Float32s() on an I64 tensor = nil error")
	}
}

func TestMarshalRejects(t *testing.T) {
	for _, c := range []struct {
		name string
		t    []Tensor
		want string
	}{
		{"no name", []Tensor{F32Tensor("", []int{1}, []float32{1})}, "no name"},
		{"metadata name", []Tensor{F32Tensor(MetadataKey, []int{1}, []float32{1})}, "may not be called"},
		{"twice", []Tensor{F32Tensor("a", []int{1}, []float32{1}), F32Tensor("a", []int{1}, []float32{2})}, "two tensors"},
		{"short data", []Tensor{F32Tensor("a", []int{2}, []float32{1})}, "needs 8 bytes, has 4"},
		{"negative dim", []Tensor{{Name: "a", DType: F32, Shape: []int{-1}}}, "not a valid tensor"},
		{"unknown dtype", []Tensor{{Name: "a", DType: "F8", Shape: []int{1}, Data: []byte{0}}}, "not a valid tensor"},
	} {
		var buf bytes.Buffer
		err := Encode(&buf, &File{Tensors: c.t})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Encode = %v, want an error containing %q", c.name, err, c.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: Encode wrote %d bytes on error", c.name, buf.Len())
		}
	}
}

// file builds a file from a raw header and data.
func file(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestUnmarshalRejects(t *testing.T) {
	valid, err := Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	f32 := func(s string) string { return `{"a":{"dtype":"F32","shape":[2],"data_offsets":` + s + `}}` }
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "shorter than the 8-byte header length"},
		{"seven bytes", []byte{1, 2, 3, 4, 5, 6, 7}, "shorter than the 8-byte"},
		{"huge header length", binary.LittleEndian.AppendUint64(nil, 1<<40), "exceeds the limit"},
		{"header past end", file(`{}`, nil)[:9], "runs past the end"},
		{"truncated data", valid[:len(valid)-1], "past the end of the"},
		{"truncated in header", valid[:20], "runs past the end"},
		{"extra data", append(append([]byte{}, valid...), 0), "cover 36 bytes of data, the file has 37"},
		{"not an object", file(`[1]`, nil), "does not start with '{'"},
		{"leading space", file(` {}`, nil), "does not start with '{'"},
		{"bad json", file(`{"a":`, nil), "not valid JSON"},
		{"trailing junk", file(`{}x`, nil), "more after its JSON object"},
		{"two objects", file(`{}{}`, nil), "more after its JSON object"},
		{"invalid utf8", file("{\"\xff\":1}", nil), "not valid UTF-8"},
		{"duplicate tensor", file(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}`, make([]byte, 8)), `names "a" twice`},
		{"metadata not strings", file(`{"__metadata__":{"seed":7}}`, nil), "not an object of strings"},
		{"metadata list", file(`{"__metadata__":["x"]}`, nil), "not an object of strings"},
		{"entry not object", file(`{"a":3}`, nil), `tensor "a"`},
		{"unknown field", file(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4],"x":1}}`, make([]byte, 4)), `unknown field "x"`},
		{"no dtype", file(`{"a":{"shape":[],"data_offsets":[0,4]}}`, make([]byte, 4)), "no dtype"},
		{"no shape", file(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, make([]byte, 4)), "no shape"},
		{"null shape", file(`{"a":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, make([]byte, 4)), "no shape"},
		{"no offsets", file(`{"a":{"dtype":"F32","shape":[]}}`, make([]byte, 4)), "no data_offsets"},
		{"three offsets", file(f32(`[0,4,8]`), make([]byte, 8)), "has 3 numbers"},
		{"negative offset", file(f32(`[-1,7]`), make([]byte, 8)), `tensor "a"`},
		{"fractional offset", file(f32(`[0.5,8]`), make([]byte, 8)), `tensor "a"`},
		{"end before begin", file(f32(`[8,0]`), make([]byte, 8)), "end before they begin"},
		{"unknown dtype", file(`{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}`, make([]byte, 16)), `unknown dtype "F128"`},
		{"negative dim", file(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,0]}}`, nil), "invalid shape"},
		{"overflowing shape", file(`{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, make([]byte, 8)), "invalid shape"},
		{"size mismatch", file(f32(`[0,4]`), make([]byte, 4)), "needs 8 bytes"},
		{"offset past data", file(f32(`[0,8]`), make([]byte, 4)), "past the end of the 4 bytes"},
		{"gap", file(f32(`[4,12]`), make([]byte, 12)), "starts at byte 4 of the data, want 0"},
		{"overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "starts at byte 4 of the data, want 8"},
	} {
		f, err := Unmarshal(c.b)
		var fe *FormatError
		if err == nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Unmarshal = %v, %v; want a *FormatError containing %q", c.name, f, err, c.want)
		}
	}
}

func TestUnmarshalAccepts(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
		n    int
	}{
		{"empty object", file(`{}`, nil), 0},
		{"padded", file(`{}      `, nil), 0},
		{"metadata only", file(`{"__metadata__":{}}`, nil), 0},
		{"offsets out of header order", file(`{"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{7, 9}), 2},
		{"empty tensors at one offset", file(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[3,0],"data_offsets":[0,0]}}`, nil), 2},
	} {
		f, err := Unmarshal(c.b)
		if err != nil || len(f.Tensors) != c.n {
			t.Errorf("%s: Unmarshal = %v, %v; want %d tensors", c.name, f, err, c.n)
		}
	}
	f, _ := Unmarshal(file(`{"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{7, 9}))
	if a, _ := f.Tensor("a"); !bytes.Equal(a.Data, []byte{7}) {
		t.Errorf("tensor a = %v, want [7]", a.Data)
	}
	if b, _ := f.Tensor("b"); !bytes.Equal(b.Data, []byte{9}) {
		t.Errorf("tensor b = %v, want [9]", b.Data)
	}
}

// FuzzUnmarshal: no input panics, and an accepted file marshals back to a
// file that decodes to the same tensors.
func FuzzUnmarshal(f *testing.F) {
	valid, err := Marshal(sample())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add(file(`{}`, nil))
	f.Add(file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(file(`{"__metadata__":{"k":"v"},"a":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := Unmarshal(b)
		if err != nil {
			return
		}
		out, err := Marshal(g)
		if err != nil {
			t.Fatalf("Marshal of an accepted file = %v", err)
		}
		h, err := Unmarshal(out)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(accepted)) = %v", err)
		}
		if len(h.Tensors) != len(g.Tensors) || len(h.Metadata) != len(g.Metadata) {
			t.Fatalf("round trip changed the file: %d tensors, %d metadata; want %d, %d", len(h.Tensors), len(h.Metadata), len(g.Tensors), len(g.Metadata))
		}
		for _, x := range g.Tensors {
			y, ok := h.Tensor(x.Name)
			if !ok || y.DType != x.DType || !reflect.DeepEqual(y.Shape, x.Shape) || !bytes.Equal(y.Data, x.Data) {
				t.Fatalf("round trip changed tensor %q", x.Name)
			}
		}
	})
}
