"""Images: re-encoded with Pillow so that no metadata (EXIF, GPS, comments) survives,
scaled down when very large, with a thumbnail; decompression bombs are refused first."""
import io
import warnings

from PIL import Image, ImageOps, ImageSequence

from .detect import Refused

PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}
MAX_FRAMES = 300
EMBEDDED_FORMATS = ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"]


class ProcessedImage:
    def __init__(self, data, width, height, thumb):
        self.data, self.width, self.height, self.thumb = data, width, height, thumb


def _open(data, code, max_pixels):
    """Open lazily and check the pixel count before anything is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[PIL_FORMATS[code]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("image_too_big", max_pixels=max_pixels) from None
    except Exception:
        raise Refused("damaged") from None
    _check_pixels(im, max_pixels, "image_too_big")
    return im


def _check_pixels(im, max_pixels, code):
    width, height = im.size
    if width * height > max_pixels or width <= 0 or height <= 0:
        raise Refused(code, pixels=width * height, max_pixels=max_pixels)
    frames = getattr(im, "n_frames", 1)
    if frames > MAX_FRAMES or width * height * frames > max_pixels * 4:
        raise Refused(code, pixels=width * height * frames, max_pixels=max_pixels)


def check_embedded(head, max_pixels):
    """Refuse (embedded_image_too_big) an image inside a document with more pixels than an
    upload may have, from the first bytes of the image. Images Pillow cannot size from
    those bytes are left alone: Agora never decodes them, it only passes the document on."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(head), formats=EMBEDDED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("embedded_image_too_big", max_pixels=max_pixels) from None
    except Exception:
        return
    with im:
        width, height = im.size
        if width * height > max_pixels or width <= 0 or height <= 0:
            raise Refused("embedded_image_too_big", pixels=width * height, max_pixels=max_pixels)
        try:
            _check_pixels(im, max_pixels, "embedded_image_too_big")
        except Refused:
            raise
        except Exception:  # counting frames needs more than the head: the first frame passed
            return


def _clean(frame, code):
    """A copy of one frame with only the pixels (and transparency) kept."""
    if code == "jpeg":
        frame = frame.convert("RGB") if frame.mode not in ("RGB", "L") else frame.copy()
    elif frame.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
        frame = frame.convert("RGBA")
    else:
        frame = frame.copy()
    transparency = frame.info.get("transparency")
    frame.info = {"transparency": transparency} if transparency is not None and code in ("png", "gif") else {}
    return frame


def _fit(frame, max_side):
    if max(frame.size) <= max_side:
        return frame
    copy = frame.copy()
    if copy.mode == "P":
        copy = copy.convert("RGBA")
    copy.thumbnail((max_side, max_side), Image.LANCZOS)
    return copy


def _save(frames, code, durations=None, loop=0):
    out = io.BytesIO()
    fmt = PIL_FORMATS[code]
    first = frames[0]
    options = {}
    if code == "jpeg":
        options = {"quality": 85, "optimize": True, "progressive": True}
    elif code == "png":
        options = {"optimize": True}
    elif code == "webp":
        options = {"quality": 85, "method": 4}
    if code == "gif" and first.mode not in ("P", "L"):
        frames = [f.convert("P", palette=Image.ADAPTIVE) if f.mode != "RGBA" else f for f in frames]
        first = frames[0]
    if len(frames) > 1:
        options.update(save_all=True, append_images=frames[1:], loop=loop)
        if durations:
            options["duration"] = durations
    # exif=b"" / no pnginfo / no comment: Pillow writes only what it is given.
    first.save(out, fmt, **options)
    return out.getvalue()


def process(data, code, max_side=2560, thumb_side=480, max_pixels=40_000_000):
    """Re-encode an upload; returns ProcessedImage(data, width, height, thumb bytes or None).

    The thumbnail is None when the image is already small enough to be its own thumbnail.
    """
    im = _open(data, code, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            frames, durations = [], []
            animated = code in ("gif", "webp") and getattr(im, "n_frames", 1) > 1
            loop = im.info.get("loop", 0)
            if animated:
                for frame in ImageSequence.Iterator(im):
                    durations.append(frame.info.get("duration", 100))
                    frames.append(_fit(_clean(frame, code), max_side))
            else:
                im.load()
                # Phones store the rotation in EXIF; apply it before EXIF goes.
                frame = ImageOps.exif_transpose(im) if code in ("jpeg", "webp", "png") else im
                frames.append(_fit(_clean(frame, code), max_side))
            data_out = _save(frames, code, durations if animated else None, loop)
            width, height = frames[0].size
            thumb = None
            if max(width, height) > thumb_side or animated:
                still = _fit(frames[0], thumb_side)
                thumb = _save([still], code)
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("image_too_big", max_pixels=max_pixels) from None
    except Exception:
        raise Refused("damaged") from None
    finally:
        im.close()
    return ProcessedImage(data_out, width, height, thumb)
