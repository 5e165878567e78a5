/* Internals of the matcher's C++ files (engine, detect, quality, template,
 * search) behind include/rollcall/face.h; the nets they use are behind
 * face-int.h. */
#ifndef ROLLCALL_FACE_MATCHER_H
#define ROLLCALL_FACE_MATCHER_H

#include <cstdint>
#include <string>
#include <vector>

// OpenCV's headers cast away const; they are not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <opencv2/core.hpp>
#include <opencv2/objdetect.hpp>
#pragma GCC diagnostic pop

extern "C" {
#include "rollcall/face.h"
#include "rollcall/util.h"
}

#include "face-int.h"

struct rc_face_template {
	std::string		 method;
	uint32_t		 version;
	std::vector<float>	 v;
};

namespace rcface {

/* The templates the engine makes: dlib's ResNet descriptor of the face
 * aligned on 5 landmarks. Bump the version whenever the pipeline changes
 * in a way that changes templates: old ones are then never compared, and
 * `serve` queues a reindex. */
constexpr const char	*METHOD = "dlib-resnet";
constexpr uint32_t	 VERSION = 1;

/* One thread's detectors and nets: OpenCV's keep per-call state. */
struct worker {
	nets				*n = nullptr;
	cv::CascadeClassifier		 haar;
	cv::Ptr<cv::FaceDetectorYN>	 yunet;	/* face.detector_model, if set */

	~worker() { nets_free(n); }
};

/* A face found in the picture. */
struct found {
	cv::Rect2f	 box;		/* image pixels */
	float		 score;		/* 0..1; Haar boxes: 1 */
};

/* ---- detect.cpp ------------------------------------------------------- */

/* Faces in a BGR picture, in no particular order: face-api's tiny detector
 * (or YuNet), once more on the picture padded with a border, then the Haar
 * cascade. min_face: the caller's smallest face side, in pixels. */
std::vector<found>	 detect_faces(worker *w, const cv::Mat &bgr, int min_face);
/* The Haar cascade's file under cascade_dir. */
std::string		 haar_path(const std::string &cascade_dir);

/* ---- quality.cpp ------------------------------------------------------ */

/* Largest first; returns how many are comparable in size to the largest
 * (area >= 1/2 of its). */
int			 rank_faces(std::vector<found> *faces);
/* Fills info's quality fields from the aligned chip; false (with the
 * reason set) when the face is too dark, overexposed, flat or blurred. */
bool			 check_quality(const cv::Mat &chip, struct rc_face_info *info);
void			 set_reason(struct rc_face_info *info, const char *fmt, ...)
			    __attribute__((format(printf, 2, 3)));

} // namespace rcface

#endif
