// Face matcher on OpenCV: detect (Haar cascade or YuNet), align on the
// eyes, check quality, template (LBP and LPQ grids, or SFace), compare,
// search. The only C++ file; every entry point catches every exception.

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

// OpenCV's headers cast away const; they are not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#pragma GCC diagnostic pop

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

extern "C" {
#include "rollcall/face.h"
#include "rollcall/util.h"
}

namespace {

// Built-in method: bump the version whenever the pipeline changes in a way
// that changes templates, so old and new templates are never compared.
const char	*const LBP_METHOD = "lbp-grid";
const uint32_t	 LBP_VERSION = 2;
const char	*const SFACE_METHOD = "sface";

const int	 CROP = 128;		// aligned face crop, pixels
const float	 EYE_Y = 46.0f;		// canonical eye row in the crop
const float	 EYE_LX = 40.0f;	// canonical eye columns
const float	 EYE_RX = 88.0f;

const char	 TEMPLATE_MAGIC[4] = { 'R', 'C', 'F', 'T' };
const size_t	 METHOD_MAX = 31;

struct worker {
	cv::CascadeClassifier		 face;
	cv::Ptr<cv::FaceDetectorYN>	 yunet;
	cv::Ptr<cv::FaceRecognizerSF>	 sface;
};

struct candidate {
	cv::Rect2f	 box;
	cv::Point2f	 eye_l, eye_r;	// as seen in the image: left, right
	bool		 has_eyes;
};

} // namespace

struct rc_face_engine {
	std::string			 cascade_dir;
	std::string			 detector_model;
	std::string			 recognizer_model;
	int				 min_face;
	std::string			 method;
	uint32_t			 version;
	std::mutex			 mu;	// guards idle and all
	std::vector<worker *>		 idle;
	std::vector<std::unique_ptr<worker>> all;
};

struct rc_face_template {
	std::string		 method;
	uint32_t		 version;
	std::vector<float>	 v;
};

namespace {

void
set_reason(struct rc_face_info *info, const char *fmt, ...)
{
	va_list ap;

	if (info == nullptr)
		return;
	va_start(ap, fmt);
	vsnprintf(info->reason, sizeof(info->reason), fmt, ap);
	va_end(ap);
}

void
set_err(char *err, size_t errlen, const std::string &msg)
{
	if (err != nullptr && errlen > 0)
		snprintf(err, errlen, "%s", msg.c_str());
}

// Loads one detector/recogniser set. Throws on failure.
std::unique_ptr<worker>
worker_load(const rc_face_engine *e)
{
	std::unique_ptr<worker> w(new worker);
	std::string path;

	if (e->detector_model.empty()) {
		path = e->cascade_dir + "/haarcascades/haarcascade_frontalface_default.xml";
		// Checked first: OpenCV logs its own error for a missing file.
		if (access(path.c_str(), R_OK) != 0 || !w->face.load(path))
			throw std::runtime_error("cannot load face cascade " + path);
	} else {
		w->yunet = cv::FaceDetectorYN::create(e->detector_model, "",
		    cv::Size(320, 320), 0.7f, 0.3f, 5000);
		if (w->yunet.empty())
			throw std::runtime_error("cannot load detector model " +
			    e->detector_model);
	}
	if (!e->recognizer_model.empty()) {
		w->sface = cv::FaceRecognizerSF::create(e->recognizer_model, "");
		if (w->sface.empty())
			throw std::runtime_error("cannot load recognizer model " +
			    e->recognizer_model);
	}
	return w;
}

// Borrows a worker for one call; OpenCV detectors and networks keep
// per-call state, so two threads never share one.
class lease {
public:
	explicit lease(rc_face_engine *e) : eng(e), w(nullptr)
	{
		{
			std::lock_guard<std::mutex> g(eng->mu);
			if (!eng->idle.empty()) {
				w = eng->idle.back();
				eng->idle.pop_back();
				return;
			}
		}
		std::unique_ptr<worker> nw = worker_load(eng);
		std::lock_guard<std::mutex> g(eng->mu);
		w = nw.get();
		eng->all.push_back(std::move(nw));
	}
	~lease()
	{
		std::lock_guard<std::mutex> g(eng->mu);
		eng->idle.push_back(w);
	}
	lease(const lease &) = delete;
	lease &operator=(const lease &) = delete;
	worker *get() const { return w; }
private:
	rc_face_engine	*eng;
	worker		*w;
};

} // namespace

// ---- detection ----------------------------------------------------------

namespace {

// Detection runs on a copy no larger than this on its longer side: faces
// that matter at a kiosk are far larger than the cascade's 24 px window.
const int	 DETECT_MAX = 320;
// A face counts as "comparable" to the largest when its area is at least
// this fraction of the largest's (sides within about 70%).
const double	 COMPARABLE_AREA = 0.5;

// Overlapping detections the cascade must agree on: the usual 5, and 3
// for a last try on a picture where nothing was found (a face half in
// shadow or turned away), when a false face costs no more than a missed
// one.
const int	 HAAR_NEIGHBOURS = 5;
const int	 HAAR_NEIGHBOURS_LAST = 3;

std::vector<candidate>
detect_haar_once(worker *w, const cv::Mat &grey, int min_face, int neighbours)
{
	std::vector<candidate> out;
	std::vector<cv::Rect> rects;
	cv::Mat small;
	double s = std::min(1.0, (double)DETECT_MAX / std::max(grey.cols, grey.rows));
	// Faces under 1/6 of the shorter side are not what a kiosk or an
	// enrolment photo is about; skipping their scales halves the time.
	int minsz = std::max({ 24, (int)std::lround(min_face * s * 0.8),
	    (int)(std::min(grey.cols, grey.rows) * s / 6) });

	// A copy even at full size: equalising in place would also change the
	// pixels the template is made from, but only for small pictures.
	if (s < 1.0)
		cv::resize(grey, small, cv::Size(), s, s, cv::INTER_AREA);
	else
		small = grey.clone();
	cv::equalizeHist(small, small);
	w->face.detectMultiScale(small, rects, 1.1, neighbours, 0, cv::Size(minsz, minsz));
	for (const cv::Rect &r : rects) {
		candidate c;
		c.box = cv::Rect2f((float)(r.x / s), (float)(r.y / s),
		    (float)(r.width / s), (float)(r.height / s));
		c.has_eyes = false;
		out.push_back(c);
	}
	return out;
}

std::vector<candidate>
detect_yunet_once(worker *w, const cv::Mat &bgr, int min_face)
{
	std::vector<candidate> out;
	cv::Mat small, faces;
	double s = std::min(1.0, 640.0 / std::max(bgr.cols, bgr.rows));

	if (s < 1.0)
		cv::resize(bgr, small, cv::Size(), s, s, cv::INTER_AREA);
	else
		small = bgr;
	w->yunet->setInputSize(small.size());
	w->yunet->detect(small, faces);
	for (int i = 0; i < faces.rows; i++) {
		const float *f = faces.ptr<float>(i);
		candidate c;

		c.box = cv::Rect2f(f[0] / s, f[1] / s, f[2] / s, f[3] / s);
		if (std::min(c.box.width, c.box.height) < min_face * 0.8f)
			continue;
		// YuNet gives the subject's right eye first: the image's left.
		c.eye_l = cv::Point2f(f[4] / s, f[5] / s);
		c.eye_r = cv::Point2f(f[6] / s, f[7] / s);
		c.has_eyes = true;
		out.push_back(c);
	}
	return out;
}

// Median grey of the image's outer ring: the padding colour that least
// looks like an edge to the detector.
cv::Scalar
border_colour(const cv::Mat &img)
{
	std::vector<cv::Mat> strips = {
		img.row(0), img.row(img.rows - 1),
		img.col(0).t(), img.col(img.cols - 1).t(),
	};
	cv::Mat ring;

	cv::hconcat(strips, ring);
	ring = ring.reshape(1, 1).clone();
	cv::Mat sorted;
	cv::sort(ring, sorted, cv::SORT_EVERY_ROW);
	return cv::Scalar::all(sorted.at<uchar>(0, sorted.cols / 2));
}

// Detects faces; when none is found and the picture may be a tight crop
// of a face, retries once on a copy padded with a plain border, since
// cascades need some context around the face to fire, and then (Haar)
// once more with fewer neighbours.
std::vector<candidate>
detect(const rc_face_engine *e, worker *w, const cv::Mat &bgr, const cv::Mat &grey)
{
	std::vector<candidate> found;

	found = w->yunet ? detect_yunet_once(w, bgr, e->min_face) :
	    detect_haar_once(w, grey, e->min_face, HAAR_NEIGHBOURS);
	if (!found.empty())
		return found;

	int pad = std::max(grey.cols, grey.rows) / 3;
	cv::Mat padded;
	cv::Scalar colour = border_colour(grey);
	if (w->yunet) {
		cv::copyMakeBorder(bgr, padded, pad, pad, pad, pad,
		    cv::BORDER_CONSTANT, colour);
		found = detect_yunet_once(w, padded, e->min_face);
	} else {
		cv::copyMakeBorder(grey, padded, pad, pad, pad, pad,
		    cv::BORDER_CONSTANT, colour);
		found = detect_haar_once(w, padded, e->min_face, HAAR_NEIGHBOURS);
	}
	for (candidate &c : found) {
		c.box.x -= pad;
		c.box.y -= pad;
		c.eye_l -= cv::Point2f((float)pad, (float)pad);
		c.eye_r -= cv::Point2f((float)pad, (float)pad);
	}
	if (found.empty() && !w->yunet)
		found = detect_haar_once(w, grey, e->min_face, HAAR_NEIGHBOURS_LAST);
	return found;
}

} // namespace

// ---- alignment and quality ----------------------------------------------

namespace {

// Where the eyes sit inside a Haar face box, as fractions of its side.
// Chosen on the DEV sets; a tighter guess crops the chin away.
const float	 EST_EYE_X = 0.36f;
const float	 EST_EYE_Y = 0.32f;

void
estimate_eyes(candidate *c)
{
	const cv::Rect2f &b = c->box;

	c->eye_l = cv::Point2f(b.x + EST_EYE_X * b.width, b.y + EST_EYE_Y * b.height);
	c->eye_r = cv::Point2f(b.x + (1 - EST_EYE_X) * b.width,
	    b.y + EST_EYE_Y * b.height);
}

// Similarity transform that puts the eyes at their canonical places.
cv::Mat
align_matrix(const candidate &c)
{
	cv::Point2f d = c.eye_r - c.eye_l;
	double angle = std::atan2(d.y, d.x) * 180.0 / CV_PI;
	double scale = (EYE_RX - EYE_LX) / std::max(1.0, cv::norm(d));
	cv::Mat m = cv::getRotationMatrix2D(c.eye_l, angle, scale);

	m.at<double>(0, 2) += EYE_LX - c.eye_l.x;
	m.at<double>(1, 2) += EYE_Y - c.eye_l.y;
	return m;
}

// The picture smoothed for warping c's face to the crop: big faces are
// blurred first so the warp does not alias. Done once per picture, since
// the template warps the same face several times.
cv::Mat
presmooth(const cv::Mat &grey, const candidate &c)
{
	double side = cv::norm(c.eye_r - c.eye_l);
	cv::Mat src = grey;

	if (side > 2.0 * (EYE_RX - EYE_LX)) {
		double sigma = 0.5 * side / (EYE_RX - EYE_LX);
		cv::GaussianBlur(grey, src, cv::Size(), sigma);
	}
	return src;
}

// Warps a presmoothed picture so c's eyes land on their canonical places.
cv::Mat
align_crop(const cv::Mat &smoothed, const candidate &c)
{
	cv::Mat crop;

	cv::warpAffine(smoothed, crop, align_matrix(c), cv::Size(CROP, CROP),
	    cv::INTER_LINEAR, cv::BORDER_REPLICATE);
	return crop;
}

// Quality limits: lenient, meant to refuse only pictures that cannot
// be matched (a dark room, a blown-out flash, heavy motion blur).
const double	 Q_MIN_BRIGHT = 35, Q_MAX_BRIGHT = 240;
const double	 Q_MIN_CONTRAST = 10;
const double	 Q_MIN_SHARP = 4;

// Fills the quality fields; returns false (with the reason set) when the
// face is too poor to match.
bool
check_quality(const cv::Mat &crop, struct rc_face_info *info)
{
	cv::Rect inner(24, 24, CROP - 48, CROP - 32);
	cv::Scalar mean, sd;
	cv::Mat lap;

	cv::meanStdDev(crop(inner), mean, sd);
	cv::Laplacian(crop(inner), lap, CV_32F);
	cv::Scalar lm, ls;
	cv::meanStdDev(lap, lm, ls);
	info->brightness = mean[0];
	info->contrast = sd[0];
	info->sharpness = ls[0] * ls[0];
	double qb = 1.0 - std::fabs(mean[0] - 128) / 128;
	double qc = std::min(1.0, sd[0] / 50);
	double qs = std::min(1.0, info->sharpness / 200);
	info->quality = std::max(0.0, std::min(1.0, qb * qc * qs));

	if (mean[0] < Q_MIN_BRIGHT) {
		set_reason(info, "the face is too dark (mean grey %.0f of 255)", mean[0]);
		return false;
	}
	if (mean[0] > Q_MAX_BRIGHT) {
		set_reason(info, "the face is overexposed (mean grey %.0f of 255)", mean[0]);
		return false;
	}
	if (sd[0] < Q_MIN_CONTRAST) {
		set_reason(info, "the face has too little contrast (%.1f)", sd[0]);
		return false;
	}
	if (info->sharpness < Q_MIN_SHARP) {
		set_reason(info, "the face is blurred (sharpness %.1f)", info->sharpness);
		return false;
	}
	return true;
}

} // namespace


// ---- built-in descriptor: LBP and LPQ histograms on a grid -------------

namespace {

// Maps an 8-bit LBP code to one of 58 uniform patterns or bin 58.
struct uniform_map {
	uint8_t	 bin[256];
	uniform_map()
	{
		int next = 0;
		for (int c = 0; c < 256; c++) {
			int t = 0;
			for (int b = 0; b < 8; b++)
				t += ((c >> b) & 1) != ((c >> ((b + 1) % 8)) & 1);
			bin[c] = (uint8_t)(t <= 2 ? next++ : 58);
		}
	}
};
const uniform_map	 UNIFORM;
const int		 LBP_BINS = 59;

// Tan & Triggs (2010) illumination normalisation: gamma, difference of
// Gaussians, two-stage contrast equalisation, tanh squashing.
cv::Mat
tan_triggs(const cv::Mat &grey)
{
	const double a = 0.1, tau = 10.0;
	cv::Mat f, g1, g2, t;

	grey.convertTo(f, CV_32F, 1.0 / 255);
	cv::pow(f + 1e-3, 0.2, f);
	cv::GaussianBlur(f, g1, cv::Size(), 1.0);
	cv::GaussianBlur(f, g2, cv::Size(), 2.0);
	f = g1 - g2;
	cv::pow(cv::abs(f), a, t);
	f /= std::pow(cv::mean(t)[0], 1 / a) + 1e-9;
	cv::pow(cv::min(cv::abs(f), tau), a, t);
	f /= std::pow(cv::mean(t)[0], 1 / a) + 1e-9;
	// tau * tanh(f / tau), elementwise
	for (int y = 0; y < f.rows; y++) {
		float *p = f.ptr<float>(y);
		for (int x = 0; x < f.cols; x++)
			p[x] = (float)(tau * std::tanh(p[x] / tau));
	}
	return f;
}

// Uniform LBP codes with radius r on the square ring (8 samples).
cv::Mat
lbp_codes(const cv::Mat &f, int r)
{
	const int dx[8] = { -r, 0, r, r, r, 0, -r, -r };
	const int dy[8] = { -r, -r, -r, 0, r, r, r, 0 };
	cv::Mat codes(f.rows, f.cols, CV_8U, cv::Scalar(58));

	for (int y = r; y < f.rows - r; y++) {
		const float *c = f.ptr<float>(y);
		uint8_t *o = codes.ptr<uint8_t>(y);
		for (int x = r; x < f.cols - r; x++) {
			int code = 0;
			for (int k = 0; k < 8; k++)
				code |= (f.ptr<float>(y + dy[k])[x + dx[k]] >= c[x]) << k;
			o[x] = UNIFORM.bin[code];
		}
	}
	return codes;
}

// Appends a g x g grid of square-rooted, normalised histograms of the
// codes inside area (Hellinger kernel: cosine on sqrt histograms).
void
grid_hist(const cv::Mat &codes, cv::Rect area, int g, std::vector<float> *out)
{
	for (int gy = 0; gy < g; gy++)
		for (int gx = 0; gx < g; gx++) {
			int x0 = area.x + gx * area.width / g;
			int x1 = area.x + (gx + 1) * area.width / g;
			int y0 = area.y + gy * area.height / g;
			int y1 = area.y + (gy + 1) * area.height / g;
			float h[LBP_BINS] = { 0 };
			for (int y = y0; y < y1; y++) {
				const uint8_t *p = codes.ptr<uint8_t>(y);
				for (int x = x0; x < x1; x++)
					h[p[x]] += 1;
			}
			float n = (float)((x1 - x0) * (y1 - y0));
			for (int b = 0; b < LBP_BINS; b++)
				out->push_back(std::sqrt(h[b] / n));
		}
}

void
l2_normalise(float *v, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += (double)v[i] * v[i];
	s = s > 0 ? 1.0 / std::sqrt(s) : 0;
	for (size_t i = 0; i < n; i++)
		v[i] = (float)(v[i] * s);
}

// Mirror image of an LBP code on the square ring: sample k at (dx, dy)
// goes to the sample at (-dx, dy).
struct mirror_map {
	uint8_t	 bin[LBP_BINS];
	mirror_map()
	{
		const int perm[8] = { 2, 1, 0, 7, 6, 5, 4, 3 };
		for (int c = 0; c < 256; c++) {
			int m = 0;
			for (int k = 0; k < 8; k++)
				m |= ((c >> k) & 1) << perm[k];
			bin[UNIFORM.bin[c]] = UNIFORM.bin[m];
		}
	}
};
const mirror_map	 MIRROR;

// The descriptors see the aligned face at their own resolution, warped
// at twice that and halved so the warp does not alias, with `pad` pixels
// of margin around it (room for the shifted grids below).
cv::Mat
warp_view(const cv::Mat &smoothed, const candidate &c, int side, int pad)
{
	const int over = 2;
	const int n = (side + 2 * pad) * over;
	cv::Mat m = align_matrix(c) * ((double)side * over / CROP), big, view;

	m.at<double>(0, 2) += pad * over;
	m.at<double>(1, 2) += pad * over;
	cv::warpAffine(smoothed, big, m, cv::Size(n, n), cv::INTER_LINEAR,
	    cv::BORDER_REPLICATE);
	cv::resize(big, view, cv::Size(n / over, n / over), 0, 0, cv::INTER_AREA);
	return view;
}

// The LBP half of a template: uniform LBP (radius 1) of the
// Tan-Triggs-normalised face at LBP_SIDE pixels, LBP_GRID x LBP_GRID
// cells of square-rooted histograms (cosine = Hellinger kernel). The face
// and its mirror image are added, which makes matching tolerant of small
// turns of the head; the sum is left-right symmetric, so only the left
// half of the cells is kept (the dot product is halved, not changed).
// Coarse cells: alignment comes from a face box, so finer ones mostly
// measure where the box fell.
const int	 LBP_SIDE = 48;		// 6 cells of 8
const int	 LBP_GRID = 6;
const int	 LBP_PAD = 2;		// 1 for the codes' ring, 1 for shifts
const size_t	 LBP_DIM = (size_t)LBP_GRID * (LBP_GRID / 2) * LBP_BINS;

// The LBP half for the grid whose top left corner is at `at` in codes.
std::vector<float>
lbp_hist(const cv::Mat &codes, cv::Point at)
{
	std::vector<float> full, half;
	const int g = LBP_GRID;

	static_assert(LBP_SIDE % LBP_GRID == 0, "cells mirror exactly");
	grid_hist(codes, cv::Rect(at.x, at.y, LBP_SIDE, LBP_SIDE), g, &full);
	half.reserve(LBP_DIM);
	for (int gy = 0; gy < g; gy++)
		for (int gx = 0; gx < g / 2; gx++) {
			const float *l = &full[(size_t)(gy * g + gx) * LBP_BINS];
			const float *r = &full[(size_t)(gy * g + g - 1 - gx) * LBP_BINS];
			for (int b = 0; b < LBP_BINS; b++)
				half.push_back(l[b] + r[MIRROR.bin[b]]);
		}
	l2_normalise(half.data(), half.size());
	return half;
}

// Local phase quantisation (Ojansivu & Heikkilä 2008): the signs of the
// real and imaginary parts of a 7x7 short-term Fourier transform at the
// four lowest non-zero frequencies, an 8-bit code per pixel. Phase
// survives blur and lighting changes that move LBP's grey comparisons,
// and on the DEV sets it and LBP err on different photos.
const int	 LPQ_WIN = 7;
const int	 LPQ_SIDE = 64;		// half the crop: 4 x 4 cells of 16
const int	 LPQ_GRID = 4;
const int	 LPQ_PAD = 2;		// room for shifts
const int	 LPQ_BINS = 128;	// a code and its complement share a bin
const size_t	 LPQ_DIM = (size_t)LPQ_GRID * (LPQ_GRID / 2) * LPQ_BINS;

// One pass of a 1-D filter along x (horizontal) or y.
cv::Mat
lpq_pass(const cv::Mat &f, const cv::Mat &k, bool horizontal)
{
	cv::Mat out;

	cv::filter2D(f, out, CV_32F, horizontal ? k : k.t(), cv::Point(-1, -1), 0,
	    cv::BORDER_REFLECT);
	return out;
}

// Codes, bits in the order Re, Im of u1 = (a, 0), u2 = (0, a),
// u3 = (a, a), u4 = (a, -a), a = 1 / LPQ_WIN. w = exp(-2 pi i a x) is
// split into its cosine and (minus) sine parts, so every complex filter
// is a sum of separable real ones sharing three horizontal passes.
cv::Mat
lpq_codes(const cv::Mat &f)
{
	const int r = LPQ_WIN / 2;
	cv::Mat one(1, LPQ_WIN, CV_32F), cs(1, LPQ_WIN, CV_32F), sn(1, LPQ_WIN, CV_32F);

	for (int i = 0; i < LPQ_WIN; i++) {
		double ph = 2 * CV_PI * (i - r) / LPQ_WIN;
		one.at<float>(i) = 1;
		cs.at<float>(i) = (float)std::cos(ph);
		sn.at<float>(i) = (float)-std::sin(ph);
	}
	cv::Mat x1 = lpq_pass(f, one, true), xc = lpq_pass(f, cs, true),
	    xs = lpq_pass(f, sn, true);
	cv::Mat cc = lpq_pass(xc, cs, false), ss = lpq_pass(xs, sn, false);
	cv::Mat sc = lpq_pass(xs, cs, false), cs2 = lpq_pass(xc, sn, false);
	cv::Mat part[8] = {
		lpq_pass(xc, one, false), lpq_pass(xs, one, false),	// u1
		lpq_pass(x1, cs, false), lpq_pass(x1, sn, false),	// u2
		cc - ss, sc + cs2,					// u3
		cc + ss, sc - cs2,					// u4
	};
	cv::Mat codes(f.rows, f.cols, CV_8U);
	for (int y = 0; y < f.rows; y++) {
		const float *p[8];
		for (int k = 0; k < 8; k++)
			p[k] = part[k].ptr<float>(y);
		uint8_t *o = codes.ptr<uint8_t>(y);
		for (int x = 0; x < f.cols; x++) {
			int c = 0;
			for (int k = 0; k < 8; k++)
				c |= (p[k][x] >= 0) << k;
			o[x] = (uint8_t)c;
		}
	}
	return codes;
}

// The code a pixel of the mirror image gets: mirroring conjugates u1,
// keeps u2 and swaps u3 with the conjugate of u4.
uint8_t
lpq_mirror(int c)
{
	const int from[8] = { 0, 1, 2, 3, 6, 7, 4, 5 };
	const int flip = 0x02 | 0x20 | 0x80;	// the imaginary parts negated
	int m = 0;

	for (int k = 0; k < 8; k++)
		m |= ((c >> from[k]) & 1) << k;
	return (uint8_t)(m ^ flip);
}

// The LPQ half for the grid whose top left corner is at `at` in codes:
// cells folded with their mirror images like the LBP half, and a code and
// its complement (the same edges, contrast reversed) in one bin, which
// halves the size for little loss.
std::vector<float>
lpq_hist(const cv::Mat &codes, cv::Point at)
{
	const int g = LPQ_GRID, cell = LPQ_SIDE / LPQ_GRID;
	std::vector<float> v(LPQ_DIM, 0.0f);

	for (int gy = 0; gy < g; gy++)
		for (int gx = 0; gx < g; gx++) {
			bool right = gx >= g / 2;
			float *h = &v[(size_t)(gy * (g / 2) + (right ? g - 1 - gx : gx)) *
			    LPQ_BINS];
			for (int y = gy * cell; y < (gy + 1) * cell; y++) {
				const uint8_t *p = codes.ptr<uint8_t>(at.y + y) + at.x;
				for (int x = gx * cell; x < (gx + 1) * cell; x++) {
					int c = right ? lpq_mirror(p[x]) : p[x];
					h[std::min(c, 255 - c)] += 1;
				}
			}
		}
	for (float &x : v)
		x = std::sqrt(x / (float)(cell * cell));
	l2_normalise(v.data(), v.size());
	return v;
}

// The face box misses the eyes by a few per cent either way, and a cell
// histogram changes abruptly when a feature crosses its edge. The template
// is the mean over alignments scaled by 5% either way and, at each scale,
// grids shifted by about 2% of the face (1 LBP pixel, 2 LPQ pixels), which
// turns those edges soft. Shifting the grid instead of re-warping makes
// each scale's codes serve five shifts.
const float	 JITTER_SCALES[] = { 0.95f, 1.0f, 1.05f };
const int	 JITTER_STEPS[][2] = { { 0, 0 }, { 1, 0 }, { -1, 0 }, { 0, 1 }, { 0, -1 } };

// c with its eyes moved as if its box were scaled by s about its centre.
candidate
scaled(const candidate &c, float s)
{
	cv::Point2f centre(c.box.x + c.box.width / 2, c.box.y + c.box.height / 2);
	candidate j = c;

	j.eye_l = centre + (c.eye_l - centre) * s;
	j.eye_r = centre + (c.eye_r - centre) * s;
	return j;
}

void
add_to(std::vector<float> *sum, size_t at, const std::vector<float> &v)
{
	for (size_t i = 0; i < v.size(); i++)
		(*sum)[at + i] += v[i];
}

// The built-in template of face c (eyes set) in a presmoothed picture:
// the LBP half then the LPQ half, each of norm about 1 before the whole
// is normalised.
std::vector<float>
builtin_template(const cv::Mat &smoothed, const candidate &c)
{
	std::vector<float> v(LBP_DIM + LPQ_DIM, 0.0f);
	cv::Mat f;

	for (float s : JITTER_SCALES) {
		candidate j = scaled(c, s);
		cv::Mat lbp = lbp_codes(tan_triggs(warp_view(smoothed, j, LBP_SIDE,
		    LBP_PAD)), 1);
		warp_view(smoothed, j, LPQ_SIDE, LPQ_PAD).convertTo(f, CV_32F);
		cv::Mat lpq = lpq_codes(f);
		for (const int *d : JITTER_STEPS) {
			add_to(&v, 0, lbp_hist(lbp, cv::Point(LBP_PAD + d[0],
			    LBP_PAD + d[1])));
			add_to(&v, LBP_DIM, lpq_hist(lpq, cv::Point(LPQ_PAD + 2 * d[0],
			    LPQ_PAD + 2 * d[1])));
		}
	}
	l2_normalise(v.data(), v.size());
	return v;
}

} // namespace

// ---- extraction ---------------------------------------------------------

namespace {

// SFace's alignCrop wants YuNet's row: box, 5 landmarks, score. With the
// Haar detector the nose and mouth are placed from the eyes using the
// proportions of SFace's own reference face.
cv::Mat
sface_row(const candidate &c)
{
	cv::Point2f d = c.eye_r - c.eye_l, mid = (c.eye_l + c.eye_r) * 0.5f;
	cv::Point2f down(-d.y, d.x);	// perpendicular, pointing down
	cv::Mat row(1, 15, CV_32F);
	float *f = row.ptr<float>(0);
	cv::Point2f nose = mid + down * 0.57f;
	cv::Point2f ml = mid + down * 1.155f - d * 0.41f;
	cv::Point2f mr = mid + down * 1.155f + d * 0.41f;

	f[0] = c.box.x; f[1] = c.box.y; f[2] = c.box.width; f[3] = c.box.height;
	f[4] = c.eye_l.x; f[5] = c.eye_l.y; f[6] = c.eye_r.x; f[7] = c.eye_r.y;
	f[8] = nose.x; f[9] = nose.y;
	f[10] = ml.x; f[11] = ml.y; f[12] = mr.x; f[13] = mr.y;
	f[14] = 1.0f;
	return row;
}

std::vector<float>
sface_template(worker *w, const cv::Mat &bgr, const candidate &c)
{
	cv::Mat aligned, feat, src = bgr;

	if (src.channels() == 1)
		cv::cvtColor(bgr, src, cv::COLOR_GRAY2BGR);
	w->sface->alignCrop(src, sface_row(c), aligned);
	w->sface->feature(aligned, feat);
	feat = feat.reshape(1, 1);
	feat.convertTo(feat, CV_32F);
	std::vector<float> v(feat.ptr<float>(0), feat.ptr<float>(0) + feat.cols);
	l2_normalise(v.data(), v.size());
	return v;
}

// Largest first; counts the faces comparable in size to the largest.
int
rank_faces(std::vector<candidate> *faces)
{
	int comparable = 0;

	std::sort(faces->begin(), faces->end(),
	    [](const candidate &a, const candidate &b) {
		return a.box.area() > b.box.area();
	});
	for (const candidate &c : *faces)
		comparable += c.box.area() >= COMPARABLE_AREA * (*faces)[0].box.area();
	return comparable;
}

enum rc_face_status
extract_mat(rc_face_engine *e, const cv::Mat &img, int strict,
    rc_face_template **out, struct rc_face_info *info)
{
	lease l(e);
	worker *w = l.get();
	cv::Mat grey;

	if (img.channels() == 3)
		cv::cvtColor(img, grey, cv::COLOR_BGR2GRAY);
	else
		grey = img;
	info->img_w = img.cols;
	info->img_h = img.rows;
	std::vector<candidate> faces = detect(e, w, img, grey);
	info->faces = (int)faces.size();
	if (faces.empty()) {
		set_reason(info, "no face was found in the picture");
		return RC_FACE_NO_FACE;
	}
	info->comparable = rank_faces(&faces);
	candidate c = faces[0];
	info->x = (int)c.box.x;
	info->y = (int)c.box.y;
	info->w = (int)c.box.width;
	info->h = (int)c.box.height;
	if (strict && info->comparable >= 2) {
		set_reason(info, "%d faces of similar size were found; the picture "
		    "must show one person", info->comparable);
		return RC_FACE_MULTIPLE;
	}
	if (std::min(c.box.width, c.box.height) < e->min_face) {
		set_reason(info, "the face is %d px wide; at least %d px are needed",
		    info->w, e->min_face);
		return RC_FACE_POOR_QUALITY;
	}
	// Eyes come from YuNet's landmarks, else from the box. The Haar eye
	// cascade was tried here: on the DEV sets it moved the eyes more often
	// than it fixed them (rank-1 0.97 -> 0.94 ORL, 0.55 -> 0.47 LFW).
	info->eyes_found = c.has_eyes;
	if (!c.has_eyes)
		estimate_eyes(&c);
	cv::Mat smoothed = presmooth(grey, c);
	if (!check_quality(align_crop(smoothed, c), info))
		return RC_FACE_POOR_QUALITY;

	std::unique_ptr<rc_face_template> t(new rc_face_template);
	t->method = e->method;
	t->version = e->version;
	t->v = w->sface ? sface_template(w, img, c) : builtin_template(smoothed, c);
	*out = t.release();
	return RC_FACE_OK;
}

// FNV-1a of the model file: the version of an SFace template, so that
// templates from two different model files are never compared.
uint32_t
file_hash(const std::string &path)
{
	size_t len = 0;
	char *buf = rc_read_file(path.c_str(), &len);
	uint32_t h = 2166136261u;

	if (buf == nullptr)
		throw std::runtime_error("cannot read " + path + ": " + strerror(errno));
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)buf[i]) * 16777619u;
	free(buf);
	return h;
}

void
engine_setup(rc_face_engine *e, const struct rc_face_config *cfg)
{
	e->cascade_dir = cfg && cfg->cascade_dir ? cfg->cascade_dir : "/usr/share/opencv4";
	e->detector_model = cfg && cfg->detector_model ? cfg->detector_model : "";
	e->recognizer_model = cfg && cfg->recognizer_model ? cfg->recognizer_model : "";
	e->min_face = cfg && cfg->min_face_px > 0 ? cfg->min_face_px : 40;
	if (e->recognizer_model.empty()) {
		e->method = LBP_METHOD;
		e->version = LBP_VERSION;
	} else {
		e->method = SFACE_METHOD;
		e->version = file_hash(e->recognizer_model);
	}
	// Load one worker now so a bad path fails here, not on first use.
	std::unique_ptr<worker> w = worker_load(e);
	e->idle.push_back(w.get());
	e->all.push_back(std::move(w));
}

void
put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

} // namespace

// ---- C interface --------------------------------------------------------

extern "C" struct rc_face_engine *
rc_face_engine_new(const struct rc_face_config *cfg, char *err, size_t errlen)
{
	rc_face_engine *e = nullptr;

	try {
		e = new rc_face_engine;
		engine_setup(e, cfg);
		return e;
	} catch (const std::exception &ex) {
		set_err(err, errlen, ex.what());
	} catch (...) {
		set_err(err, errlen, "unknown error while loading the face engine");
	}
	delete e;
	return nullptr;
}

extern "C" void
rc_face_engine_free(struct rc_face_engine *eng)
{
	delete eng;
}

extern "C" const char *
rc_face_method(const struct rc_face_engine *eng)
{
	return eng->method.c_str();
}

static enum rc_face_status
extract_guarded(struct rc_face_engine *eng, const cv::Mat &img, int strict,
    struct rc_face_template **out, struct rc_face_info *info)
{
	try {
		return extract_mat(eng, img, strict, out, info);
	} catch (const std::exception &ex) {
		set_reason(info, "face engine error: %s", ex.what());
	} catch (...) {
		set_reason(info, "face engine error");
	}
	return RC_FACE_ERROR;
}

extern "C" enum rc_face_status
rc_face_extract(struct rc_face_engine *eng, const void *img, size_t len,
    int strict_single, struct rc_face_template **out, struct rc_face_info *info)
{
	struct rc_face_info local;
	cv::Mat decoded;

	*out = nullptr;
	if (info == nullptr)
		info = &local;
	memset(info, 0, sizeof(*info));
	if (img == nullptr || len == 0 || len > (size_t)INT32_MAX) {
		set_reason(info, "the data is not an image");
		return RC_FACE_NOT_IMAGE;
	}
	try {
		// imdecode applies the EXIF orientation unless told not to.
		cv::Mat buf(1, (int)len, CV_8U, const_cast<void *>(img));
		decoded = cv::imdecode(buf, cv::IMREAD_COLOR);
	} catch (...) {
		decoded.release();
	}
	if (decoded.empty()) {
		set_reason(info, "the data is not an image in a known format");
		return RC_FACE_NOT_IMAGE;
	}
	return extract_guarded(eng, decoded, strict_single, out, info);
}

extern "C" enum rc_face_status
rc_face_extract_pixels(struct rc_face_engine *eng, const unsigned char *px,
    int width, int height, size_t stride, int channels, int strict_single,
    struct rc_face_template **out, struct rc_face_info *info)
{
	struct rc_face_info local;

	*out = nullptr;
	if (info == nullptr)
		info = &local;
	memset(info, 0, sizeof(*info));
	if (px == nullptr || width <= 0 || height <= 0 ||
	    (channels != 1 && channels != 3) ||
	    stride < (size_t)width * (size_t)channels) {
		set_reason(info, "invalid pixel buffer");
		return RC_FACE_NOT_IMAGE;
	}
	cv::Mat img(height, width, channels == 1 ? CV_8UC1 : CV_8UC3,
	    const_cast<unsigned char *>(px), stride);
	return extract_guarded(eng, img, strict_single, out, info);
}

extern "C" const char *
rc_face_status_code(enum rc_face_status st)
{
	switch (st) {
	case RC_FACE_OK:		return "ok";
	case RC_FACE_NOT_IMAGE:		return "not_image";
	case RC_FACE_NO_FACE:		return "no_face";
	case RC_FACE_MULTIPLE:		return "multiple_faces";
	case RC_FACE_POOR_QUALITY:	return "poor_quality";
	case RC_FACE_ERROR:		break;
	}
	return "face_error";
}

extern "C" void
rc_face_template_free(struct rc_face_template *t)
{
	delete t;
}

extern "C" const char *
rc_face_template_method(const struct rc_face_template *t)
{
	return t->method.c_str();
}

extern "C" uint32_t
rc_face_template_version(const struct rc_face_template *t)
{
	return t->version;
}

extern "C" size_t
rc_face_template_dim(const struct rc_face_template *t)
{
	return t->v.size();
}

extern "C" const float *
rc_face_template_vector(const struct rc_face_template *t)
{
	return t->v.data();
}

extern "C" unsigned char *
rc_face_template_serialize(const struct rc_face_template *t, size_t *len)
{
	size_t mlen = std::min(t->method.size(), METHOD_MAX);
	size_t n = 4 + 1 + mlen + 4 + 4 + 4 * t->v.size();
	unsigned char *buf = (unsigned char *)rc_malloc(n), *p = buf;

	memcpy(p, TEMPLATE_MAGIC, 4);
	p += 4;
	*p++ = (unsigned char)mlen;
	memcpy(p, t->method.data(), mlen);
	p += mlen;
	put_u32(p, t->version);
	put_u32(p + 4, (uint32_t)t->v.size());
	p += 8;
	for (float f : t->v) {
		uint32_t bits;
		memcpy(&bits, &f, 4);
		put_u32(p, bits);
		p += 4;
	}
	*len = n;
	return buf;
}

extern "C" struct rc_face_template *
rc_face_template_deserialize(const void *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;

	if (p == nullptr || len < 4 + 1 + 8 || memcmp(p, TEMPLATE_MAGIC, 4) != 0)
		return nullptr;
	size_t mlen = p[4];
	if (mlen == 0 || mlen > METHOD_MAX || len < 4 + 1 + mlen + 8)
		return nullptr;
	const unsigned char *q = p + 5 + mlen;
	uint32_t dim = get_u32(q + 4);
	if (dim == 0 || dim > 65536 || len != 4 + 1 + mlen + 8 + 4 * (size_t)dim)
		return nullptr;
	for (size_t i = 0; i < mlen; i++)
		if (p[5 + i] < 0x21 || p[5 + i] > 0x7e)
			return nullptr;
	try {
		std::unique_ptr<rc_face_template> t(new rc_face_template);
		t->method.assign((const char *)p + 5, mlen);
		t->version = get_u32(q);
		t->v.resize(dim);
		q += 8;
		for (uint32_t i = 0; i < dim; i++, q += 4) {
			uint32_t bits = get_u32(q);
			memcpy(&t->v[i], &bits, 4);
			if (!std::isfinite(t->v[i]))
				return nullptr;
		}
		return t.release();
	} catch (...) {
		return nullptr;
	}
}

// Dot product with eight independent sums, which the compiler turns into
// SIMD without -ffast-math.
static float
dot_plain(const float *a, const float *b, size_t n)
{
	float s[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			s[j] += a[i + j] * b[i + j];
	for (; i < n; i++)
		s[0] += a[i] * b[i];
	return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

#if defined(__x86_64__) && defined(__GNUC__)
// The build targets baseline x86-64; 1:N search is the one loop where
// AVX2+FMA pays, so it is chosen at run time. A row's products go into
// one chain of sums, in the same order in the one- and four-row kernels,
// so search and rc_face_similarity give the same number.
__attribute__((target("avx2,fma"))) static float
hsum_avx2(__m256 s)
{
	__m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));

	h = _mm_add_ps(h, _mm_movehl_ps(h, h));
	h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
	return _mm_cvtss_f32(h);
}

__attribute__((target("avx2,fma"))) static float
dot_avx2(const float *a, const float *b, size_t n)
{
	__m256 s = _mm256_setzero_ps();
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		s = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s);
	float r = hsum_avx2(s);
	for (; i < n; i++)
		r += a[i] * b[i];
	return r;
}

// Four consecutive gallery rows against one probe. Search is bound by
// memory: four streams in flight read the gallery about a third faster
// than one, and the four chains hide the latency of the sums.
__attribute__((target("avx2,fma"))) static void
dot4_avx2(const float *rows, size_t dim, const float *b, float out[4])
{
	const float *r0 = rows, *r1 = rows + dim, *r2 = rows + 2 * dim,
	    *r3 = rows + 3 * dim;
	__m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
	size_t i = 0;

	for (; i + 8 <= dim; i += 8) {
		__m256 p = _mm256_loadu_ps(b + i);
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + i), p, s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + i), p, s1);
		s2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2 + i), p, s2);
		s3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3 + i), p, s3);
	}
	out[0] = hsum_avx2(s0);
	out[1] = hsum_avx2(s1);
	out[2] = hsum_avx2(s2);
	out[3] = hsum_avx2(s3);
	for (; i < dim; i++) {
		out[0] += r0[i] * b[i];
		out[1] += r1[i] * b[i];
		out[2] += r2[i] * b[i];
		out[3] += r3[i] * b[i];
	}
}

static bool
have_avx2(void)
{
	static const bool yes = __builtin_cpu_supports("avx2") &&
	    __builtin_cpu_supports("fma");
	return yes;
}

static inline float
dot(const float *a, const float *b, size_t n)
{
	return have_avx2() ? dot_avx2(a, b, n) : dot_plain(a, b, n);
}
#else
static inline float
dot(const float *a, const float *b, size_t n)
{
	return dot_plain(a, b, n);
}
#endif

static inline float
clamp01(float x)
{
	return x < 0 ? 0 : x > 1 ? 1 : x;
}

extern "C" double
rc_face_similarity(const struct rc_face_template *a, const struct rc_face_template *b)
{
	if (a == nullptr || b == nullptr || a->method != b->method ||
	    a->version != b->version || a->v.size() != b->v.size())
		return -1;
	return clamp01(dot(a->v.data(), b->v.data(), a->v.size()));
}

// Offers row i with similarity sim to the sorted top-k in hits.
static inline void
offer_hit(struct rc_face_hit *hits, size_t k, size_t *have, size_t i, float sim)
{
	if (*have == k && sim <= hits[k - 1].similarity)
		return;
	// insertion into the sorted top-k; k is small
	size_t j = *have < k ? (*have)++ : k - 1;
	while (j > 0 && hits[j - 1].similarity < sim) {
		hits[j] = hits[j - 1];
		j--;
	}
	hits[j].index = i;
	hits[j].similarity = sim;
}

extern "C" size_t
rc_face_search(const float *gallery, size_t n, size_t dim, const float *probe,
    size_t k, struct rc_face_hit *hits)
{
	size_t have = 0, i = 0;

	k = std::min(k, n);
	if (k == 0)
		return 0;
#if defined(__x86_64__) && defined(__GNUC__)
	if (have_avx2())
		for (; i + 4 <= n; i += 4) {
			float s[4];
			dot4_avx2(gallery + i * dim, dim, probe, s);
			for (size_t r = 0; r < 4; r++)
				offer_hit(hits, k, &have, i + r, clamp01(s[r]));
		}
#endif
	for (; i < n; i++)
		offer_hit(hits, k, &have, i, clamp01(dot(gallery + i * dim, probe, dim)));
	return have;
}

// ==== Quantised gallery: rc_face_gallery_* ================================
// Search reads the whole gallery for every probe, so its speed is the
// memory it reads: 8 KB a row as floats. The gallery keeps each row also
// as int8 with a per-row scale (a quarter of the bytes), ranks every row by
// that, and rescores the best rows with the float rows. Each row's
// quantisation error has a bound (below), so a row the int8 pass left out
// is rescored too whenever it could still reach the k-th score: the hits
// are those of rc_face_search, not an approximation of them.

struct rc_face_gallery {
	size_t			 n, dim;
	size_t			 stride;	// bytes per int8 row, zero-padded
	bool			 has_negative;	// rows are not all >= 0
	std::vector<float>	 rows;		// the exact rows, for rescoring
	std::vector<float>	 scale;		// row i ~ scale[i] * q row i
	std::vector<float>	 err;		// |row - scale * q|, rounded up
	std::vector<float>	 qnorm;		// |scale * q|, rounded up
	std::vector<float>	 norm;		// |row|, rounded up
	int8_t			*q;		// blocks of 4 rows, see Q_BLOCK
};

namespace {

const int	 Q_MAX = 127;		// both sides: 2 * 127 * 127 fits maddubs' int16
const size_t	 Q_ALIGN = 32;
const size_t	 RESCORE_MIN = 32;	// rows rescored at least, and 4 per hit
const size_t	 RESCORE_STACK = 256;	// max(4 * 64, 32): no allocation for k <= 64

int8_t *
aligned_bytes(size_t len)
{
	void *p = aligned_alloc(Q_ALIGN, std::max(len, Q_ALIGN));

	if (p == nullptr)
		throw std::bad_alloc();
	return (int8_t *)p;
}

// Rounds a norm computed in double up, so that a bound built on it holds
// after the conversion to float.
inline float
up(double x)
{
	return (float)(x * (1 + 1e-6));
}

// Quantises v to q[0..dim) in [-Q_MAX, Q_MAX] and returns the scale;
// *e is |v - scale * q| and *qn is |scale * q|.
float
quantise(const float *v, size_t dim, int8_t *q, double *e, double *qn)
{
	float m = 0;

	for (size_t j = 0; j < dim; j++)
		m = std::max(m, std::fabs(v[j]));
	// The bounds use the q actually chosen, so how it rounds only has to
	// be close, not exact: no libm call per value.
	float s = m / Q_MAX, inv = m > 0 ? Q_MAX / m : 0;
	double e2 = 0, q2 = 0;
	for (size_t j = 0; j < dim; j++) {
		float x = v[j] * inv;
		int r = (int)(x + (x < 0 ? -0.5f : 0.5f));
		r = std::min(std::max(r, -Q_MAX), Q_MAX);
		q[j] = (int8_t)r;
		double d = (double)v[j] - (double)s * r;
		e2 += d * d;
		q2 += (double)(r * r);
	}
	*e = std::sqrt(e2);
	*qn = (double)s * std::sqrt(q2);
	return s;
}

// The int8 rows are stored four at a time, their 32-byte chunks
// interleaved (chunk c of rows 4b..4b+3 side by side), so that the pass
// over the gallery is one sequential stream that the prefetcher follows
// from the first byte; four separate rows of 2 KB each are too short for
// it. The last block is filled with zero rows that are never offered.
const size_t	 Q_CHUNK = 32;
const size_t	 Q_BLOCK = 4;

// Integer dot products of the four rows of block b (stride bytes each).
void
idot4_plain(const int8_t *block, size_t stride, const int8_t *p, int32_t out[4])
{
	for (size_t r = 0; r < Q_BLOCK; r++) {
		int32_t s = 0;
		for (size_t c = 0; c < stride; c += Q_CHUNK) {
			const int8_t *q = block + c * Q_BLOCK + r * Q_CHUNK;
			for (size_t j = 0; j < Q_CHUNK; j++)
				s += (int32_t)q[j] * p[c + j];
		}
		out[r] = s;
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
// maddubs multiplies unsigned by signed bytes. Rows that are all >= 0 (the
// built-in method's histograms) go in as they are; signed rows lend their
// sign to the probe byte and go in as magnitudes.
template <bool SIGNED>
__attribute__((target("avx2"))) inline __m256i
madd_row(__m256i row, __m256i probe)
{
	const __m256i ones = _mm256_set1_epi16(1);
	__m256i pairs = SIGNED ?
	    _mm256_maddubs_epi16(_mm256_abs_epi8(row), _mm256_sign_epi8(probe, row)) :
	    _mm256_maddubs_epi16(row, probe);
	return _mm256_madd_epi16(pairs, ones);
}

__attribute__((target("avx2"))) inline int32_t
hsum_epi32_avx2(__m256i s)
{
	__m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));

	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(1, 0, 3, 2)));
	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(2, 3, 0, 1)));
	return _mm_cvtsi128_si32(h);
}

template <bool SIGNED>
__attribute__((target("avx2"))) void
idot4_avx2(const int8_t *block, size_t stride, const int8_t *p, int32_t out[4])
{
	__m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
	const __m256i *q = (const __m256i *)block;

	for (size_t c = 0; c < stride; c += Q_CHUNK, q += Q_BLOCK) {
		__m256i b = _mm256_load_si256((const __m256i *)(p + c));
		s0 = _mm256_add_epi32(s0, madd_row<SIGNED>(_mm256_load_si256(q), b));
		s1 = _mm256_add_epi32(s1, madd_row<SIGNED>(_mm256_load_si256(q + 1), b));
		s2 = _mm256_add_epi32(s2, madd_row<SIGNED>(_mm256_load_si256(q + 2), b));
		s3 = _mm256_add_epi32(s3, madd_row<SIGNED>(_mm256_load_si256(q + 3), b));
	}
	out[0] = hsum_epi32_avx2(s0);
	out[1] = hsum_epi32_avx2(s1);
	out[2] = hsum_epi32_avx2(s2);
	out[3] = hsum_epi32_avx2(s3);
}
#endif

// Integer dot products of rows [4b, 4b + 4) with the probe.
void
idot_block(const rc_face_gallery *g, size_t b, const int8_t *p, int32_t out[4])
{
	const int8_t *block = g->q + b * Q_BLOCK * g->stride;

#if defined(__x86_64__) && defined(__GNUC__)
	if (have_avx2()) {
		if (g->has_negative)
			idot4_avx2<true>(block, g->stride, p, out);
		else
			idot4_avx2<false>(block, g->stride, p, out);
		return;
	}
#endif
	idot4_plain(block, g->stride, p, out);
}

// One thread's working memory for a search: the quantised probe and each
// row's upper bound on its float score.
struct search_scratch {
	int8_t			*probe = nullptr;
	size_t			 probe_len = 0;
	std::vector<float>	 bound;

	~search_scratch() { free(probe); }
};

struct quant_probe {
	const int8_t	*q;
	float		 scale;		// probe ~ scale * q
	float		 norm;		// |probe|, rounded up
	float		 err;		// |probe - scale * q|, rounded up
};

quant_probe
probe_quantise(const rc_face_gallery *g, const float *probe, search_scratch *s)
{
	quant_probe qp;
	double e, qn, pn = 0;

	if (s->probe_len < g->stride) {
		free(s->probe);
		s->probe = (int8_t *)aligned_bytes(g->stride);
		s->probe_len = g->stride;
	}
	memset(s->probe + g->dim, 0, g->stride - g->dim);
	qp.scale = quantise(probe, g->dim, s->probe, &e, &qn);
	for (size_t j = 0; j < g->dim; j++)
		pn += (double)probe[j] * probe[j];
	qp.q = s->probe;
	qp.norm = up(std::sqrt(pn));
	qp.err = up(e);
	return qp;
}

// Bound on |float score - int8 estimate| of row i. With row = a q + e_r and
// probe = b s + e_p: row.probe - ab q.s = e_r.probe + a q.e_p, which
// Cauchy-Schwarz bounds; the last terms cover the rounding of the float
// dot product (a few hundred roundings of at most 2^-24 each) and of the
// estimate itself.
inline float
score_bound(const rc_face_gallery *g, size_t i, const quant_probe &qp)
{
	return g->err[i] * qp.norm + g->qnorm[i] * qp.err +
	    1e-4f * g->norm[i] * qp.norm + 1e-6f;
}

// The int8 pass: the best c rows by estimate into cand (index order on
// ties, as rc_face_search), each row's upper bound into bound.
size_t
estimate_all(const rc_face_gallery *g, const quant_probe &qp, float *bound,
    struct rc_face_hit *cand, size_t c)
{
	size_t have = 0;

	for (size_t i = 0; i < g->n;) {
		int32_t d[Q_BLOCK];
		idot_block(g, i / Q_BLOCK, qp.q, d);
		for (size_t r = 0; r < Q_BLOCK && i < g->n; r++, i++) {
			float est = g->scale[i] * qp.scale * (float)d[r];
			bound[i] = est + score_bound(g, i, qp);
			offer_hit(cand, c, &have, i, est);
		}
	}
	return have;
}

bool
by_index(const struct rc_face_hit &a, const struct rc_face_hit &b)
{
	return a.index < b.index;
}

// True when some row outside cand could still score t or more (then ties
// at t could also need it), so the candidates alone do not decide.
bool
others_could_reach(const rc_face_gallery *g, const float *bound,
    const struct rc_face_hit *cand, size_t c, float t)
{
	size_t above = 0, cand_above = 0;

	if (t <= 0)
		return true;	// clamping makes every row a tie at 0
	for (size_t i = 0; i < g->n; i++)
		above += bound[i] >= t;
	for (size_t j = 0; j < c; j++)
		cand_above += bound[cand[j].index] >= t;
	return above > cand_above;
}

// Rows in index order through offer_hit, as rc_face_search offers them,
// so ties come out the same. Rows whose bound is under t are skipped.
size_t
rescore(const rc_face_gallery *g, const float *probe, const float *bound,
    float t, size_t k, struct rc_face_hit *hits)
{
	size_t have = 0;

	for (size_t i = 0; i < g->n; i++)
		if (t <= 0 || bound[i] >= t)
			offer_hit(hits, k, &have, i,
			    clamp01(dot(&g->rows[i * g->dim], probe, g->dim)));
	return have;
}

size_t
gallery_search(const rc_face_gallery *g, const float *probe, size_t k,
    struct rc_face_hit *hits, struct rc_face_hit *cand, size_t c)
{
	static thread_local search_scratch s;
	size_t have = 0;

	quant_probe qp = probe_quantise(g, probe, &s);
	if (s.bound.size() < g->n)
		s.bound.resize(g->n);
	c = estimate_all(g, qp, s.bound.data(), cand, c);
	std::sort(cand, cand + c, by_index);
	for (size_t j = 0; j < c; j++)
		offer_hit(hits, k, &have, cand[j].index, clamp01(dot(
		    &g->rows[cand[j].index * g->dim], probe, g->dim)));
	float t = hits[k - 1].similarity;
	if (!others_could_reach(g, s.bound.data(), cand, c, t))
		return have;
	return rescore(g, probe, s.bound.data(), t, k, hits);
}

} // namespace

namespace {

bool
all_finite(const float *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!std::isfinite(v[i]))
			return false;
	return true;
}

size_t
q_bytes(size_t n, size_t stride)
{
	return (n + Q_BLOCK - 1) / Q_BLOCK * Q_BLOCK * stride;
}

// Row i's int8 chunks into their places in its block of four.
void
interleave(rc_face_gallery *g, size_t i, const int8_t *q)
{
	int8_t *block = g->q + i / Q_BLOCK * Q_BLOCK * g->stride;

	for (size_t c = 0; c < g->stride; c += Q_CHUNK)
		memcpy(block + c * Q_BLOCK + i % Q_BLOCK * Q_CHUNK, q + c, Q_CHUNK);
}

void
gallery_fill(rc_face_gallery *g, const float *rows)
{
	g->rows.assign(rows, rows + g->n * g->dim);
	g->scale.resize(g->n);
	g->err.resize(g->n);
	g->qnorm.resize(g->n);
	g->norm.resize(g->n);
	std::vector<int8_t> q(g->stride, 0);
	memset(g->q, 0, q_bytes(g->n, g->stride));
	for (size_t i = 0; i < g->n; i++) {
		const float *v = rows + i * g->dim;
		double e, qn, rn = 0;
		g->scale[i] = quantise(v, g->dim, q.data(), &e, &qn);
		interleave(g, i, q.data());
		for (size_t j = 0; j < g->dim; j++) {
			rn += (double)v[j] * v[j];
			g->has_negative |= v[j] < 0;
		}
		g->err[i] = up(e);
		g->qnorm[i] = up(qn);
		g->norm[i] = up(std::sqrt(rn));
	}
}

} // namespace

extern "C" struct rc_face_gallery *
rc_face_gallery_new(const float *rows, size_t n, size_t dim)
{
	if (n > 0 && (rows == nullptr || dim == 0 || !all_finite(rows, n * dim)))
		return nullptr;
	try {
		std::unique_ptr<rc_face_gallery> g(new rc_face_gallery);
		g->n = n;
		g->dim = dim;
		g->stride = (dim + Q_ALIGN - 1) / Q_ALIGN * Q_ALIGN;
		g->has_negative = false;
		g->q = nullptr;
		g->q = aligned_bytes(q_bytes(n, g->stride));
		gallery_fill(g.get(), rows);
		return g.release();
	} catch (...) {
		return nullptr;
	}
}

extern "C" void
rc_face_gallery_free(struct rc_face_gallery *g)
{
	if (g == nullptr)
		return;
	free(g->q);
	delete g;
}

extern "C" size_t
rc_face_gallery_size(const struct rc_face_gallery *g)
{
	return g == nullptr ? 0 : g->n;
}

extern "C" size_t
rc_face_gallery_search(const struct rc_face_gallery *g, const float *probe,
    size_t k, struct rc_face_hit *hits)
{
	if (g == nullptr || (k = std::min(k, g->n)) == 0)
		return 0;
	size_t c = std::min(std::max(4 * k, RESCORE_MIN), g->n);
	try {
		if (c <= RESCORE_STACK) {
			struct rc_face_hit cand[RESCORE_STACK];
			return gallery_search(g, probe, k, hits, cand, c);
		}
		std::vector<struct rc_face_hit> cand(c);
		return gallery_search(g, probe, k, hits, cand.data(), c);
	} catch (const std::bad_alloc &) {
		abort();	// as rc_malloc: out of memory is not an answer
	}
}

// ==== Pictures: rc_face_image_prepare / rc_face_image_cleanup ============
// What "file conversion" did: the upload turned upright, re-encoded as a
// JPEG that carries no metadata, a thumbnail, and the pixels for the
// matcher. The type and size come from rc_face_image_sniff (image.c)
// before anything is decoded.

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
