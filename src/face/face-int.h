/* Internals shared by the face module's C++ files. The nets section is
 * face-api's TensorFlow.js weights (npm @vladmandic/face-api, model/) run
 * with OpenCV DNN: detector, 68 landmarks, dlib's ResNet descriptor. */
#ifndef ROLLCALL_FACE_INT_H
#define ROLLCALL_FACE_INT_H

#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace rcface {

/* ---- nets (nets_*.cpp) ------------------------------------------------ */

constexpr int DESCRIPTOR_DIM = 128;
constexpr int CHIP_PX = 150;

/* The parsed weights of the nets, read once; read-only afterwards, so any
 * number of threads may build nets from one set. */
struct models;

/* Loads DIR/{tiny_face_detector_model,face_landmark_68_model,
 * face_recognition_model}-weights_manifest.json and their shards. On a
 * missing, truncated or wrongly shaped file returns nullptr and sets *err to
 * a message naming the file and the tensor. Blocking (file reads). */
models		*models_load(const std::string &dir, std::string *err);
void		 models_free(models *m);

/* One thread's OpenCV nets, built from m (which must outlive them). Not
 * thread-safe: one set per worker thread. nullptr and *err on failure. */
struct nets;
nets		*nets_new(const models *m, std::string *err);
void		 nets_free(nets *n);

struct detection {
	cv::Rect2f	 box;	/* image pixels */
	float		 score;	/* 0..1 */
};

/* face-api's tiny face detector at input size `input` (320 by default) on a
 * BGR image: boxes with score >= min_score after NMS (IoU 0.4), best first. */
std::vector<detection> nets_detect(nets *n, const cv::Mat &bgr,
		    float min_score, int input = 320);

/* The 68-point landmark net on the crop of box, reduced to 5 points in
 * image pixels: left eye centre, right eye centre (mean of each eye's 6
 * points; "left" as seen in the image), nose tip (30), mouth corners
 * (48, 54). */
void		 nets_landmarks5(nets *n, const cv::Mat &bgr,
		    const cv::Rect2f &box, cv::Point2f out[5]);

/* The CHIP_PX x CHIP_PX chip aligned as dlib does: a similarity transform
 * from the 5 points to dlib's canonical 5-point template, padding 0.25.
 * BGR in, BGR out. */
cv::Mat		 nets_align(const cv::Mat &bgr, const cv::Point2f pts[5]);

/* The DESCRIPTOR_DIM-d descriptor of an aligned BGR chip (resized to
 * CHIP_PX if needed), L2-normalised. */
void		 nets_describe(nets *n, const cv::Mat &chip, float out[DESCRIPTOR_DIM]);

} /* namespace rcface */

#endif
