// Debian's libjpeg62-turbo-dev, libpng-dev, libwebp-dev and libgif-dev install these
// headers on the default include path. jpeglib.h needs stdio.h and stddef.h first.
#include <stddef.h>
#include <stdio.h>
#include <jpeglib.h>
#include <png.h>
#include <webp/decode.h>
#include <webp/demux.h>
#include <gif_lib.h>
