// Package data loads the labelled image sets SimCLR pretrains and evaluates
// on, as float32 tensors in [0, 1].
//
// Every dataset comes back as a train and a test *Set: N images of C×H×W
// pixels stored contiguously in NCHW order (image i is
// Images[i*C*H*W : (i+1)*C*H*W], channel-major inside), one label per image
// in [0, len(Classes)). Load picks the reader by name:
//
//	fashion-mnist        IDX files (gzipped or raw), 1×28×28, 10 classes; default
//	                     folder /usr/share/datasets/fashion-mnist (Debian package
//	                     dataset-fashion-mnist, `make data`)
//	fashion-mnist-color  the same files rendered to 3×28×28 with a random
//	                     foreground and background colour per image:
//	                         pixel = bg·(1−v) + fg·v,  v = grayscale intensity
//	mnist                IDX files at a path, 1×28×28, classes "0".."9"
//	cifar10              the CIFAR-10 binary version, 3×32×32 (`make data-cifar10`)
//	imagefolder          root/<class>/*.png|jpg|jpeg, 3 channels, resized to
//	                     Spec.ImageSize; a separate test root or a seeded
//	                     stratified 80/20 split
//	synthetic            coloured shapes on textured backgrounds generated
//	                     from Spec.Seed, 3×32×32 by default
//
// A Spec.ImageSize other than 0 or the native side resizes every dataset
// (antialiased bilinear, as torchvision's Resize on tensors with
// antialias=True; identical to plain bilinear with half-pixel centres when
// enlarging).
//
// Bad files never panic: a wrong magic number, a truncated file, a header
// that promises more data than the file holds, a label out of range each
// return an error naming the file. Allocations follow the bytes actually
// read, never a size claimed by a header.
//
// With Spec.Lazy, the MNIST family and synthetic come back as lazy sets,
// which keep their sources (8-bit pixels, seeds) and render an image as
// float32 when it is read: CopyImages reads a set a batch at a time, so a
// caller streaming a set holds one batch of it, whatever its size; a lazy
// set's subsets are lazy too (keeping their parent's sources), Compact
// cuts a subset's 8-bit pixels out of its parent's for a trainer to keep,
// and Materialize renders all of a set.
//
// RandomSubset and StratifiedFraction draw seeded subsets (pretraining
// subsets, the 1% / 10% label fractions of fine-tuning); Checksum records
// which data a run saw.
package data
