/* Image type and size from the first bytes (JPEG, PNG, WebP, BMP), without
 * decoding: the pixel limit is checked on these numbers before a decoder
 * allocates anything, so a decompression bomb costs nothing. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rollcall/face.h"

/* Larger than any camera or scanner makes, smaller than what a lying
 * header can claim; such a header is damaged rather than "too large". */
#define IMAGE_MAX_SIDE	(1 << 24)

struct sniffed {
	enum rc_image_type	 type;
	int64_t			 width, height;
};

static uint32_t
be16(const unsigned char *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint32_t
le16(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t
le24(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static uint32_t
le32(const unsigned char *p)
{
	return le24(p) | (uint32_t)p[3] << 24;
}

/* ---- JPEG (ITU T.81 B.1.1) ---------------------------------------------- */

/* SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share
 * the range but are not frames. */
static int
is_sof(unsigned m)
{
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

/* Markers without a length field (T.81 B.1.1.3): TEM, RST0..7. */
static int
is_standalone(unsigned m)
{
	return m == 0x01 || (m >= 0xD0 && m <= 0xD7);
}

static enum rc_image_status
sniff_jpeg(const unsigned char *p, size_t len, struct sniffed *out)
{
	size_t i = 2, seglen;
	unsigned m;

	out->type = RC_IMAGE_JPEG;
	for (;;) {
		if (i + 2 > len || p[i] != 0xFF)
			return RC_IMAGE_CORRUPT;
		while (i + 1 < len && p[i + 1] == 0xFF)	/* fill bytes */
			i++;
		if (i + 2 > len)
			return RC_IMAGE_CORRUPT;
		m = p[i + 1];
		i += 2;
		if (is_standalone(m))
			continue;
		/* Image data or the end before any frame header. */
		if (m == 0xDA || m == 0xD9 || m == 0xD8 || m == 0x00)
			return RC_IMAGE_CORRUPT;
		if (i + 2 > len || (seglen = be16(p + i)) < 2 || i + seglen > len)
			return RC_IMAGE_CORRUPT;
		if (is_sof(m)) {
			if (seglen < 8)
				return RC_IMAGE_CORRUPT;
			out->height = be16(p + i + 3);
			out->width = be16(p + i + 5);
			return RC_IMAGE_OK;
		}
		i += seglen;
	}
}

/* ---- PNG (ISO/IEC 15948 5.2, 11.2.2) ------------------------------------ */

static uint32_t
crc32_png(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	int k;

	while (n-- > 0) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
	}
	return c ^ 0xFFFFFFFFu;
}

static int
png_depth_ok(unsigned color, unsigned depth)
{
	switch (color) {
	case 0:	return depth == 1 || depth == 2 || depth == 4 || depth == 8 ||
		    depth == 16;
	case 3:	return depth == 1 || depth == 2 || depth == 4 || depth == 8;
	case 2:
	case 4:
	case 6:	return depth == 8 || depth == 16;
	default: return 0;
	}
}

/* The signature, then IHDR first: length 13, CRC over type and data. */
static enum rc_image_status
sniff_png(const unsigned char *p, size_t len, struct sniffed *out)
{
	const unsigned char *ihdr = p + 8;

	out->type = RC_IMAGE_PNG;
	if (len < 8 + 8 + 13 + 4 || be32(ihdr) != 13 ||
	    memcmp(ihdr + 4, "IHDR", 4) != 0)
		return RC_IMAGE_CORRUPT;
	if (crc32_png(ihdr + 4, 4 + 13) != be32(ihdr + 8 + 13))
		return RC_IMAGE_CORRUPT;
	if (!png_depth_ok(ihdr[17], ihdr[16]))
		return RC_IMAGE_CORRUPT;
	out->width = be32(ihdr + 8);
	out->height = be32(ihdr + 12);
	return RC_IMAGE_OK;
}

/* ---- WebP (RFC 9649) ----------------------------------------------------- */

static enum rc_image_status
sniff_webp(const unsigned char *p, size_t len, struct sniffed *out)
{
	const unsigned char *c = p + 12, *d = p + 20;

	out->type = RC_IMAGE_WEBP;
	if (len < 20)
		return RC_IMAGE_CORRUPT;
	if (memcmp(c, "VP8 ", 4) == 0) {
		/* 3-byte frame tag (bit 0 clear: a key frame), start code. */
		if (len < 30 || (d[0] & 1) != 0 || d[3] != 0x9D ||
		    d[4] != 0x01 || d[5] != 0x2A)
			return RC_IMAGE_CORRUPT;
		out->width = le16(d + 6) & 0x3FFF;
		out->height = le16(d + 8) & 0x3FFF;
	} else if (memcmp(c, "VP8L", 4) == 0) {
		if (len < 25 || d[0] != 0x2F)
			return RC_IMAGE_CORRUPT;
		out->width = (le32(d + 1) & 0x3FFF) + 1;
		out->height = ((le32(d + 1) >> 14) & 0x3FFF) + 1;
	} else if (memcmp(c, "VP8X", 4) == 0) {
		if (len < 30)
			return RC_IMAGE_CORRUPT;
		out->width = (int64_t)le24(d + 4) + 1;
		out->height = (int64_t)le24(d + 7) + 1;
	} else {
		return RC_IMAGE_CORRUPT;
	}
	return RC_IMAGE_OK;
}

/* ---- BMP ----------------------------------------------------------------- */

/* "BM" alone is a weak signature (a text may start so): only a known DIB
 * header size makes it a BMP. A negative height means top-down rows. */
static enum rc_image_status
sniff_bmp(const unsigned char *p, size_t len, struct sniffed *out)
{
	uint32_t dib;
	int32_t h;

	if (len < 18)
		return RC_IMAGE_NOT_IMAGE;
	dib = le32(p + 14);
	if (dib != 12 && dib != 40 && dib != 52 && dib != 56 && dib != 64 &&
	    dib != 108 && dib != 124)
		return RC_IMAGE_NOT_IMAGE;
	out->type = RC_IMAGE_BMP;
	if (dib == 12) {	/* OS/2 BITMAPCOREHEADER: unsigned 16-bit */
		if (len < 22)
			return RC_IMAGE_CORRUPT;
		out->width = le16(p + 18);
		out->height = le16(p + 20);
		return RC_IMAGE_OK;
	}
	if (len < 26)
		return RC_IMAGE_CORRUPT;
	out->width = (int32_t)le32(p + 18);
	h = (int32_t)le32(p + 22);
	out->height = h < 0 ? -(int64_t)h : h;
	return RC_IMAGE_OK;
}

/* ---- the entry points ---------------------------------------------------- */

static const unsigned char PNG_SIG[8] = {
	0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'
};

static enum rc_image_status
sniff_any(const unsigned char *p, size_t len, struct sniffed *out)
{
	if (len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
		return sniff_jpeg(p, len, out);
	if (len >= 8 && memcmp(p, PNG_SIG, 8) == 0)
		return sniff_png(p, len, out);
	if (len >= 12 && memcmp(p, "RIFF", 4) == 0 &&
	    memcmp(p + 8, "WEBP", 4) == 0)
		return sniff_webp(p, len, out);
	if (len >= 2 && p[0] == 'B' && p[1] == 'M')
		return sniff_bmp(p, len, out);
	return RC_IMAGE_NOT_IMAGE;
}

enum rc_image_status
rc_face_image_sniff(const void *data, size_t len, enum rc_image_type *type,
    int *width, int *height)
{
	struct sniffed s = { RC_IMAGE_UNKNOWN, 0, 0 };
	enum rc_image_status st = RC_IMAGE_NOT_IMAGE;

	if (data != NULL)
		st = sniff_any(data, len, &s);
	if (st == RC_IMAGE_OK && (s.width <= 0 || s.height <= 0 ||
	    s.width > IMAGE_MAX_SIDE || s.height > IMAGE_MAX_SIDE))
		st = RC_IMAGE_CORRUPT;
	if (type != NULL)
		*type = st == RC_IMAGE_NOT_IMAGE ? RC_IMAGE_UNKNOWN : s.type;
	if (width != NULL)
		*width = st == RC_IMAGE_OK ? (int)s.width : 0;
	if (height != NULL)
		*height = st == RC_IMAGE_OK ? (int)s.height : 0;
	return st;
}

const char *
rc_face_image_mime(enum rc_image_type type)
{
	switch (type) {
	case RC_IMAGE_JPEG:	return "image/jpeg";
	case RC_IMAGE_PNG:	return "image/png";
	case RC_IMAGE_WEBP:	return "image/webp";
	case RC_IMAGE_BMP:	return "image/bmp";
	case RC_IMAGE_UNKNOWN:	break;
	}
	return NULL;
}
