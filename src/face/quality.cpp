// Which face a picture is about, and whether it is good enough to match:
// several faces (the largest wins when the others are much smaller), and
// the aligned chip's exposure, contrast and sharpness.

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <opencv2/imgproc.hpp>
#pragma GCC diagnostic pop

#include "matcher.h"

namespace rcface {

namespace {

// A face counts as "comparable" to the largest when its area is at least
// this fraction of the largest's (sides within about 70%).
const double	 COMPARABLE_AREA = 0.5;

// Quality limits: lenient, meant to refuse only pictures that cannot be
// matched (a dark room, a blown-out flash, heavy motion blur). Blur is
// checked before contrast: a blurred face is also a flat one, and "blurred"
// says what to fix.
const double	 Q_MIN_BRIGHT = 35, Q_MAX_BRIGHT = 240;
const double	 Q_MIN_CONTRAST = 10;
const double	 Q_MIN_SHARP = 4;

// The part of the dlib chip (padding 0.25) that is face: eyes to chin,
// little hair or background.
cv::Rect
chip_face(const cv::Mat &chip)
{
	int m = chip.cols / 5;

	return cv::Rect(m, m, chip.cols - 2 * m, chip.rows - m - m / 2);
}

} // namespace

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

int
rank_faces(std::vector<found> *faces)
{
	int comparable = 0;

	std::sort(faces->begin(), faces->end(),
	    [](const found &a, const found &b) {
		return a.box.area() > b.box.area();
	});
	for (const found &f : *faces)
		comparable += f.box.area() >= COMPARABLE_AREA * (*faces)[0].box.area();
	return comparable;
}

bool
check_quality(const cv::Mat &chip, struct rc_face_info *info)
{
	cv::Mat grey, lap;
	cv::Scalar mean, sd, lm, ls;

	cv::cvtColor(chip, grey, cv::COLOR_BGR2GRAY);
	grey = grey(chip_face(grey));
	cv::meanStdDev(grey, mean, sd);
	cv::Laplacian(grey, lap, CV_32F);
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
	if (info->sharpness < Q_MIN_SHARP) {
		set_reason(info, "the face is blurred (sharpness %.1f)", info->sharpness);
		return false;
	}
	if (sd[0] < Q_MIN_CONTRAST) {
		set_reason(info, "the face has too little contrast (%.1f)", sd[0]);
		return false;
	}
	return true;
}

} // namespace rcface
