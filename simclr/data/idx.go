package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// maxIDXBytes bounds the payload an IDX header may claim (1 GiB, twenty
// times MNIST's training images): a larger claim is taken as a corrupt
// header before anything is allocated.
const maxIDXBytes = 1 << 30

// idx is one decoded IDX file of unsigned bytes: Dims from the header, Data
// the prod(Dims) bytes in row-major order.
type idx struct {
	Dims []int
	Data []byte
}

// readIDXFile reads an IDX file, gunzipping it when it starts with the gzip
// magic 0x1f 0x8b whatever its name. Errors name the path.
func readIDXFile(path string) (*idx, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	limit := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		limit = st.Size()
	}
	m, err := decodeIDX(f, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// decodeIDX decodes an IDX stream (raw or gzipped). size, when >= 0, is the
// stream's length in bytes: a raw stream shorter than its header promises is
// rejected before the payload is allocated. A gzipped payload is read as it
// arrives, so memory follows the bytes really there.
//
// The format (http://yann.lecun.com/exdb/mnist/): bytes 0, 0, type, ndims,
// then ndims big-endian uint32 sizes, then the data. Only type 0x08
// (unsigned byte) is accepted, with 1 to 4 dimensions.
func decodeIDX(r io.Reader, size int64) (*idx, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
		size = -1
	}
	var head [4]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return nil, fmt.Errorf("idx header: %w", truncated(err))
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("not an IDX file: magic % x, want 00 00 08 0n", head)
	}
	if head[2] != 0x08 {
		return nil, fmt.Errorf("idx data type 0x%02x unsupported, want 0x08 (unsigned byte)", head[2])
	}
	nd := int(head[3])
	if nd < 1 || nd > 4 {
		return nil, fmt.Errorf("idx has %d dimensions, want 1 to 4", nd)
	}
	dims := make([]int, nd)
	total := int64(1)
	for i := range dims {
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("idx dimension %d: %w", i, truncated(err))
		}
		dims[i] = int(binary.BigEndian.Uint32(b[:]))
		if dims[i] > 0 && total > maxIDXBytes/int64(dims[i]) {
			return nil, fmt.Errorf("idx dimensions %v claim more than %d bytes: corrupt header", dims[:i+1], int64(maxIDXBytes))
		}
		total *= int64(dims[i])
	}
	header := int64(4 + 4*nd)
	if size >= 0 && size-header != total {
		return nil, fmt.Errorf("idx dimensions %v need %d data bytes, the file has %d: truncated or corrupt", dims, total, size-header)
	}
	var buf bytes.Buffer
	buf.Grow(int(min(total, 1<<20))) // grows as bytes arrive, not as the header claims
	n, err := buf.ReadFrom(io.LimitReader(br, total+1))
	if err != nil {
		return nil, fmt.Errorf("idx data: %w", err)
	}
	if n != total {
		return nil, fmt.Errorf("idx dimensions %v need %d data bytes, the file has %s: truncated or corrupt", dims, total, moreOrCount(n, total))
	}
	return &idx{Dims: dims, Data: buf.Bytes()}, nil
}

func moreOrCount(n, total int64) string {
	if n > total {
		return "more"
	}
	return fmt.Sprint(n)
}

// truncated turns an early EOF into io.ErrUnexpectedEOF: the file ended
// inside a record.
func truncated(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
