#include "ImageCodecShims.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char *message;
} jpeg_error_context;

static void mmret_jpeg_fail(j_common_ptr info) {
    jpeg_error_context *context = (jpeg_error_context *)info->err;
    char buffer[JMSG_LENGTH_MAX];
    info->err->format_message(info, buffer);
    snprintf(context->message, 200, "%s", buffer);
    longjmp(context->jump, 1);
}

// libjpeg treats a stream that ends early as a warning and fills the rest with grey.
// Pillow raises "image file is truncated" instead, so that warning becomes an error here.
// Other warnings (such as extraneous bytes before a marker) are ignored, as Pillow does.
static void mmret_jpeg_message(j_common_ptr info, int level) {
    if (level == -1 && info->err->msg_code == JWRN_JPEG_EOF) {
        mmret_jpeg_fail(info);
    }
}

int mmret_jpeg_decode(const uint8_t *data, size_t size, uint64_t maximum_pixel_count,
                      mmret_decoded_image *image) {
    struct jpeg_decompress_struct info;
    jpeg_error_context errors;
    // volatile: these change between setjmp and a possible longjmp.
    uint8_t *volatile pixels = NULL;
    volatile int result = MMRET_DECODE_FAILED;

    memset(image, 0, sizeof(*image));
    info.err = jpeg_std_error(&errors.manager);
    errors.manager.error_exit = mmret_jpeg_fail;
    errors.manager.emit_message = mmret_jpeg_message;
    errors.message = image->message;
    if (setjmp(errors.jump)) {
        free(pixels);
        jpeg_destroy_decompress(&info);
        return result;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, (unsigned long)size);
    jpeg_read_header(&info, TRUE);

    int layout;
    switch (info.jpeg_color_space) {
        case JCS_GRAYSCALE:
            info.out_color_space = JCS_GRAYSCALE;
            layout = MMRET_LAYOUT_GREY;
            break;
        case JCS_CMYK:
        case JCS_YCCK:
            info.out_color_space = JCS_CMYK;
            layout = MMRET_LAYOUT_CMYK;
            break;
        case JCS_RGB:
        case JCS_YCbCr:
            info.out_color_space = JCS_RGB;
            layout = MMRET_LAYOUT_RGB;
            break;
        default:
            snprintf(image->message, sizeof(image->message),
                     "unsupported JPEG colour space with %d components", info.num_components);
            jpeg_destroy_decompress(&info);
            return MMRET_DECODE_FAILED;
    }
    if ((uint64_t)info.image_width * (uint64_t)info.image_height > maximum_pixel_count) {
        image->width = (int)info.image_width;
        image->height = (int)info.image_height;
        jpeg_destroy_decompress(&info);
        return MMRET_DECODE_TOO_MANY_PIXELS;
    }

    jpeg_start_decompress(&info);
    size_t row_bytes = (size_t)info.output_width * (size_t)info.output_components;
    pixels = malloc(row_bytes * info.output_height);
    if (pixels == NULL) {
        result = MMRET_DECODE_OUT_OF_MEMORY;
        snprintf(image->message, sizeof(image->message), "out of memory");
        longjmp(errors.jump, 1);
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = pixels + row_bytes * info.output_scanline;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);

    image->pixels = pixels;
    image->width = (int)info.output_width;
    image->height = (int)info.output_height;
    image->channels = info.output_components;
    image->layout = layout;
    jpeg_destroy_decompress(&info);
    return MMRET_DECODE_OK;
}

void mmret_decoded_image_free(mmret_decoded_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
