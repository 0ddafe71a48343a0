#include "ImageCodecShims.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
    char *message;
} png_source;

static void mmret_png_fail(png_structp png, png_const_charp text) {
    png_source *source = (png_source *)png_get_error_ptr(png);
    snprintf(source->message, 200, "%s", text);
    png_longjmp(png, 1);
}

static void mmret_png_warn(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void mmret_png_read(png_structp png, png_bytep out, size_t count) {
    png_source *source = (png_source *)png_get_io_ptr(png);
    if (count > source->size - source->offset) {
        png_error(png, "file is truncated");
    }
    memcpy(out, source->data + source->offset, count);
    source->offset += count;
}

int mmret_png_decode(const uint8_t *data, size_t size, uint64_t maximum_pixel_count,
                     mmret_decoded_image *image) {
    png_source source = {data, size, 0, image->message};
    png_structp png;
    png_infop info = NULL;
    // volatile: these change between setjmp and a possible longjmp.
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    volatile int result = MMRET_DECODE_FAILED;

    memset(image, 0, sizeof(*image));
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, mmret_png_fail, mmret_png_warn);
    if (png == NULL) {
        snprintf(image->message, sizeof(image->message), "out of memory");
        return MMRET_DECODE_OUT_OF_MEMORY;
    }
    info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        snprintf(image->message, sizeof(image->message), "out of memory");
        return MMRET_DECODE_OUT_OF_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        free(pixels);
        png_destroy_read_struct(&png, &info, NULL);
        return result;
    }
    png_set_read_fn(png, &source, mmret_png_read);
    // The pixel-count limit below replaces libpng's default 1,000,000-pixel side limit.
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);

    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    if ((uint64_t)width * (uint64_t)height > maximum_pixel_count) {
        image->width = (int)width;
        image->height = (int)height;
        result = MMRET_DECODE_TOO_MANY_PIXELS;
        png_longjmp(png, 1);
    }

    int color_type = png_get_color_type(png, info);
    int bit_depth = png_get_bit_depth(png, info);
    if (bit_depth == 16) {
        png_set_strip_16(png);
    }
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(png);
    } else if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) {
        png_set_expand_gray_1_2_4_to_8(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if (row_bytes != (size_t)width * (size_t)channels || channels < 1 || channels > 4) {
        snprintf(image->message, sizeof(image->message), "unexpected PNG row layout");
        png_longjmp(png, 1);
    }
    pixels = malloc(row_bytes * height);
    rows = malloc(sizeof(png_bytep) * height);
    if (pixels == NULL || rows == NULL) {
        result = MMRET_DECODE_OUT_OF_MEMORY;
        snprintf(image->message, sizeof(image->message), "out of memory");
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < height; y++) {
        rows[y] = pixels + row_bytes * y;
    }
    png_read_image(png, rows);
    // The end chunks are not read: Pillow stops after the image data as well.

    free(rows);
    image->pixels = pixels;
    image->width = (int)width;
    image->height = (int)height;
    image->channels = channels;
    image->layout = channels;  // GREY, GREY_ALPHA, RGB and RGBA equal their channel counts.
    png_destroy_read_struct(&png, &info, NULL);
    return MMRET_DECODE_OK;
}
