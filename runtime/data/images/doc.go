// Package images reads labelled image folders in the Kermany layout
// (ROOT/SPLIT/CLASS/*.png|*.jpg|*.jpeg) and turns each image into a
// normalised float32 tensor in CHW order, ready to be batched by
// parak8s.dev/parak8s/runtime/data/loader.
//
// # Pipeline
//
// For every sample the Dataset:
//
//  1. reads the file and decodes it with image/png or image/jpeg, chosen by
//     the file's magic bytes (not its extension); images larger than
//     Options.MaxPixels are refused before their pixels are decoded;
//  2. converts it to Options.Channels planes in [0,1]: 1 channel uses the
//     ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B, what PIL's "L" mode and
//     Go's color.GrayModel use; JPEG's Y plane directly), 3 channels replicate
//     a grey image or drop alpha from a colour one (non-premultiplied values);
//  3. resizes it to Options.Size × Options.Size with Options.Filter:
//     FilterArea (the default) averages the exact area of the source pixels
//     each output pixel covers when an axis shrinks (like OpenCV INTER_AREA
//     or PIL's BOX) and interpolates bilinearly when it grows; FilterBilinear
//     always interpolates bilinearly with half-pixel centres
//     (align_corners=false, like PyTorch and OpenCV INTER_LINEAR), which
//     aliases when shrinking by more than 2×. The aspect ratio is not kept:
//     the image is stretched to the square;
//  4. when Options.Augment.Enabled, applies training augmentation at output
//     resolution (see below);
//  5. normalises each channel c as (v - Mean[c]) / Std[c].
//
// # Augmentation
//
// Augmentation is a single affine warp (rotation by up to ±Rotate degrees,
// zoom by a factor in [1-Zoom, 1+Zoom], shift by up to ±Shift of the side in
// each direction, and a horizontal flip with probability 1/2 only when HFlip
// is set) sampled bilinearly, with pixels that fall outside the image filled
// from the nearest edge (FillEdge) or with black, 0 before normalisation
// (FillZero); then a brightness offset in [-Brightness, Brightness] and a
// contrast factor in [1-Contrast, 1+Contrast] around the image mean, clamped
// to [0,1]. The random draws come from a small generator seeded by
// (Augment.Seed, epoch, index), so a sample looks the same every time it is
// asked for with the same epoch, whichever goroutine asks; all draws are
// made in a fixed order whether or not a transform is enabled, so turning one
// transform off does not change the others.
//
// Chest X-rays are not mirror-symmetric (the heart is on the left), which is
// why HFlip is off unless asked for.
//
// Augment.View gives test-time views: the images themselves or one fixed
// warp of the augmentation's geometry, the same for every image and run.
//
// # Splits
//
// When only one folder exists, SplitStratified holds out a fraction of every
// class, deterministically for a given seed and independently of the order of
// its input.
package images
