/**
 * Index sets into the 478-point face mesh (468 mesh points + 2x5 iris points) of the MediaPipe face
 * landmark model that @vladmandic/human runs. The indices are the model's canonical topology (Apache-2.0,
 * as published with MediaPipe). "Left"/"right" here mean image left/right as seen by the viewer.
 */
export const MESH_POINTS = 468;
export const LANDMARK_COUNT = 478;

export const FACE_OVAL = [
  10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149,
  150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];

export const LIPS_UPPER_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291];
export const LIPS_LOWER_OUTER = [146, 91, 181, 84, 17, 314, 405, 321, 375, 291];
export const LIPS_UPPER_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308];
export const LIPS_LOWER_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308];

/** Closed polygons, in drawing order. */
export const MOUTH_OUTER = [...LIPS_UPPER_OUTER, ...LIPS_LOWER_OUTER.slice(0, -1).reverse()];
export const MOUTH_INNER = [...LIPS_UPPER_INNER, ...LIPS_LOWER_INNER.slice(1, -1).reverse()];

// MediaPipe's "right eye" is the subject's right, which is on the image left.
export const IMAGE_LEFT_EYE = [33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7];
export const IMAGE_RIGHT_EYE = [
  263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249,
];
/** Each eye's lid lines, from the outer corner to the inner one (both lines share the corners). */
export const IMAGE_EYE_LINES = {
  left: {
    upper: [33, 246, 161, 160, 159, 158, 157, 173, 133],
    lower: [33, 7, 163, 144, 145, 153, 154, 155, 133],
  },
  right: {
    upper: [263, 466, 388, 387, 386, 385, 384, 398, 362],
    lower: [263, 249, 390, 373, 374, 380, 381, 382, 362],
  },
};
/** Upper and lower lid mid points and the corners, for eye openness. */
export const IMAGE_LEFT_EYE_LIDS = { upper: 159, lower: 145, outer: 33, inner: 133 };
export const IMAGE_RIGHT_EYE_LIDS = { upper: 386, lower: 374, outer: 263, inner: 362 };
// human orders the iris points the other way round from the eye contours: 473.. is on the image left.
export const IMAGE_LEFT_IRIS = [473, 474, 475, 476, 477];
export const IMAGE_RIGHT_IRIS = [468, 469, 470, 471, 472];

export const FOREHEAD_TOP = 10;
export const CHIN = 152;
export const NOSE_TIP = 1;
export const UPPER_LIP_CENTER = 13;
export const LOWER_LIP_CENTER = 14;
export const MOUTH_LEFT_CORNER = 61;
export const MOUTH_RIGHT_CORNER = 291;
/** Points on the cheeks and forehead whose neighbourhood is skin on nearly every face. */
export const SKIN_SAMPLES = [50, 280, 101, 330, 151, 9, 205, 425];
/** Points in the middle of the lip bodies. */
export const LIP_SAMPLES = [0, 17, 37, 267, 84, 314, 39, 269];
/** Brows, each line from the outer end to the inner end (image left brow is the subject's right). */
export const IMAGE_LEFT_BROW = { lower: [46, 53, 52, 65, 55], upper: [70, 63, 105, 66, 107] };
export const IMAGE_RIGHT_BROW = { lower: [276, 283, 282, 295, 285], upper: [300, 293, 334, 296, 336] };
