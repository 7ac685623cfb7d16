/*
 * A glue module driving libjpeg, whose objects (Debian's libjpeg.a) are
 * loaded as another module with PCPU_RTLD_GLOBAL; loaded with
 * PCPU_RTLD_DEEPBIND it binds to that copy, not to the libjpeg.so the test
 * process links.  libjpeg-turbo keeps its SIMD choice in a thread-local
 * variable reached by local dynamic (simd_support), so every decoding
 * thread gets a block of the library module's thread-local data.
 */
#include <stddef.h>
#include <stdio.h>

#include <jpeglib.h>

/* The jpeg_read_header this module's code calls. */
void *jpeg_glue_read_header_fn(void)
{
    return (void *)&jpeg_read_header;
}

/* Decodes `n` bytes of JPEG into `out` (RGB, `cap` bytes at most): the
 * bytes written, or -1. */
long jpeg_glue_decode(const unsigned char *jpg, unsigned long n, unsigned char *out, unsigned long cap,
                      int *width, int *height)
{
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr err;
    d.err = jpeg_std_error(&err);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, jpg, n);
    if (jpeg_read_header(&d, TRUE) != JPEG_HEADER_OK) {
        jpeg_destroy_decompress(&d);
        return -1;
    }
    d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&d);
    const unsigned long row = (unsigned long)d.output_width * d.output_components;
    if (row * d.output_height > cap) {
        jpeg_destroy_decompress(&d);
        return -1;
    }
    while (d.output_scanline < d.output_height) {
        unsigned char *line = out + row * d.output_scanline;
        jpeg_read_scanlines(&d, &line, 1);
    }
    *width = (int)d.output_width;
    *height = (int)d.output_height;
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    return (long)(row * d.output_height);
}
