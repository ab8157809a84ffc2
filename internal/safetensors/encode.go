package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Encode writes f to w. It fails, writing nothing, when a tensor's name is
// empty, repeated or MetadataKey, its dtype unknown, or its bytes do not
// match its shape.
func Encode(w io.Writer, f *File) error {
	b, err := Marshal(f)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Marshal returns f in the safetensors format (see Encode).
func Marshal(f *File) ([]byte, error) {
	order := make([]int, len(f.Tensors))
	seen := make(map[string]bool, len(f.Tensors))
	for i, t := range f.Tensors {
		switch {
		case t.Name == "":
			return nil, fmt.Errorf("safetensors: tensor %d has no name", i)
		case t.Name == MetadataKey:
			return nil, fmt.Errorf("safetensors: a tensor may not be called %s", MetadataKey)
		case seen[t.Name]:
			return nil, fmt.Errorf("safetensors: two tensors are called %s", t.Name)
		}
		seen[t.Name] = true
		size, ok := byteSize(t.DType, t.Shape)
		if !ok {
			return nil, fmt.Errorf("safetensors: tensor %s: dtype %q with shape %v is not a valid tensor", t.Name, t.DType, t.Shape)
		}
		if size != uint64(len(t.Data)) {
			return nil, fmt.Errorf("safetensors: tensor %s: shape %v of %s needs %d bytes, has %d", t.Name, t.Shape, t.DType, size, len(t.Data))
		}
		order[i] = i
	}
	// The reference writer's order: larger elements first, so that every
	// tensor starts at a multiple of its element size; then by name.
	slices.SortFunc(order, func(a, b int) int {
		ta, tb := &f.Tensors[a], &f.Tensors[b]
		if c := cmp.Compare(tb.DType.Size(), ta.DType.Size()); c != 0 {
			return c
		}
		return cmp.Compare(ta.Name, tb.Name)
	})

	var h bytes.Buffer
	h.WriteByte('{')
	if len(f.Metadata) > 0 {
		meta, err := json.Marshal(f.Metadata) // keys sorted
		if err != nil {
			return nil, fmt.Errorf("safetensors: metadata: %w", err)
		}
		writeString(&h, MetadataKey)
		h.WriteByte(':')
		h.Write(meta)
	}
	var offset uint64
	for n, i := range order {
		t := &f.Tensors[i]
		if n > 0 || len(f.Metadata) > 0 {
			h.WriteByte(',')
		}
		writeString(&h, t.Name)
		h.WriteString(`:{"dtype":`)
		writeString(&h, string(t.DType))
		h.WriteString(`,"shape":[`)
		for j, s := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(s))
		}
		end := offset + uint64(len(t.Data))
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	h.WriteByte('}')
	// Pad with spaces (JSON whitespace) so the data starts 8-aligned.
	for (8+h.Len())%8 != 0 {
		h.WriteByte(' ')
	}

	out := make([]byte, 8, 8+h.Len()+int(offset))
	binary.LittleEndian.PutUint64(out, uint64(h.Len()))
	out = append(out, h.Bytes()...)
	for _, i := range order {
		out = append(out, f.Tensors[i].Data...)
	}
	return out, nil
}

func writeString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}
