// Package safetensors reads and writes the safetensors file format of
// Hugging Face (https://github.com/huggingface/safetensors), the format
// PyTorch users load weights from without unpickling code:
//
//	8 bytes    N, the header's length, unsigned little-endian
//	N bytes    the header, a JSON object: for each tensor its name →
//	           {"dtype": "F32", "shape": [64, 16, 3, 3], "data_offsets": [begin, end]},
//	           and an optional "__metadata__" object of string → string
//	the rest   the tensors' bytes, little-endian, row-major (C order);
//	           offsets count from the first byte after the header
//
// Encode writes what the reference writer writes: tensors ordered by
// dtype size (largest first, so each stays aligned) and then name, the
// header padded with spaces so that the data starts at a multiple of 8
// bytes. Decode checks everything the reference reader checks — the
// header's length against the file, the JSON, known dtypes, that each
// tensor's byte range matches its shape and that the ranges cover the data
// exactly, with no gap or overlap — and also rejects duplicate names and
// unknown fields, so a truncated or corrupted file is an error naming what
// is wrong, never a tensor of the wrong size.
//
// The package is small on purpose: the project writes float32 weights and
// int64 counters and reads its own files back; it needs no memory mapping
// and no lazy loading.
package safetensors
