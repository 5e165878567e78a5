// Detection policy (measured, /work/shared/FACES.md): face-api's tiny face
// detector at input 320, score >= 0.5; when it finds nothing, once more on
// the picture padded with a plain border at >= 0.3 (a tight crop gives the
// detector no context); when still nothing, the Haar cascade alt2 of
// Debian's opencv-data. Haar rescued 2-4% of tight, centred crops and
// ~0.1% of news photos. YuNet (face.detector_model) may replace the tiny
// detector; the rest of the policy is the same.

#include <algorithm>
#include <cmath>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <opencv2/imgproc.hpp>
#pragma GCC diagnostic pop

#include "matcher.h"

namespace rcface {

namespace {

const int	 TINY_INPUT = 320;	// 416 was worse on tight crops
const float	 TINY_SCORE = 0.5f;
const float	 TINY_SCORE_PADDED = 0.3f;

// Haar: boxes that at least half as many neighbours agreed on as on the
// best are candidates (the largest box alone was often hair and forehead
// on news photos: LFW rank-1 0.96 -> 0.98 with this rule).
const int	 HAAR_NEIGHBOURS = 3;
const double	 HAAR_AGREEMENT = 0.5;
// Haar boxes sit this share of their height above the tiny detector's,
// whose boxes the landmark net was trained on.
const float	 HAAR_SHIFT = 0.14f;
// Haar runs on a copy no larger than this on its longer side.
const int	 HAAR_MAX = 640;

// Median grey of the picture's outer ring: the padding colour that least
// looks like an edge to a detector.
cv::Scalar
border_colour(const cv::Mat &bgr)
{
	cv::Mat grey;

	cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
	std::vector<cv::Mat> strips = {
		grey.row(0), grey.row(grey.rows - 1),
		grey.col(0).t(), grey.col(grey.cols - 1).t(),
	};
	cv::Mat ring, sorted;
	cv::hconcat(strips, ring);
	ring = ring.reshape(1, 1).clone();
	cv::sort(ring, sorted, cv::SORT_EVERY_ROW);
	return cv::Scalar::all(sorted.at<uchar>(0, sorted.cols / 2));
}

std::vector<found>
yunet_once(worker *w, const cv::Mat &bgr)
{
	std::vector<found> out;
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
		out.push_back({ cv::Rect2f((float)(f[0] / s), (float)(f[1] / s),
		    (float)(f[2] / s), (float)(f[3] / s)), f[14] });
	}
	return out;
}

std::vector<found>
primary_once(worker *w, const cv::Mat &bgr, float min_score)
{
	if (w->yunet)
		return yunet_once(w, bgr);
	std::vector<found> out;
	for (const detection &d : nets_detect(w->n, bgr, min_score, TINY_INPUT))
		out.push_back({ d.box, d.score });
	return out;
}

// The primary detector on the picture padded by a third of its longer
// side, boxes moved back into the picture's coordinates.
std::vector<found>
primary_padded(worker *w, const cv::Mat &bgr)
{
	int pad = std::max(bgr.cols, bgr.rows) / 3;
	cv::Mat padded;

	cv::copyMakeBorder(bgr, padded, pad, pad, pad, pad, cv::BORDER_CONSTANT,
	    border_colour(bgr));
	std::vector<found> out = primary_once(w, padded, TINY_SCORE_PADDED);
	for (found &f : out) {
		f.box.x -= (float)pad;
		f.box.y -= (float)pad;
	}
	return out;
}

// The one Haar box chosen among those with enough agreement: the largest.
std::vector<found>
haar(worker *w, const cv::Mat &bgr, int min_face)
{
	std::vector<cv::Rect> rects;
	std::vector<int> votes;
	cv::Mat grey, small;
	double s = std::min(1.0, (double)HAAR_MAX / std::max(bgr.cols, bgr.rows));
	int minsz = std::max(24, (int)std::lround(min_face * s * 0.8));

	cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
	if (s < 1.0)
		cv::resize(grey, small, cv::Size(), s, s, cv::INTER_AREA);
	else
		small = grey;
	cv::equalizeHist(small, small);
	w->haar.detectMultiScale(small, rects, votes, 1.1, HAAR_NEIGHBOURS, 0,
	    cv::Size(minsz, minsz));
	if (rects.empty())
		return {};
	int best = *std::max_element(votes.begin(), votes.end());
	size_t pick = rects.size();
	for (size_t i = 0; i < rects.size(); i++)
		if (votes[i] >= HAAR_AGREEMENT * best && (pick == rects.size() ||
		    rects[i].area() > rects[pick].area()))
			pick = i;
	const cv::Rect &r = rects[pick];
	cv::Rect2f box((float)(r.x / s), (float)(r.y / s), (float)(r.width / s),
	    (float)(r.height / s));
	box.y += HAAR_SHIFT * box.height;
	return { { box, 1.0f } };
}

} // namespace

std::string
haar_path(const std::string &cascade_dir)
{
	return cascade_dir + "/haarcascades/haarcascade_frontalface_alt2.xml";
}

std::vector<found>
detect_faces(worker *w, const cv::Mat &bgr, int min_face)
{
	std::vector<found> faces = primary_once(w, bgr, TINY_SCORE);

	if (faces.empty())
		faces = primary_padded(w, bgr);
	if (faces.empty())
		faces = haar(w, bgr, min_face);
	return faces;
}

} // namespace rcface
