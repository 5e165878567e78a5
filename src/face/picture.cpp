// Pictures (rc_face_image_prepare / rc_face_image_cleanup): what "file
// conversion" did. The upload turned upright, re-encoded as a JPEG that
// carries no metadata, a thumbnail, and the pixels for the matcher. The
// type and size come from rc_face_image_sniff (image.c) before anything is
// decoded.

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

// OpenCV's headers cast away const; they are not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#pragma GCC diagnostic pop

extern "C" {
#include "rollcall/face.h"
#include "rollcall/util.h"
}

namespace {

const size_t	 IMAGE_MAX_PIXELS = 40000000;	// limits->max_pixels 0
const int	 IMAGE_THUMB_PX = 256;
const int	 IMAGE_JPEG_QUALITY = 90;

void
image_reason(struct rc_image *img, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(img->reason, sizeof(img->reason), fmt, ap);
	va_end(ap);
}

uint32_t
image_be16(const unsigned char *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

uint32_t
image_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

uint32_t
image_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

// From the first scan on: entropy-coded bytes never hold FF followed by
// anything but 00 or RSTn (T.81 B.1.1.5), so any other FF xx is a marker;
// the file is whole when EOI comes. Bytes after EOI (a motion photo's
// video) are allowed.
bool
jpeg_scans_end(const unsigned char *p, size_t i, size_t len)
{
	const void *ff;
	unsigned m;

	while (i + 1 < len) {
		if ((ff = memchr(p + i, 0xFF, len - i - 1)) == nullptr)
			return false;
		i = (size_t)((const unsigned char *)ff - p);
		m = p[i + 1];
		if (m == 0xD9)
			return true;
		if (m == 0x00 || (m >= 0xD0 && m <= 0xD7) || m == 0xFF) {
			i += m == 0xFF ? 1 : 2;
			continue;
		}
		// DHT, DQT, the next scan's SOS... between progressive scans
		if (i + 4 > len || image_be16(p + i + 2) < 2)
			return false;
		i += 2 + image_be16(p + i + 2);
	}
	return false;
}

// libjpeg decodes a cut JPEG with grey fill and only a warning, so a
// missing end is caught here.
bool
jpeg_complete(const unsigned char *p, size_t len)
{
	size_t i = 2, seg;
	unsigned m;

	while (i + 4 <= len && p[i] == 0xFF) {
		m = p[i + 1];
		if (m == 0xFF) {
			i++;
			continue;
		}
		if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
			i += 2;
			continue;
		}
		if (m == 0xD9 || (seg = image_be16(p + i + 2)) < 2)
			return false;
		if (m == 0xDA)
			return jpeg_scans_end(p, i + 2 + seg, len);
		i += 2 + seg;
	}
	return false;
}

// Whole when the chunk list reaches IEND (ISO/IEC 15948 5.3).
bool
png_complete(const unsigned char *p, size_t len)
{
	size_t i = 8, n;

	while (i + 12 <= len) {
		n = image_be32(p + i);
		if (n > 0x7FFFFFFFu)
			return false;
		if (memcmp(p + i + 4, "IEND", 4) == 0)
			return true;
		if (n > len - i - 12)
			return false;
		i += 12 + n;
	}
	return false;
}

// The RIFF header says how long the file is.
bool
webp_complete(const unsigned char *p, size_t len)
{
	return len >= 12 && (uint64_t)image_le32(p + 4) + 8 <= len;
}

// Uncompressed rows (BI_RGB, BI_BITFIELDS) must all be there; the RLE
// kinds are left to the decoder.
bool
bmp_complete(const unsigned char *p, size_t len, int w, int h)
{
	uint32_t dib = image_le32(p + 14), bpp, comp = 0;
	uint64_t row;

	if (dib == 12) {
		bpp = len >= 26 ? (uint32_t)(p[24] | p[25] << 8) : 0;
	} else {
		if (len < 34)
			return false;
		bpp = (uint32_t)(p[28] | p[29] << 8);
		comp = image_le32(p + 30);
	}
	if (comp != 0 && comp != 3 && comp != 6)
		return true;
	if (bpp == 0 || bpp > 32)
		return false;
	row = ((uint64_t)w * bpp + 31) / 32 * 4;
	return (uint64_t)image_le32(p + 10) + row * (uint64_t)h <= len;
}

bool
image_complete(enum rc_image_type type, const unsigned char *p, size_t len,
    int w, int h)
{
	switch (type) {
	case RC_IMAGE_JPEG:	return jpeg_complete(p, len);
	case RC_IMAGE_PNG:	return png_complete(p, len);
	case RC_IMAGE_WEBP:	return webp_complete(p, len);
	case RC_IMAGE_BMP:	return bmp_complete(p, len, w, h);
	case RC_IMAGE_UNKNOWN:	break;
	}
	return false;
}

// Returns a new buffer holding v's bytes; *n is set.
unsigned char *
image_copy_bytes(const std::vector<uchar> &v, size_t *n)
{
	unsigned char *p = (unsigned char *)rc_malloc(v.size());

	memcpy(p, v.data(), v.size());
	*n = v.size();
	return p;
}

// cv::imencode writes JFIF and the pixels, never EXIF: no GPS leaves.
std::vector<uchar>
image_encode_jpeg(const cv::Mat &m, int quality)
{
	std::vector<uchar> buf;
	const std::vector<int> params = { cv::IMWRITE_JPEG_QUALITY, quality };

	if (!cv::imencode(".jpg", m, buf, params) || buf.empty())
		throw std::runtime_error("JPEG encoding failed");
	return buf;
}

// Fills out from the upright pixels. Throws on failure; out is then
// cleaned by the caller.
void
image_fill(const cv::Mat &up, const struct rc_image_limits *lim,
    struct rc_image *out)
{
	int thumb = lim->thumb_px > 0 ? lim->thumb_px : IMAGE_THUMB_PX;
	int q = lim->jpeg_quality > 0 ? std::min(lim->jpeg_quality, 100) :
	    IMAGE_JPEG_QUALITY;
	int longest = std::max(up.cols, up.rows);
	std::vector<uchar> buf = image_encode_jpeg(up, q);
	cv::Mat small;

	out->width = up.cols;
	out->height = up.rows;
	out->jpeg = image_copy_bytes(buf, &out->jpeg_len);
	if (longest <= thumb) {		// never upscale: the thumbnail is the picture
		out->thumb = image_copy_bytes(buf, &out->thumb_len);
		out->thumb_w = up.cols;
		out->thumb_h = up.rows;
	} else {
		double s = (double)thumb / longest;
		cv::Size sz(std::max(1, (int)std::lround(up.cols * s)),
		    std::max(1, (int)std::lround(up.rows * s)));

		cv::resize(up, small, sz, 0, 0, cv::INTER_AREA);
		buf = image_encode_jpeg(small, q);
		out->thumb = image_copy_bytes(buf, &out->thumb_len);
		out->thumb_w = small.cols;
		out->thumb_h = small.rows;
	}
	out->stride = (size_t)up.cols * 3;
	out->bgr = (unsigned char *)rc_malloc(out->stride * (size_t)up.rows);
	for (int y = 0; y < up.rows; y++)
		memcpy(out->bgr + (size_t)y * out->stride, up.ptr(y), out->stride);
}

// IMREAD_COLOR applies the EXIF orientation (and gives 8-bit BGR).
cv::Mat
image_decode(const void *data, size_t len)
{
	cv::Mat decoded;

	try {
		cv::Mat buf(1, (int)len, CV_8U, const_cast<void *>(data));
		decoded = cv::imdecode(buf, cv::IMREAD_COLOR);
	} catch (...) {
		decoded.release();
	}
	if (!decoded.empty() && decoded.type() != CV_8UC3)
		decoded.release();
	return decoded;
}

// Sniff, limit, completeness: everything that refuses without decoding.
enum rc_image_status
image_check(const void *data, size_t len, size_t max_pixels,
    struct rc_image *out, int *w, int *h)
{
	static const char *const names[] = { "image", "JPEG", "PNG", "WebP",
	    "BMP" };
	enum rc_image_type type;
	enum rc_image_status st;

	st = rc_face_image_sniff(data, len, &type, w, h);
	out->source_type = type;
	if (st == RC_IMAGE_NOT_IMAGE) {
		image_reason(out, "the file is not a JPEG, PNG, WebP or BMP image");
		return st;
	}
	if (st != RC_IMAGE_OK) {
		image_reason(out, "the %s header is damaged or cut short",
		    names[type]);
		return st;
	}
	if ((size_t)*w * (size_t)*h > max_pixels || len > (size_t)INT32_MAX) {
		image_reason(out, "the image is %d x %d pixels; the limit is "
		    "%zu pixels", *w, *h, max_pixels);
		return RC_IMAGE_TOO_LARGE;
	}
	if (!image_complete(type, (const unsigned char *)data, len, *w, *h)) {
		image_reason(out, "the %s file is cut short (truncated); upload "
		    "it again", names[type]);
		return RC_IMAGE_CORRUPT;
	}
	return RC_IMAGE_OK;
}

// Undoes a half-filled out: only the reason stays.
void
image_fail(struct rc_image *out, const char *what)
{
	enum rc_image_type type = out->source_type;

	rc_face_image_cleanup(out);
	memset(out, 0, sizeof(*out));
	out->source_type = type;
	image_reason(out, "image conversion failed: %s", what);
}

} // namespace

extern "C" enum rc_image_status
rc_face_image_prepare(const void *data, size_t len,
    const struct rc_image_limits *limits, struct rc_image *out)
{
	static const struct rc_image_limits defaults = { 0, 0, 0 };
	const struct rc_image_limits *lim = limits ? limits : &defaults;
	size_t max_pixels = lim->max_pixels > 0 ? lim->max_pixels :
	    IMAGE_MAX_PIXELS;
	enum rc_image_status st;
	cv::Mat up;
	int w, h;

	memset(out, 0, sizeof(*out));
	if ((st = image_check(data, len, max_pixels, out, &w, &h)) !=
	    RC_IMAGE_OK)
		return st;
	up = image_decode(data, len);
	if (up.empty()) {
		image_reason(out, "the image data is damaged and cannot be "
		    "decoded");
		return RC_IMAGE_CORRUPT;
	}
	if (up.total() > max_pixels) {	// the decoder disagreed with the header
		image_reason(out, "the image is %d x %d pixels; the limit is "
		    "%zu pixels", up.cols, up.rows, max_pixels);
		return RC_IMAGE_TOO_LARGE;
	}
	try {
		image_fill(up, lim, out);
		return RC_IMAGE_OK;
	} catch (const std::exception &ex) {
		image_fail(out, ex.what());
	} catch (...) {
		image_fail(out, "unknown error");
	}
	return RC_IMAGE_ERROR;
}

extern "C" void
rc_face_image_cleanup(struct rc_image *img)
{
	if (img == nullptr)
		return;
	free(img->jpeg);
	free(img->thumb);
	free(img->bgr);
	img->jpeg = img->thumb = img->bgr = nullptr;
	img->jpeg_len = img->thumb_len = img->stride = 0;
}
