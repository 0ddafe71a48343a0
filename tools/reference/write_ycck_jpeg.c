/* Writes a YCCK JPEG, which Pillow cannot write, for the image fixtures.
 *
 * usage: write_ycck_jpeg WIDTH HEIGHT OUTPUT.jpg < cmyk.raw
 *
 * The input is WIDTH * HEIGHT * 4 bytes of CMYK in Adobe polarity (0 is full ink), as
 * Photoshop stores it. libjpeg converts it to YCCK and writes an Adobe marker with
 * transform 2. Built and run by make_image_fixtures.py; never part of the product.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s WIDTH HEIGHT OUTPUT.jpg < cmyk.raw\n", argv[0]);
        return 2;
    }
    int width = atoi(argv[1]);
    int height = atoi(argv[2]);
    size_t size = (size_t)width * (size_t)height * 4;
    unsigned char *pixels = malloc(size);
    if (pixels == NULL || fread(pixels, 1, size, stdin) != size) {
        fprintf(stderr, "expected %zu bytes of CMYK on stdin\n", size);
        return 1;
    }
    FILE *output = fopen(argv[3], "wb");
    if (output == NULL) {
        perror(argv[3]);
        return 1;
    }

    struct jpeg_compress_struct info;
    struct jpeg_error_mgr errors;
    info.err = jpeg_std_error(&errors);
    jpeg_create_compress(&info);
    jpeg_stdio_dest(&info, output);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = 4;
    info.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&info);
    jpeg_set_colorspace(&info, JCS_YCCK);
    jpeg_set_quality(&info, 90, TRUE);
    jpeg_start_compress(&info, TRUE);
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = pixels + (size_t)info.next_scanline * (size_t)width * 4;
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    fclose(output);
    free(pixels);
    return 0;
}
