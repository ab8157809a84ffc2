// Package augment makes SimCLR's views: the image transforms, the pipelines
// that compose them, and the Loader that turns a dataset into batches of
// positive pairs on worker goroutines.
//
// Images are float32 CHW ([c, h, w], row-major, c = 1 or 3) with values in
// [0, 1]; every transform keeps the shape and the range. The deterministic
// primitives (AdjustBrightness, AdjustContrast, AdjustSaturation,
// AdjustHue, Grayscale, GaussianBlur, ResizedCrop, HFlip, Rot90, Erase,
// SobelMagnitude) match torchvision 0.14 within 1e-4 (testdata holds the
// reference vectors).
//
// The transforms a pipeline accepts (config.Transforms; defaults from
// DefaultParams).
// Where the paper gives no detail, the choice is ours (marked *):
//
//	name       what one application does
//	crop       random resized crop: area ~ U[0.08, 1] of the image, aspect
//	           logU[3/4, 4/3], torchvision's 10 attempts then a centred
//	           fallback, bilinear (align_corners=False, no antialias) back
//	           to h×w
//	flip       horizontal flip with p = 0.5
//	color      with p = 0.8 ColorJitter(0.8s, 0.8s, 0.8s, 0.2s), s = 0.5, the
//	           four in random order, clip after each; then, independently,
//	           grayscale with p = 0.2. On 1 channel only brightness and
//	           contrast act (contrast pulls towards the image mean)
//	grayscale  always: luma 0.2989r + 0.587g + 0.114b on every channel
//	rotate     90, 180 or 270 degrees counter-clockwise, uniformly; *180
//	           only on non-square images (the only turn keeping the shape)
//	cutout     *always: one square of side round(0.5·min(h, w)) set to 0,
//	           centre uniform over the pixels, clipped at the borders
//	noise      *always: + N(0, 0.1²) per value, clip to [0, 1]
//	blur       with p = 0.5: Gaussian, sigma ~ U[0.1, 2], kernel
//	           floor(0.1·side) made odd, at least 3 (3 at 28 and 32 px),
//	           reflect padding
//	sobel      *always: luma, 3×3 Sobel, zero padding, √(gx²+gy²) divided by
//	           its maximum, on every channel
//	roi        *region of interest: a window sized as crop draws it, placed
//	           where the summed Sobel magnitude is largest (ties → centre),
//	           resized back to h×w
//
// A Pipeline applies its transforms in the order given and draws all
// randomness from the *rand.Rand (math/rand/v2) passed to Apply. The Loader
// seeds one generator per view from (seed, epoch, image index, branch), so
// its batches are bit-identical whatever the number of workers, and any
// epoch can be reproduced alone.
package augment
