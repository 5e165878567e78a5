/* libFuzzer driver: the image sniffer and header reader that every
 * upload meets before anything is decoded (src/face/image.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "rollcall/face.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum rc_image_type type = RC_IMAGE_UNKNOWN;
	int w = -1, h = -1;

	if (rc_face_image_sniff(data, size, &type, &w, &h) == RC_IMAGE_OK &&
	    (type == RC_IMAGE_UNKNOWN || rc_face_image_mime(type) == NULL ||
	    w <= 0 || h <= 0))
		abort();	/* a sniffed image always has a type */
	return 0;
}
