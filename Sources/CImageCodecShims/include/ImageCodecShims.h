#ifndef MMRET_IMAGE_CODEC_SHIMS_H
#define MMRET_IMAGE_CODEC_SHIMS_H

#include <stddef.h>
#include <stdint.h>

/// Result codes of the decode functions below.
enum {
    MMRET_DECODE_OK = 0,
    /// The library rejected the data, and `message` gives the reason.
    MMRET_DECODE_FAILED = 1,
    /// width * height exceeds the caller's maximum; nothing was allocated for pixels.
    MMRET_DECODE_TOO_MANY_PIXELS = 2,
    /// A pixel buffer could not be allocated.
    MMRET_DECODE_OUT_OF_MEMORY = 3,
};

/// Channel layouts of `mmret_decoded_image.pixels`, interleaved 8-bit samples.
enum {
    MMRET_LAYOUT_GREY = 1,
    MMRET_LAYOUT_GREY_ALPHA = 2,
    MMRET_LAYOUT_RGB = 3,
    MMRET_LAYOUT_RGBA = 4,
    /// libjpeg's CMYK output (also for YCCK files), exactly as the library returns it.
    MMRET_LAYOUT_CMYK = 5,
};

typedef struct {
    /// Row-major samples, `width * channels` bytes a row; free with `mmret_decoded_image_free`.
    uint8_t *pixels;
    int width;
    int height;
    int channels;
    int layout;
    char message[200];
} mmret_decoded_image;

/// Decodes a whole JPEG stream with libjpeg's default settings (islow DCT, fancy
/// upsampling), which are the settings Pillow uses for a full-size decode. A stream that
/// ends early is an error, as in Pillow, instead of libjpeg's grey fill.
int mmret_jpeg_decode(const uint8_t *data, size_t size, uint64_t maximum_pixel_count,
                      mmret_decoded_image *image);

/// Decodes a whole PNG stream with libpng: 16-bit samples keep their high byte, palette
/// and low-bit-depth grey expand to 8 bits, tRNS becomes alpha only for palette images,
/// and no gamma correction is applied (Pillow ignores gAMA as well).
int mmret_png_decode(const uint8_t *data, size_t size, uint64_t maximum_pixel_count,
                     mmret_decoded_image *image);

void mmret_decoded_image_free(mmret_decoded_image *image);

#endif
