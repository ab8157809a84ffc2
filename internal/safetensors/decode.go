package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"
)

// FormatError says why bytes are not a valid safetensors file.
type FormatError struct {
	Msg string
}

func (e *FormatError) Error() string { return "safetensors: " + e.Msg }

func formatErr(format string, args ...any) error {
	return &FormatError{Msg: fmt.Sprintf(format, args...)}
}

// Decode reads a whole safetensors file from r (see Unmarshal).
func Decode(r io.Reader) (*File, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return Unmarshal(b)
}

// Unmarshal parses a safetensors file. The tensors' Data alias b. A file
// that is truncated, has a header that overruns it or is not a JSON object
// of known dtypes, or whose tensors' byte ranges do not tile its data
// exactly is a *FormatError saying which.
func Unmarshal(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, formatErr("file of %d bytes is shorter than the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	switch {
	case n > MaxHeaderSize:
		return nil, formatErr("header length %d exceeds the limit of %d bytes (not a safetensors file, or corrupted)", n, MaxHeaderSize)
	case n > uint64(len(b)-8):
		return nil, formatErr("header length %d runs past the end of the %d-byte file (truncated?)", n, len(b))
	}
	hdr, data := b[8:8+n], b[8+n:]
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, formatErr("header does not start with '{'")
	}
	if !utf8.Valid(hdr) {
		return nil, formatErr("header is not valid UTF-8")
	}
	f, err := parseHeader(hdr)
	if err != nil {
		return nil, err
	}

	// The byte ranges, in order, must tile the data: no gap, no overlap,
	// nothing left over.
	type span struct {
		i          int
		begin, end uint64
	}
	spans := make([]span, len(f.Tensors))
	for i, t := range f.Tensors {
		spans[i] = span{i, t.begin, t.end}
	}
	slices.SortStableFunc(spans, func(a, b span) int {
		if c := cmp.Compare(a.begin, b.begin); c != 0 {
			return c
		}
		return cmp.Compare(a.end, b.end)
	})
	var at uint64
	for _, s := range spans {
		t := &f.Tensors[s.i]
		if s.begin != at {
			return nil, formatErr("tensor %s starts at byte %d of the data, want %d (a gap or an overlap)", t.Name, s.begin, at)
		}
		if s.end > uint64(len(data)) {
			return nil, formatErr("tensor %s ends at byte %d, past the end of the %d bytes of data (truncated?)", t.Name, s.end, len(data))
		}
		at = s.end
	}
	if at != uint64(len(data)) {
		return nil, formatErr("the tensors cover %d bytes of data, the file has %d", at, len(data))
	}

	out := &File{Metadata: f.Metadata, Tensors: make([]Tensor, len(f.Tensors))}
	for i, t := range f.Tensors {
		out.Tensors[i] = Tensor{Name: t.Name, DType: t.DType, Shape: t.Shape, Data: data[t.begin:t.end:t.end]}
	}
	return out, nil
}

// header is the parsed header: tensors in header order with their byte
// ranges.
type header struct {
	Metadata map[string]string
	Tensors  []headerTensor
}

type headerTensor struct {
	Name       string
	DType      DType
	Shape      []int
	begin, end uint64
}

// entry is one tensor's header entry as JSON has it.
type entry struct {
	DType       *string   `json:"dtype"`
	Shape       *[]int    `json:"shape"`
	DataOffsets *[]uint64 `json:"data_offsets"`
}

func parseHeader(b []byte) (*header, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	bad := func(err error) error {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return formatErr("header is not valid JSON: %v", err)
	}
	ended := func(err error) bool { return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) }
	if tok, err := dec.Token(); err != nil {
		return nil, bad(err)
	} else if tok != json.Delim('{') {
		return nil, formatErr("header is not a JSON object")
	}
	h := &header{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad(err)
		}
		name := tok.(string) // object keys are strings
		if seen[name] {
			return nil, formatErr("header names %q twice", name)
		}
		seen[name] = true
		if name == MetadataKey {
			if err := dec.Decode(&h.Metadata); ended(err) {
				return nil, bad(err)
			} else if err != nil {
				return nil, formatErr("%s is not an object of strings: %v", MetadataKey, err)
			}
			continue
		}
		var e entry
		if err := dec.Decode(&e); ended(err) {
			return nil, bad(err)
		} else if err != nil {
			return nil, formatErr("tensor %q: %v", name, err)
		}
		t, err := e.tensor(name)
		if err != nil {
			return nil, err
		}
		h.Tensors = append(h.Tensors, t)
	}
	if tok, err := dec.Token(); err != nil {
		return nil, bad(err)
	} else if tok != json.Delim('}') {
		return nil, formatErr("header object not closed")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, formatErr("header has more after its JSON object")
	}
	return h, nil
}

func (e entry) tensor(name string) (headerTensor, error) {
	switch {
	case e.DType == nil:
		return headerTensor{}, formatErr("tensor %q has no dtype", name)
	case e.Shape == nil:
		return headerTensor{}, formatErr("tensor %q has no shape", name)
	case e.DataOffsets == nil:
		return headerTensor{}, formatErr("tensor %q has no data_offsets", name)
	case len(*e.DataOffsets) != 2:
		return headerTensor{}, formatErr("tensor %q: data_offsets has %d numbers, want [begin, end]", name, len(*e.DataOffsets))
	}
	t := headerTensor{Name: name, DType: DType(*e.DType), Shape: *e.Shape, begin: (*e.DataOffsets)[0], end: (*e.DataOffsets)[1]}
	if t.DType.Size() == 0 {
		return headerTensor{}, formatErr("tensor %q has unknown dtype %q", name, *e.DType)
	}
	if t.end < t.begin {
		return headerTensor{}, formatErr("tensor %q: data_offsets [%d, %d] end before they begin", name, t.begin, t.end)
	}
	size, ok := byteSize(t.DType, t.Shape)
	if !ok {
		return headerTensor{}, formatErr("tensor %q has invalid shape %v", name, t.Shape)
	}
	if size != t.end-t.begin {
		return headerTensor{}, formatErr("tensor %q: shape %v of %s needs %d bytes, data_offsets [%d, %d] give %d",
			name, t.Shape, t.DType, size, t.begin, t.end, t.end-t.begin)
	}
	return t, nil
}
