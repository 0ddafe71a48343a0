/* Writes JPEG files that Pillow cannot write, for the image fixtures: YCCK, and YCbCr
 * with luma sampling factors other than Pillow's 4:4:4, 4:2:2 and 4:2:0.
 *
 * usage: write_test_jpeg ycck WIDTH HEIGHT OUTPUT.jpg < cmyk.raw
 *        write_test_jpeg ycc WIDTH HEIGHT H V OUTPUT.jpg < rgb.raw
 *
 * ycck: the input is WIDTH * HEIGHT * 4 bytes of CMYK in Adobe polarity (0 is full ink),
 * as Photoshop stores it. libjpeg converts it to YCCK and writes an Adobe marker with
 * transform 2.
 * ycc: the input is WIDTH * HEIGHT * 3 bytes of RGB; luma gets sampling factors H x V and
 * chroma 1 x 1 (for example 1 2 is 4:4:0 and 4 1 is 4:1:1).
 * Built and run by make_image_fixtures.py; never part of the product.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

int main(int argc, char **argv) {
    int ycck = argc == 5 && strcmp(argv[1], "ycck") == 0;
    int ycc = argc == 7 && strcmp(argv[1], "ycc") == 0;
    if (!ycck && !ycc) {
        fprintf(stderr, "usage: %s ycck WIDTH HEIGHT OUTPUT.jpg < cmyk.raw\n", argv[0]);
        fprintf(stderr, "       %s ycc WIDTH HEIGHT H V OUTPUT.jpg < rgb.raw\n", argv[0]);
        return 2;
    }
    int width = atoi(argv[2]);
    int height = atoi(argv[3]);
    int components = ycck ? 4 : 3;
    const char *path = argv[argc - 1];
    size_t size = (size_t)width * (size_t)height * (size_t)components;
    unsigned char *pixels = malloc(size);
    if (pixels == NULL || fread(pixels, 1, size, stdin) != size) {
        fprintf(stderr, "expected %zu bytes of pixels on stdin\n", size);
        return 1;
    }
    FILE *output = fopen(path, "wb");
    if (output == NULL) {
        perror(path);
        return 1;
    }

    struct jpeg_compress_struct info;
    struct jpeg_error_mgr errors;
    info.err = jpeg_std_error(&errors);
    jpeg_create_compress(&info);
    jpeg_stdio_dest(&info, output);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = components;
    info.in_color_space = ycck ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&info);
    if (ycck) {
        jpeg_set_colorspace(&info, JCS_YCCK);
    } else {
        info.comp_info[0].h_samp_factor = atoi(argv[4]);
        info.comp_info[0].v_samp_factor = atoi(argv[5]);
        for (int component = 1; component < 3; component++) {
            info.comp_info[component].h_samp_factor = 1;
            info.comp_info[component].v_samp_factor = 1;
        }
    }
    jpeg_set_quality(&info, 90, TRUE);
    jpeg_start_compress(&info, TRUE);
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = pixels + (size_t)info.next_scanline * (size_t)width * (size_t)components;
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    fclose(output);
    free(pixels);
    return 0;
}
