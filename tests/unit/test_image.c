/* Unit tests for the picture pipeline: header sniffing on hand-made
 * headers, and rc_face_image_prepare on real photos from
 * ../shared/data/faces (ROLLCALL_FACES_DIR) and on PNG/BMP files built
 * here byte by byte. */
#include <sys/resource.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rollcall/face.h"
#include "rollcall/util.h"

#define LFW_PHOTO	"lfw-deepfunneled/Abdullah_Gul/01.jpg"

struct buf {
	unsigned char	*p;
	size_t		 len, cap;
};

static void
buf_add(struct buf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = rc_realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void
buf_be32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = { v >> 24, v >> 16, v >> 8, v };

	buf_add(b, x, 4);
}

static void
buf_le16(struct buf *b, uint32_t v)
{
	unsigned char x[2] = { v, v >> 8 };

	buf_add(b, x, 2);
}

static void
buf_le32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = { v, v >> 8, v >> 16, v >> 24 };

	buf_add(b, x, 4);
}

static const char *
faces_dir(void)
{
	const char *d = getenv("ROLLCALL_FACES_DIR");

	return d != NULL && *d != '\0' ? d : "../shared/data/faces";
}

/* Reads a shared photo; skips the test when the data set is absent.
 * Caller frees. */
static unsigned char *
read_photo(const char *rel, size_t *len)
{
	char *path = rc_asprintf("%s/%s", faces_dir(), rel);
	char *data = rc_read_file(path, len);

	if (data == NULL) {
		print_message("skipped: cannot read %s (set ROLLCALL_FACES_DIR)\n",
		    path);
		free(path);
		skip();
	}
	free(path);
	return (unsigned char *)data;
}

/* ---- building PNG and BMP files ------------------------------------------ */

static uint32_t
crc32_of(const unsigned char *p, size_t n)
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

static void
png_chunk(struct buf *b, const char *type, const unsigned char *data,
    size_t n)
{
	size_t at;

	buf_be32(b, (uint32_t)n);
	at = b->len;
	buf_add(b, type, 4);
	if (n > 0)
		buf_add(b, data, n);
	buf_be32(b, crc32_of(b->p + at, n + 4));
}

static void
png_start(struct buf *b, uint32_t w, uint32_t h)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n',
	    0x1A, '\n' };
	unsigned char ihdr[13] = { w >> 24, w >> 16, w >> 8, w, h >> 24,
	    h >> 16, h >> 8, h, 8, 2, 0, 0, 0 };	/* 8-bit RGB */

	buf_add(b, sig, sizeof(sig));
	png_chunk(b, "IHDR", ihdr, sizeof(ihdr));
}

/* zlib stream of "stored" deflate blocks (RFC 1950/1951): no compressor
 * needed. */
static void
zlib_stored(struct buf *z, const unsigned char *raw, size_t n)
{
	uint32_t a = 1, bsum = 0;
	size_t i, chunk;
	unsigned char hdr[5];

	buf_add(z, "\x78\x01", 2);
	for (i = 0; i < n || i == 0; i += chunk) {
		chunk = n - i > 65535 ? 65535 : n - i;
		hdr[0] = i + chunk >= n;
		hdr[1] = chunk & 0xFF;
		hdr[2] = chunk >> 8;
		hdr[3] = ~chunk & 0xFF;
		hdr[4] = (~chunk >> 8) & 0xFF;
		buf_add(z, hdr, 5);
		buf_add(z, raw + i, chunk);
		if (n == 0)
			break;
	}
	for (i = 0; i < n; i++) {
		a = (a + raw[i]) % 65521;
		bsum = (bsum + a) % 65521;
	}
	buf_be32(z, bsum << 16 | a);
}

/* A complete PNG of BGR pixels (stride w*3). */
static struct buf
make_png(const unsigned char *bgr, int w, int h)
{
	size_t row = (size_t)w * 3, n = (row + 1) * (size_t)h;
	unsigned char *raw = rc_malloc(n);
	struct buf b = { 0 }, z = { 0 };
	int x, y;

	for (y = 0; y < h; y++) {
		unsigned char *r = raw + (size_t)y * (row + 1);

		r[0] = 0;	/* filter: none */
		for (x = 0; x < w; x++) {
			const unsigned char *px = bgr + (size_t)y * row + 3 * x;

			r[1 + 3 * x] = px[2];
			r[2 + 3 * x] = px[1];
			r[3 + 3 * x] = px[0];
		}
	}
	zlib_stored(&z, raw, n);
	png_start(&b, (uint32_t)w, (uint32_t)h);
	png_chunk(&b, "IDAT", z.p, z.len);
	png_chunk(&b, "IEND", NULL, 0);
	free(raw);
	free(z.p);
	return b;
}

/* A 24-bit bottom-up BMP of BGR pixels (stride w*3). */
static struct buf
make_bmp(const unsigned char *bgr, int w, int h)
{
	size_t row = ((size_t)w * 3 + 3) & ~(size_t)3;
	struct buf b = { 0 };
	static const unsigned char pad[3];
	int y;

	buf_add(&b, "BM", 2);
	buf_le32(&b, (uint32_t)(54 + row * (size_t)h));
	buf_le32(&b, 0);
	buf_le32(&b, 54);
	buf_le32(&b, 40);
	buf_le32(&b, (uint32_t)w);
	buf_le32(&b, (uint32_t)h);
	buf_le16(&b, 1);
	buf_le16(&b, 24);
	buf_le32(&b, 0);	/* BI_RGB */
	buf_le32(&b, (uint32_t)(row * (size_t)h));
	buf_le32(&b, 2835);
	buf_le32(&b, 2835);
	buf_le32(&b, 0);
	buf_le32(&b, 0);
	for (y = h - 1; y >= 0; y--) {
		buf_add(&b, bgr + (size_t)y * (size_t)w * 3, (size_t)w * 3);
		buf_add(&b, pad, row - (size_t)w * 3);
	}
	return b;
}

/* Pixels with the top quarter red and the rest blue, plus a texture so
 * the JPEG encoder has something to do. */
static unsigned char *
make_marked_pixels(int w, int h)
{
	unsigned char *px = rc_malloc((size_t)w * (size_t)h * 3);
	int x, y;

	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			unsigned char *p = px + ((size_t)y * (size_t)w + x) * 3;
			int red = y < h / 4, t = (x * 7 + y * 13) % 32;

			p[0] = red ? t : 200 + t / 2;
			p[1] = 20 + t;
			p[2] = red ? 200 + t / 2 : t;
		}
	return px;
}

static int
is_red(const unsigned char *bgr)
{
	return bgr[2] > 150 && bgr[0] < 90;
}

static int
is_blue(const unsigned char *bgr)
{
	return bgr[0] > 150 && bgr[2] < 90;
}

/* ---- sniffing ------------------------------------------------------------- */

static enum rc_image_status
sniff(const void *p, size_t len, enum rc_image_type *t, int *w, int *h)
{
	return rc_face_image_sniff(p, len, t, w, h);
}

static void
test_sniff_png(void **state)
{
	struct buf b = { 0 };
	enum rc_image_type t;
	int w, h;

	(void)state;
	png_start(&b, 30000, 20000);
	assert_int_equal(sniff(b.p, b.len, &t, &w, &h), RC_IMAGE_OK);
	assert_int_equal(t, RC_IMAGE_PNG);
	assert_int_equal(w, 30000);
	assert_int_equal(h, 20000);
	assert_string_equal(rc_face_image_mime(t), "image/png");
	/* cut inside IHDR */
	assert_int_equal(sniff(b.p, 20, &t, &w, &h), RC_IMAGE_CORRUPT);
	assert_int_equal(t, RC_IMAGE_PNG);
	/* a flipped bit fails the CRC */
	b.p[18] ^= 1;
	assert_int_equal(sniff(b.p, b.len, &t, &w, &h), RC_IMAGE_CORRUPT);
	free(b.p);

	memset(&b, 0, sizeof(b));
	png_start(&b, 0, 10);
	assert_int_equal(sniff(b.p, b.len, &t, &w, &h), RC_IMAGE_CORRUPT);
	assert_int_equal(w, 0);
	free(b.p);
	memset(&b, 0, sizeof(b));
	png_start(&b, 1u << 30, 10);	/* absurd */
	assert_int_equal(sniff(b.p, b.len, &t, &w, &h), RC_IMAGE_CORRUPT);
	free(b.p);
}

static void
test_sniff_jpeg(void **state)
{
	unsigned char *jpg;
	enum rc_image_type t;
	size_t len;
	int w, h;

	(void)state;
	jpg = read_photo(LFW_PHOTO, &len);
	assert_int_equal(sniff(jpg, len, &t, &w, &h), RC_IMAGE_OK);
	assert_int_equal(t, RC_IMAGE_JPEG);
	assert_int_equal(w, 250);
	assert_int_equal(h, 250);
	assert_string_equal(rc_face_image_mime(t), "image/jpeg");
	/* cut before the frame header */
	assert_int_equal(sniff(jpg, 10, &t, &w, &h), RC_IMAGE_CORRUPT);
	assert_int_equal(t, RC_IMAGE_JPEG);
	free(jpg);
}

static void
test_sniff_jpeg_handmade(void **state)
{
	/* SOI, DHT (C4, not a frame: skipped), fill byte, SOF2 480 x 640 */
	static const unsigned char j[] = {
		0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x04, 0x00, 0x00,
		0xFF, 0xFF, 0xC2, 0x00, 0x0B, 0x08, 0x01, 0xE0, 0x02, 0x80,
		0x01, 0x01, 0x11, 0x00,
	};
	static const unsigned char sos_first[] = {
		0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x00,
	};
	unsigned char z[sizeof(j)];
	enum rc_image_type t;
	int w, h;

	(void)state;
	assert_int_equal(sniff(j, sizeof(j), &t, &w, &h), RC_IMAGE_OK);
	assert_int_equal(w, 640);
	assert_int_equal(h, 480);
	assert_int_equal(sniff(sos_first, sizeof(sos_first), &t, &w, &h),
	    RC_IMAGE_CORRUPT);
	memcpy(z, j, sizeof(j));
	z[14] = z[15] = 0;	/* height 0 */
	assert_int_equal(sniff(z, sizeof(z), &t, &w, &h), RC_IMAGE_CORRUPT);
	/* a segment length running past the end */
	memcpy(z, j, sizeof(j));
	z[5] = 0x40;
	assert_int_equal(sniff(z, sizeof(z), &t, &w, &h), RC_IMAGE_CORRUPT);
}

static void
test_sniff_webp(void **state)
{
	unsigned char x[30] = "RIFF\x16\0\0\0WEBPVP8X\x0a\0\0\0";
	unsigned char l[25] = "RIFF\x11\0\0\0WEBPVP8L\x05\0\0\0\x2f";
	unsigned char v[30] = "RIFF\x16\0\0\0WEBPVP8 \x0a\0\0\0";
	enum rc_image_type t;
	uint32_t bits;
	int w, h;

	(void)state;
	/* VP8X: canvas 4000 x 3000, stored minus one, 24-bit LE */
	x[24] = (4000 - 1) & 0xFF; x[25] = (4000 - 1) >> 8; x[26] = 0;
	x[27] = (3000 - 1) & 0xFF; x[28] = (3000 - 1) >> 8; x[29] = 0;
	assert_int_equal(sniff(x, sizeof(x), &t, &w, &h), RC_IMAGE_OK);
	assert_int_equal(t, RC_IMAGE_WEBP);
	assert_int_equal(w, 4000);
	assert_int_equal(h, 3000);
	assert_string_equal(rc_face_image_mime(t), "image/webp");
	assert_int_equal(sniff(x, 25, &t, &w, &h), RC_IMAGE_CORRUPT);

	/* VP8L: 14-bit width-1 and height-1 */
	bits = (640 - 1) | (480 - 1) << 14;
	l[21] = bits; l[22] = bits >> 8; l[23] = bits >> 16; l[24] = bits >> 24;
	assert_int_equal(sniff(l, sizeof(l), &t, &w, &h), RC_IMAGE_OK);
	assert_int_equal(w, 640);
	assert_int_equal(h, 480);

	/* VP8: key frame tag, start code, 14-bit sizes */
	v[20] = 0x10; v[23] = 0x9D; v[24] = 0x01; v[25] = 0x2A;
	v[26] = 320 & 0xFF; v[27] = 320 >> 8; v[28] = 200; v[29] = 0;
	assert_int_equal(sniff(v, sizeof(v), &t, &w, &h), RC_IMAGE_OK);
	assert_int_equal(w, 320);
	assert_int_equal(h, 200);
	v[24] = 0;	/* broken start code */
	assert_int_equal(sniff(v, sizeof(v), &t, &w, &h), RC_IMAGE_CORRUPT);

	/* RIFF but not WebP (a WAV file) */
	memcpy(x + 8, "WAVE", 4);
	assert_int_equal(sniff(x, sizeof(x), &t, &w, &h), RC_IMAGE_NOT_IMAGE);
	assert_int_equal(t, RC_IMAGE_UNKNOWN);
}

static void
test_sniff_bmp(void **state)
{
	unsigned char px[3 * 4 * 3];
	struct buf b;
	enum rc_image_type t;
	int w, h;

	(void)state;
	memset(px, 0x80, sizeof(px));
	b = make_bmp(px, 4, 3);
	assert_int_equal(sniff(b.p, b.len, &t, &w, &h), RC_IMAGE_OK);
	assert_int_equal(t, RC_IMAGE_BMP);
	assert_int_equal(w, 4);
	assert_int_equal(h, 3);
	assert_string_equal(rc_face_image_mime(t), "image/bmp");
	/* top-down: negative height */
	b.p[22] = (unsigned char)-3; b.p[23] = b.p[24] = b.p[25] = 0xFF;
	assert_int_equal(sniff(b.p, b.len, &t, &w, &h), RC_IMAGE_OK);
	assert_int_equal(h, 3);
	b.p[18] = 0;	/* width 0 */
	assert_int_equal(sniff(b.p, b.len, &t, &w, &h), RC_IMAGE_CORRUPT);
	assert_int_equal(sniff(b.p, 22, &t, &w, &h), RC_IMAGE_CORRUPT);
	free(b.p);
}

static void
test_sniff_not_image(void **state)
{
	static const char *const others[] = {
		"hello, this is a text file renamed .jpg\n",
		"GIF89a\x01\x00\x01\x00\x80\x00\x00",
		"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
		"BMW is a car, not a bitmap; this text is long enough",
		"P5 92 112 255\n",
		"\xFF\xD8",	/* a JPEG signature cut short is no JPEG */
	};
	enum rc_image_type t = RC_IMAGE_PNG;
	int w = 1, h = 1;
	size_t i;

	(void)state;
	for (i = 0; i < RC_NELEM(others); i++) {
		assert_int_equal(sniff(others[i], strlen(others[i]), &t, &w, &h),
		    RC_IMAGE_NOT_IMAGE);
		assert_int_equal(t, RC_IMAGE_UNKNOWN);
		assert_int_equal(w, 0);
	}
	assert_int_equal(sniff("", 0, &t, &w, &h), RC_IMAGE_NOT_IMAGE);
	assert_int_equal(sniff(NULL, 0, NULL, NULL, NULL), RC_IMAGE_NOT_IMAGE);
	assert_null(rc_face_image_mime(RC_IMAGE_UNKNOWN));
}

/* ---- prepare -------------------------------------------------------------- */

static long
max_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A PNG that claims 30000 x 30000 is refused from its header: fast, and
 * the 2.7 GB of pixels are never allocated. */
static void
test_prepare_bomb(void **state)
{
	unsigned char z[32];
	struct buf b = { 0 }, zl = { 0 };
	struct rc_image_limits lim = { 40000000, 0, 0 };
	struct rc_image img;
	long rss0;
	uint64_t t0, us;

	(void)state;
	memset(z, 0, sizeof(z));
	zlib_stored(&zl, z, sizeof(z));
	png_start(&b, 30000, 30000);
	png_chunk(&b, "IDAT", zl.p, zl.len);
	png_chunk(&b, "IEND", NULL, 0);
	rss0 = max_rss_kib();
	t0 = rc_now_usec();
	assert_int_equal(rc_face_image_prepare(b.p, b.len, &lim, &img),
	    RC_IMAGE_TOO_LARGE);
	us = rc_now_usec() - t0;
	print_message("30000x30000 PNG refused in %.3f ms\n", us / 1000.0);
	assert_true(us < 50000);
	assert_true(max_rss_kib() - rss0 < 16 * 1024);
	assert_string_equal(img.reason, "the image is 30000 x 30000 pixels; "
	    "the limit is 40000000 pixels");
	assert_null(img.jpeg);
	assert_null(img.bgr);
	rc_face_image_cleanup(&img);
	free(b.p);
	free(zl.p);
}

static void
test_prepare_not_image(void **state)
{
	static const char text[] = "name,email\nann,ann@example.com\n";
	struct rc_image img;

	(void)state;
	assert_int_equal(rc_face_image_prepare(text, sizeof(text) - 1, NULL,
	    &img), RC_IMAGE_NOT_IMAGE);
	assert_non_null(strstr(img.reason, "not a JPEG"));
	assert_null(img.jpeg);
	rc_face_image_cleanup(&img);
	rc_face_image_cleanup(&img);	/* safe twice */
}

static void
test_prepare_truncated_jpeg(void **state)
{
	struct rc_image img;
	unsigned char *jpg;
	size_t len;

	(void)state;
	jpg = read_photo(LFW_PHOTO, &len);
	assert_int_equal(rc_face_image_prepare(jpg, len / 2, NULL, &img),
	    RC_IMAGE_CORRUPT);
	assert_non_null(strstr(img.reason, "truncated"));
	/* only the final EOI missing */
	assert_int_equal(rc_face_image_prepare(jpg, len - 2, NULL, &img),
	    RC_IMAGE_CORRUPT);
	/* whole: fine, and trailing bytes after EOI are allowed */
	assert_int_equal(rc_face_image_prepare(jpg, len, NULL, &img),
	    RC_IMAGE_OK);
	rc_face_image_cleanup(&img);
	free(jpg);
}

/* Every cut of a real JPEG and of a PNG is refused as CORRUPT, never
 * decoded into a grey-filled picture; byte flips in the headers never
 * crash the sniffer (run under make asan too). */
static void
test_prepare_every_cut(void **state)
{
	unsigned char *jpg, *px = make_marked_pixels(40, 30), *m;
	struct buf png = make_png(px, 40, 30);
	struct rc_image img;
	enum rc_image_type t;
	size_t len, cut, i;
	int w, h;

	(void)state;
	jpg = read_photo(LFW_PHOTO, &len);
	for (cut = 0; cut < len; cut++)
		assert_int_not_equal(rc_face_image_prepare(jpg, cut, NULL, &img),
		    RC_IMAGE_OK);
	for (cut = 3; cut < len; cut++)
		if (rc_face_image_prepare(jpg, cut, NULL, &img) != RC_IMAGE_CORRUPT)
			fail_msg("JPEG cut at %zu of %zu: %s", cut, len, img.reason);
	for (cut = 8; cut < png.len; cut++)
		if (rc_face_image_prepare(png.p, cut, NULL, &img) != RC_IMAGE_CORRUPT)
			fail_msg("PNG cut at %zu of %zu: %s", cut, png.len,
			    img.reason);
	m = rc_malloc(len);
	for (i = 0; i < 20000; i++) {
		memcpy(m, jpg, len);
		m[(i * 7919) % 700] ^= (unsigned char)(1 + i % 255);
		(void)sniff(m, 700, &t, &w, &h);
		if (sniff(m, len, &t, &w, &h) == RC_IMAGE_OK)
			assert_true(w > 0 && h > 0);
	}
	free(m);
	free(jpg);
	free(png.p);
	free(px);
}

/* Headers right and complete, the data undecodable: 422, not a grey
 * picture. */
static void
test_prepare_corrupt_data(void **state)
{
	/* SOF0 8x8 grey, SOS, scan bytes, EOI: no DQT or DHT defined */
	static const unsigned char jpg[] = {
		0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x08,
		0x01, 0x01, 0x11, 0x00, 0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00,
		0x00, 0x3F, 0x00, 0x12, 0x34, 0x56, 0xFF, 0xD9,
	};
	unsigned char junk[64];
	struct buf png = { 0 };
	struct rc_image img;

	(void)state;
	assert_int_equal(rc_face_image_prepare(jpg, sizeof(jpg), NULL, &img),
	    RC_IMAGE_CORRUPT);
	assert_non_null(strstr(img.reason, "cannot be decoded"));
	memset(junk, 0x5A, sizeof(junk));	/* not a zlib stream */
	png_start(&png, 16, 16);
	png_chunk(&png, "IDAT", junk, sizeof(junk));
	png_chunk(&png, "IEND", NULL, 0);
	assert_int_equal(rc_face_image_prepare(png.p, png.len, NULL, &img),
	    RC_IMAGE_CORRUPT);
	assert_null(img.jpeg);
	free(png.p);
}

/* Decoding LFW then making a PNG of it gives real-photo PNG bytes. */
static void
test_prepare_png_to_jpeg(void **state)
{
	struct rc_image a, b;
	struct buf png, cut;
	unsigned char *jpg;
	enum rc_image_type t;
	size_t len, i;
	double diff = 0;
	int w, h;

	(void)state;
	jpg = read_photo(LFW_PHOTO, &len);
	assert_int_equal(rc_face_image_prepare(jpg, len, NULL, &a), RC_IMAGE_OK);
	free(jpg);
	assert_int_equal(a.source_type, RC_IMAGE_JPEG);
	png = make_png(a.bgr, a.width, a.height);
	assert_int_equal(rc_face_image_prepare(png.p, png.len, NULL, &b),
	    RC_IMAGE_OK);
	assert_int_equal(b.source_type, RC_IMAGE_PNG);
	assert_int_equal(b.width, 250);
	assert_int_equal(b.height, 250);
	assert_int_equal(sniff(b.jpeg, b.jpeg_len, &t, &w, &h), RC_IMAGE_OK);
	assert_int_equal(t, RC_IMAGE_JPEG);
	assert_int_equal(w, 250);
	assert_int_equal(h, 250);
	/* the PNG's pixels are exactly a's */
	for (i = 0; i < (size_t)250 * 250 * 3; i++)
		diff += abs((int)a.bgr[i] - (int)b.bgr[i]);
	assert_true(diff == 0);
	/* without IEND the PNG is cut short */
	cut = png;
	cut.len -= 12;
	rc_face_image_cleanup(&b);
	assert_int_equal(rc_face_image_prepare(cut.p, cut.len, NULL, &b),
	    RC_IMAGE_CORRUPT);
	rc_face_image_cleanup(&a);
	free(png.p);
}

/* APP1 "Exif": a little-endian TIFF with Orientation = 6 and a GPS IFD. */
static struct buf
make_exif_app1(void)
{
	struct buf b = { 0 };

	buf_add(&b, "\xFF\xE1", 2);
	buf_add(&b, "\x00\x40", 2);		/* 2 + 6 + 56 */
	buf_add(&b, "Exif\0\0", 6);
	buf_add(&b, "II*\0", 4);
	buf_le32(&b, 8);			/* IFD0 */
	buf_le16(&b, 2);
	buf_le16(&b, 0x0112); buf_le16(&b, 3); buf_le32(&b, 1);	/* SHORT */
	buf_le16(&b, 6); buf_le16(&b, 0);
	buf_le16(&b, 0x8825); buf_le16(&b, 4); buf_le32(&b, 1);	/* LONG */
	buf_le32(&b, 38);			/* GPS IFD */
	buf_le32(&b, 0);
	buf_le16(&b, 1);
	buf_le16(&b, 0x0001); buf_le16(&b, 2); buf_le32(&b, 2);	/* "N" */
	buf_add(&b, "N\0\0\0", 4);
	buf_le32(&b, 0);
	assert_int_equal(b.len, 2 + 0x40);
	return b;
}

static int
has_bytes(const unsigned char *p, size_t len, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i + n <= len; i++)
		if (memcmp(p + i, s, n) == 0)
			return 1;
	return 0;
}

/* A 300 x 200 JPEG with the top quarter red, tagged "rotate 90 degrees
 * clockwise to view": the output is 200 x 300 with the red on the right,
 * and carries no EXIF at all. */
static void
test_prepare_exif_orientation(void **state)
{
	unsigned char *px = make_marked_pixels(300, 200);
	struct buf bmp = make_bmp(px, 300, 200), app1, tagged = { 0 };
	struct rc_image plain, rot;
	const unsigned char *left, *right;

	(void)state;
	assert_int_equal(rc_face_image_prepare(bmp.p, bmp.len, NULL, &plain),
	    RC_IMAGE_OK);
	assert_int_equal(plain.width, 300);
	assert_true(is_red(plain.bgr + (10 * plain.stride) + 150 * 3));
	assert_true(is_blue(plain.bgr + (150 * plain.stride) + 150 * 3));

	app1 = make_exif_app1();
	buf_add(&tagged, plain.jpeg, 2);			/* SOI */
	buf_add(&tagged, app1.p, app1.len);
	buf_add(&tagged, plain.jpeg + 2, plain.jpeg_len - 2);
	assert_true(has_bytes(tagged.p, tagged.len, "Exif\0\0", 6));

	assert_int_equal(rc_face_image_prepare(tagged.p, tagged.len, NULL, &rot),
	    RC_IMAGE_OK);
	assert_int_equal(rot.width, 200);
	assert_int_equal(rot.height, 300);
	left = rot.bgr + 150 * rot.stride + 10 * 3;
	right = rot.bgr + 150 * rot.stride + 190 * 3;
	assert_true(is_red(right));
	assert_true(is_blue(left));
	assert_false(has_bytes(rot.jpeg, rot.jpeg_len, "Exif", 4));
	assert_false(has_bytes(rot.thumb, rot.thumb_len, "Exif", 4));
	assert_int_equal(rot.jpeg[2], 0xFF);
	assert_int_not_equal(rot.jpeg[3], 0xE1);	/* no APP1 at all */

	rc_face_image_cleanup(&plain);
	rc_face_image_cleanup(&rot);
	free(px);
	free(bmp.p);
	free(app1.p);
	free(tagged.p);
}

static void
test_prepare_thumbnail(void **state)
{
	unsigned char *px = make_marked_pixels(1000, 600);
	struct buf big = make_bmp(px, 1000, 600), small;
	struct rc_image img;
	enum rc_image_type t;
	int w, h;

	(void)state;
	assert_int_equal(rc_face_image_prepare(big.p, big.len, NULL, &img),
	    RC_IMAGE_OK);
	assert_int_equal(img.source_type, RC_IMAGE_BMP);
	assert_int_equal(img.thumb_w, 256);
	assert_int_equal(img.thumb_h, 154);
	assert_int_equal(sniff(img.thumb, img.thumb_len, &t, &w, &h),
	    RC_IMAGE_OK);
	assert_int_equal(t, RC_IMAGE_JPEG);
	assert_int_equal(w, 256);
	assert_int_equal(h, 154);
	assert_true(img.thumb_len < img.jpeg_len);
	rc_face_image_cleanup(&img);
	free(big.p);

	/* never upscaled */
	small = make_bmp(px, 100, 80);
	assert_int_equal(rc_face_image_prepare(small.p, small.len, NULL, &img),
	    RC_IMAGE_OK);
	assert_int_equal(img.thumb_w, 100);
	assert_int_equal(img.thumb_h, 80);
	rc_face_image_cleanup(&img);
	/* a cut BMP */
	assert_int_equal(rc_face_image_prepare(small.p, small.len - 100, NULL,
	    &img), RC_IMAGE_CORRUPT);
	free(small.p);
	free(px);
}

/* Makes a w x h JPEG of photo-like content: the LFW face tiled. */
static struct rc_image
make_jpeg_of_size(int w, int h)
{
	struct rc_image face, out;
	unsigned char *jpg, *px;
	struct buf bmp;
	size_t len;
	int x, y;

	jpg = read_photo(LFW_PHOTO, &len);
	assert_int_equal(rc_face_image_prepare(jpg, len, NULL, &face),
	    RC_IMAGE_OK);
	free(jpg);
	px = rc_malloc((size_t)w * (size_t)h * 3);
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++)
			memcpy(px + ((size_t)y * (size_t)w + x) * 3,
			    face.bgr + (size_t)(y % face.height) * face.stride +
			    (size_t)(x % face.width) * 3, 3);
	bmp = make_bmp(px, w, h);
	free(px);
	rc_face_image_cleanup(&face);
	assert_int_equal(rc_face_image_prepare(bmp.p, bmp.len, NULL, &out),
	    RC_IMAGE_OK);
	free(bmp.p);
	return out;
}

static double
time_prepare_ms(const struct rc_image *src, int rounds)
{
	struct rc_image img;
	double best = 1e9, ms;
	uint64_t t0;
	int i;

	for (i = 0; i < rounds; i++) {
		t0 = rc_now_usec();
		assert_int_equal(rc_face_image_prepare(src->jpeg, src->jpeg_len,
		    NULL, &img), RC_IMAGE_OK);
		ms = (rc_now_usec() - t0) / 1000.0;
		best = ms < best ? ms : best;
		assert_int_equal(img.width, src->width);
		rc_face_image_cleanup(&img);
	}
	return best;
}

/* Figures, not a pass/fail bound beyond "it works at this size". */
static void
test_prepare_timing(void **state)
{
	struct rc_image vga = make_jpeg_of_size(640, 480);
	struct rc_image mp12 = make_jpeg_of_size(4000, 3000);

	(void)state;
	print_message("prepare 640x480 JPEG (%zu bytes): %.1f ms (best of 5)\n",
	    vga.jpeg_len, time_prepare_ms(&vga, 5));
	print_message("prepare 4000x3000 JPEG (%zu bytes): %.1f ms (best of 3)\n",
	    mp12.jpeg_len, time_prepare_ms(&mp12, 3));
	rc_face_image_cleanup(&vga);
	rc_face_image_cleanup(&mp12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sniff_png),
		cmocka_unit_test(test_sniff_jpeg),
		cmocka_unit_test(test_sniff_jpeg_handmade),
		cmocka_unit_test(test_sniff_webp),
		cmocka_unit_test(test_sniff_bmp),
		cmocka_unit_test(test_sniff_not_image),
		cmocka_unit_test(test_prepare_bomb),
		cmocka_unit_test(test_prepare_not_image),
		cmocka_unit_test(test_prepare_truncated_jpeg),
		cmocka_unit_test(test_prepare_every_cut),
		cmocka_unit_test(test_prepare_corrupt_data),
		cmocka_unit_test(test_prepare_png_to_jpeg),
		cmocka_unit_test(test_prepare_exif_orientation),
		cmocka_unit_test(test_prepare_thumbnail),
		cmocka_unit_test(test_prepare_timing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
