/* In-process face matcher (replaces AWS Rekognition): detect, align, check
 * quality, make a template, compare templates, search a gallery 1:N.
 * Implemented in C++ on OpenCV DNN (src/face/ .cpp files: engine, detect,
 * quality, template, search, picture, and the nets_*.cpp that run face-api's
 * weights); this is its C face.
 *
 * The method ("dlib-resnet", version 1): face-api's tiny face detector (the
 * Haar cascade as a fallback), its 68-point landmark net reduced to 5
 * points, dlib's alignment (150 x 150 chip), and dlib's ResNet descriptor
 * (128 floats, unit length); similarity is the cosine, clamped to [0, 1].
 * The weights are the TensorFlow.js files of the npm package
 * @vladmandic/face-api (model/), which `make deps` installs under
 * vendor/face/. */
#ifndef ROLLCALL_FACE_H
#define ROLLCALL_FACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Threads: every function may be called from several threads at once. The
 * engine shares only read-only state (its configuration). Detectors and networks are not thread-safe
 * in OpenCV, so each call borrows a private set from a pool inside the
 * engine and returns it afterwards; the pool grows to the number of
 * threads that call at the same time.
 *
 * Blocking: rc_face_engine_new, rc_face_extract and rc_face_extract_pixels
 * take milliseconds to seconds of CPU: call them on the CPU pool, never on
 * an event-loop thread. rc_face_search is CPU-bound too (a fraction of a
 * millisecond per 10,000 templates of 128 floats), and so are
 * rc_face_gallery_new and rc_face_gallery_search; the rest is cheap.
 * rc_face_engine_new sets OpenCV's own thread count to 1: a call runs on
 * its caller's thread only, and callers run calls side by side.
 */

/* Where `make deps` puts face-api's model/ folder, relative to the working
 * directory like the other default paths (face.models_dir). */
#define RC_FACE_MODELS_DIR_DEFAULT \
	"vendor/face/node_modules/@vladmandic/face-api/model"

struct rc_face_config {
	const char	*models_dir;	   /* NULL: RC_FACE_MODELS_DIR_DEFAULT */
	const char	*cascade_dir;	   /* NULL: /usr/share/opencv4 */
	const char	*detector_model;   /* YuNet ONNX instead of face-api's
					      tiny detector; NULL: tiny */
	int		 min_face_px;	   /* smallest face side; <= 0: 40 */
};

enum rc_face_status {
	RC_FACE_OK,
	RC_FACE_NOT_IMAGE,	/* bytes are not a decodable image */
	RC_FACE_NO_FACE,
	RC_FACE_MULTIPLE,	/* strict mode: 2+ faces of comparable size */
	RC_FACE_POOR_QUALITY,	/* too small, blurred, too dark or bright */
	RC_FACE_ERROR,		/* internal error; see info->reason */
};

/* What extraction saw. Filled on every status, as far as it got. */
struct rc_face_info {
	int	 x, y, w, h;	/* chosen face box in the (oriented) image */
	int	 img_w, img_h;
	int	 faces;		/* faces detected */
	int	 comparable;	/* faces whose area is >= 1/2 the largest's */
	int	 eyes_found;	/* 1 when both eyes were located */
	double	 sharpness;	/* variance of the Laplacian of the crop */
	double	 brightness;	/* mean grey level of the face, 0..255 */
	double	 contrast;	/* standard deviation of the face's grey */
	double	 quality;	/* 0..1, a summary of the above */
	char	 reason[160];	/* human text for a non-OK status */
};

struct rc_face_engine;
struct rc_face_template;

struct rc_face_hit {
	size_t	 index;		/* row in the gallery */
	float	 similarity;	/* 0..1 */
};

/* Reads the weights (once; every worker's nets are built from them) and
 * the cascade. Returns NULL and writes a message into err when a file is
 * missing, truncated or of the wrong shape: the message names the file
 * and, for weights, the tensor. Blocking (a few hundred ms). */
struct rc_face_engine	*rc_face_engine_new(const struct rc_face_config *cfg,
			    char *err, size_t errlen);
void			 rc_face_engine_free(struct rc_face_engine *eng);

/* The method and version of the templates this engine makes. Templates of
 * another method or version (e.g. the old "lbp-grid") are never compared:
 * they are recomputed from their pictures (rollcall face reindex). eng may
 * be NULL: the method this build makes, without loading anything. */
const char		*rc_face_method(const struct rc_face_engine *eng);
uint32_t		 rc_face_version(const struct rc_face_engine *eng);

/* Finds the face in an encoded image (JPEG/PNG/PGM/BMP/WebP; EXIF
 * orientation applied) and makes its template. When several faces are
 * seen the largest is used; with strict_single, two or more faces of
 * comparable size (area >= 1/2 of the largest) give RC_FACE_MULTIPLE
 * instead. On RC_FACE_OK *out is a new template the caller frees with
 * rc_face_template_free; otherwise *out is NULL. info may be NULL.
 * Blocking. */
enum rc_face_status	 rc_face_extract(struct rc_face_engine *eng,
			    const void *img, size_t len, int strict_single,
			    struct rc_face_template **out,
			    struct rc_face_info *info);

/* The same for decoded 8-bit pixels: channels 1 (grey) or 3 (BGR),
 * stride bytes per row. Blocking. */
enum rc_face_status	 rc_face_extract_pixels(struct rc_face_engine *eng,
			    const unsigned char *px, int width, int height,
			    size_t stride, int channels, int strict_single,
			    struct rc_face_template **out,
			    struct rc_face_info *info);

/* The API's code for a status: "ok", "not_image", "no_face", ... */
const char		*rc_face_status_code(enum rc_face_status st);

void			 rc_face_template_free(struct rc_face_template *t);
/* The method name and version stored in the template. */
const char		*rc_face_template_method(const struct rc_face_template *t);
uint32_t		 rc_face_template_version(const struct rc_face_template *t);
/* The unit-length float vector searched by rc_face_search. */
size_t			 rc_face_template_dim(const struct rc_face_template *t);
const float		*rc_face_template_vector(const struct rc_face_template *t);

/* Serialised form (for a bytea column): magic, method, version, dim,
 * little-endian float32s. Returns a new buffer the caller frees and sets
 * *len. */
unsigned char		*rc_face_template_serialize(const struct rc_face_template *t,
			    size_t *len);
/* Returns a new template, or NULL when buf is not a valid template. */
struct rc_face_template	*rc_face_template_deserialize(const void *buf, size_t len);

/* Similarity in [0, 1] (1: same face); -1 when the two templates were made
 * by different methods or versions, which are never compared. */
double			 rc_face_similarity(const struct rc_face_template *a,
			    const struct rc_face_template *b);

/* 1:N search. gallery holds n templates' vectors of dim floats each,
 * contiguous (row i at gallery + i * dim), all of one method and version;
 * probe has dim floats. Writes the best min(k, n) hits into hits, most
 * similar first, and returns how many it wrote. Same similarity as
 * rc_face_similarity. Thread-safe, no allocation for k <= 64. */
size_t			 rc_face_search(const float *gallery, size_t n, size_t dim,
			    const float *probe, size_t k, struct rc_face_hit *hits);

/* The same search over a prepared gallery, faster for large n (128-d:
 * about 0.11 against 0.16 ms per 10,000 rows, face-eval): the rows are also kept as int8 with a per-row scale, every row
 * is ranked by that, and the best max(4k, 32) (plus any row the int8
 * error bound cannot rule out) are rescored with the float rows. The hits
 * and similarities are exactly those of rc_face_search on the same rows.
 *
 * rc_face_gallery_new copies n rows of dim floats (row i at rows + i * dim)
 * and returns NULL when a value is not finite or dim is 0 with n > 0;
 * n = 0 makes an empty gallery. It holds about 0.7 KB per row of 128
 * floats. A gallery is immutable:
 * any number of threads may search it at once. Search allocates a per-thread
 * scratch (n floats and one probe row) the first time a thread needs it,
 * nothing else for k <= 64. Blocking (CPU-bound): call on the CPU pool. */
struct rc_face_gallery;
struct rc_face_gallery	*rc_face_gallery_new(const float *rows, size_t n, size_t dim);
void			 rc_face_gallery_free(struct rc_face_gallery *g);
size_t			 rc_face_gallery_size(const struct rc_face_gallery *g);
size_t			 rc_face_gallery_search(const struct rc_face_gallery *g,
			    const float *probe, size_t k, struct rc_face_hit *hits);

/* ---- Pictures: what "file conversion" did ---------------------------- *
 * Uploaded images are checked from their bytes, never their name or
 * Content-Type, and their size is read from the header before anything is
 * decoded, so a decompression bomb costs nothing. */

enum rc_image_type {
	RC_IMAGE_UNKNOWN,
	RC_IMAGE_JPEG,
	RC_IMAGE_PNG,
	RC_IMAGE_WEBP,
	RC_IMAGE_BMP,
};

enum rc_image_status {
	RC_IMAGE_OK,
	RC_IMAGE_NOT_IMAGE,	/* not a supported type: 415 */
	RC_IMAGE_CORRUPT,	/* truncated or undecodable: 422 */
	RC_IMAGE_TOO_LARGE,	/* width x height over the limit: 413 */
	RC_IMAGE_ERROR,		/* internal error: 500 */
};

/* Reads the type and the dimensions from the first bytes of an image
 * (JPEG SOFn, PNG IHDR, WebP VP8/VP8L/VP8X, BMP header) without decoding.
 * Returns RC_IMAGE_NOT_IMAGE for another type, RC_IMAGE_CORRUPT when the
 * header is cut short or impossible. Cheap: fine on a loop thread.
 * (src/face/image.c) */
enum rc_image_status	 rc_face_image_sniff(const void *data, size_t len,
			    enum rc_image_type *type, int *width, int *height);
/* "image/jpeg", ...; NULL for RC_IMAGE_UNKNOWN. */
const char		*rc_face_image_mime(enum rc_image_type type);

struct rc_image_limits {
	size_t	 max_pixels;	/* width x height; refused before decoding;
				   0: 40,000,000 */
	int	 thumb_px;	/* longest side of the thumbnail; <= 0: 256 */
	int	 jpeg_quality;	/* <= 0: 90 */
};

/* A prepared picture: upright, re-encoded as JPEG with no metadata at all
 * (no EXIF, so no GPS), its thumbnail, and the decoded upright pixels for
 * the face matcher (BGR, 3 channels). */
struct rc_image {
	enum rc_image_type source_type;
	int		 width, height;
	unsigned char	*jpeg;
	size_t		 jpeg_len;
	unsigned char	*thumb;
	size_t		 thumb_len;
	int		 thumb_w, thumb_h;
	unsigned char	*bgr;		/* height rows of stride bytes */
	size_t		 stride;
	char		 reason[160];	/* human text for a non-OK status */
};

/* Sniffs, checks the pixel limit, decodes, applies the EXIF orientation,
 * re-encodes and makes the thumbnail. out is filled on RC_IMAGE_OK (free
 * with rc_face_image_cleanup) and holds only source_type and reason
 * otherwise. A file cut short (a JPEG without its EOI after the scan, a
 * PNG without IEND, a WebP shorter than its RIFF size, a BMP missing
 * rows) is RC_IMAGE_CORRUPT, not a grey-filled picture. limits may be
 * NULL (the defaults). Blocking (about 8 ms for 640 x 480, 300 ms for
 * 12 MP): call on the CPU pool. */
enum rc_image_status	 rc_face_image_prepare(const void *data, size_t len,
			    const struct rc_image_limits *limits,
			    struct rc_image *out);
void			 rc_face_image_cleanup(struct rc_image *img);

/* CLI: rollcall face-eval DIR [--enroll N] [--json] ...; argv[0] is
 * "face-eval". defaults: the configured matcher (face.*), which options
 * override. Returns the process exit status. */
int			 rc_face_eval_main(const struct rc_face_config *defaults,
			    int argc, char **argv);

#ifndef __cplusplus
/* ---- The per-org galleries of 1:N identification (src/face/gallery.c) *
 * The loop side of the matcher, in C only (the snapshot's count is
 * _Atomic): each org's templates as one rc_face_gallery, loaded on first
 * use and dropped when any daemon changes them (a LISTEN thread). */
struct rc_config;
struct rc_req;

/* An immutable snapshot of one org's templates of one method and version:
 * row i of gallery is users[i]'s template. Shared by every thread that
 * holds a reference. */
struct rc_face_gallery_snap {
	_Atomic int		 refs;
	size_t			 n;
	size_t			 dim;
	struct rc_face_gallery	*gallery;
	char			(*users)[40];
};

/* Receives a reference the callee drops with rc_face_gallery_snap_unref. */
typedef void (*rc_face_gallery_cb)(struct rc_req *req,
	    struct rc_face_gallery_snap *snap);

/* Calls cb(req, snap) on req's loop with org_id's gallery of templates of
 * method/version: at once when it is cached and fresh, else after loading
 * it (a query on req's loop, decoding on the CPU pool). On failure it
 * replies itself (503/500) and cb is not called. */
void	rc_face_gallery_get(struct rc_req *req, const char *org_id,
	    const char *method, uint32_t version, rc_face_gallery_cb cb);
void	rc_face_gallery_snap_unref(struct rc_face_gallery_snap *snap);
/* Drops org_id's cached gallery (this daemon changed its templates; the
 * NOTIFY will tell the others). */
void	rc_face_gallery_invalidate(const char *org_id);

/* Starts the LISTEN thread (its own blocking connection to db.url) that
 * invalidates galleries when any daemon changes templates. Without it
 * nothing is cached. Call before the loops start; stop after they end. */
int	rc_face_gallery_start(const struct rc_config *cfg);
void	rc_face_gallery_stop(void);

/* Templates one person may enrol: bounds the 1:1 comparisons that run on
 * the loop thread (rc_face_best_similarity). */
#define RC_FACE_PER_USER_MAX	20
#define RC_FACE_PER_USER_MAX_TEXT	"20"

struct pg_result;

/* The best similarity of probe among the templates of res (a PGresult):
 * column method_col holds the method, then the version, then the template
 * (bytea as text); rows with NULL templates or of another method or
 * version are skipped. -1 when none compares. Cheap (at most
 * RC_FACE_PER_USER_MAX templates): fine on a loop thread. */
double	rc_face_best_similarity(const struct rc_face_template *probe,
	    const struct pg_result *res, int method_col);

/* A template's version as the int column stores it (two's complement of
 * the uint32: the versions of old methods were file hashes). */
void	rc_face_version_text(uint32_t version, char out[12]);
#endif

#ifdef __cplusplus
}
#endif

#endif
