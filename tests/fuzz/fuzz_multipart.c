/* libFuzzer driver: the multipart/form-data envelope of image uploads
 * (src/http/body.c). Input: the Content-Type, a newline, the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char boundary[RC_HTTP_BOUNDARY_MAX + 1], *ctype;
	struct rc_http_bytes img;
	size_t clen;

	if (nl == NULL)
		return 0;
	clen = (size_t)(nl - data);
	ctype = rc_strndup((const char *)data, clen);
	if (strlen(ctype) == clen &&
	    rc_http_multipart_boundary(ctype, boundary) == RC_OK) {
		if (rc_http_multipart_file(nl + 1, size - clen - 1, boundary,
		    &img) == RC_OK) {
			/* the part must lie inside the body */
			if (img.data < nl + 1 || img.data + img.len > data + size)
				abort();
		}
	}
	free(ctype);
	return 0;
}
