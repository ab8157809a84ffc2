package data

import (
	"bytes"
	"testing"
)

// FuzzIDX feeds arbitrary bytes to the IDX decoder (raw and gzip paths)
// and to the image/label checks: no input may panic, and an accepted file
// holds exactly the bytes its header declares.
func FuzzIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 2, 2}, []byte{0, 1, 2, 3, 4, 5, 6, 7}))
	f.Add(idxBytes([]int{3}, []byte{0, 9, 10}))
	f.Add(gzipBytes(f, idxBytes([]int{1, 3, 1}, []byte{255, 0, 128})))
	f.Add(idxBytes([]int{1 << 31, 28, 28}, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		sized, errSized := decodeIDX(bytes.NewReader(b), int64(len(b)))
		streamed, errStreamed := decodeIDX(bytes.NewReader(b), -1)
		if (errSized == nil) != (errStreamed == nil) {
			t.Fatalf("decodeIDX sized error %v, streamed error %v: want both or neither", errSized, errStreamed)
		}
		if errSized != nil {
			return
		}
		if !bytes.Equal(sized.Data, streamed.Data) {
			t.Fatal("decodeIDX sized and streamed data differ")
		}
		total := 1
		for _, d := range sized.Dims {
			total *= d
		}
		if len(sized.Data) != total {
			t.Fatalf("decodeIDX dims %v gave %d bytes, want %d", sized.Dims, len(sized.Data), total)
		}
		// Use the file as images and as labels: checks must not panic.
		labels := &idx{Dims: sized.Dims[:1], Data: sized.Data[:min(len(sized.Data), sized.Dims[0])]}
		if s, err := idxSet(sized, labels, "images", "labels", MNISTClasses); err == nil {
			if s.N*s.H*s.W != len(s.Images) || len(s.Labels) != s.N {
				t.Fatalf("idxSet gave %d×%d×%d with %d pixels and %d labels", s.N, s.H, s.W, len(s.Images), len(s.Labels))
			}
		}
	})
}

// FuzzCIFAR feeds arbitrary bytes to the CIFAR-10 record decoder: no input
// may panic, and it accepts exactly the non-empty whole-record inputs whose
// labels are all in range.
func FuzzCIFAR(f *testing.F) {
	f.Add(cifarRecords(2, 0))
	f.Add(cifarRecords(1, 7)[:100])
	f.Add(append([]byte{10}, make([]byte, cifarPixels)...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		images, labels, err := decodeCIFAR(b, 10)
		valid := len(b) > 0 && len(b)%cifarRecord == 0
		for i := 0; valid && i < len(b); i += cifarRecord {
			valid = b[i] < 10
		}
		if valid != (err == nil) {
			t.Fatalf("decodeCIFAR(%d bytes) error = %v, want valid = %v", len(b), err, valid)
		}
		if err == nil && (len(labels) != len(b)/cifarRecord || len(images) != len(labels)*cifarPixels) {
			t.Fatalf("decodeCIFAR(%d bytes) = %d labels, %d pixels", len(b), len(labels), len(images))
		}
	})
}
