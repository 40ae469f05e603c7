"""What an uploaded file is, read from its bytes rather than trusted from its name or a form.

DLG builds a photo's thumbnail from the real pixels and plays voice and video for the duration
we declare, so these values come from the content. Everything here is bounded: a file is
never read past the 5 MB limit, and an image's pixel count is checked before any pixel is
decoded, so a small file declaring a huge image cannot exhaust memory.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import posixpath
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from mutagen import FileType
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggspeex import OggSpeex
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE
from PIL import Image, ImageOps

from messaging.providers.specs import MAX_FILE_BYTES, Document

#: Above this an image is refused as a photo: 40 MP covers any phone camera, and decoding
#: stays around 120 MB of RGB at worst.
MAX_PHOTO_PIXELS = 40_000_000
#: Formats a phone shows inline; anything else Pillow can open (EPS, PSD, ...) goes as a file.
PHOTO_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")
PHOTO_EXTENSIONS = ("jpg", "png", "gif", "webp", "bmp")
AUDIO_EXTENSIONS = ("ogg", "mp3", "m4a", "wav", "flac")
VIDEO_EXTENSIONS = ("mp4", "mov", "3gp")
READ_CHUNK = 64 * 1024
_ORIENTATION_TAG = 0x0112
_SWAPPED_ORIENTATIONS = (5, 6, 7, 8)

NOT_AN_IMAGE = "This file is not an image DLG can show as a photo; send it as a plain file instead."
DAMAGED_IMAGE = (
    "This image is damaged or incomplete and cannot be shown as a photo; upload it again or "
    "send it as a plain file."
)
UNKNOWN_TYPE = (
    "The file's type could not be recognised and its name has no extension; rename it with "
    "one such as .pdf."
)


class MediaError(ValueError):
    """Why a file cannot be sent as asked, in words safe to show beside the file field."""


@dataclass(frozen=True)
class MediaInfo:
    extension: str
    kind_guess: str  # "photo" | "video" | "voice" | "file"
    width: int | None
    height: int | None
    duration: int | None
    size: int


def _megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB"


def _known_size(fileobj: Any) -> int | None:
    """The size the file object already knows (Django's ``UploadedFile.size``, a disk file)."""
    size = getattr(fileobj, "size", None)
    if isinstance(size, int) and not isinstance(size, bool):
        return size
    try:
        return os.fstat(fileobj.fileno()).st_size
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def read_limited(fileobj: IO[bytes] | Any, limit: int = MAX_FILE_BYTES) -> bytes:
    """The whole file, or MediaError as soon as more than ``limit`` bytes turn up."""
    known = _known_size(fileobj)
    too_big = f"DLG accepts files up to {limit:,} bytes ({_megabytes(limit)})."
    if known is not None and known > limit:
        raise MediaError(f"The file is {known:,} bytes; {too_big}")
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = fileobj.read(min(READ_CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
    raise MediaError(f"The file is larger than {limit:,} bytes; {too_big}")


def _ftyp_extension(data: bytes) -> str:
    brand = data[8:12]
    if brand in (b"M4A ", b"M4B ", b"M4P "):
        return "m4a"
    if brand == b"qt  ":
        return "mov"
    if brand.startswith(b"3g"):
        return "3gp"
    if brand in (b"avif", b"avis"):
        return "avif"
    if brand in (b"heic", b"heix", b"mif1", b"msf1"):
        return "heic"
    return "mp4"


def _sniff(data: bytes) -> str:
    """The extension the content's signature proves, or "" when it proves none."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"ID3"):
        return "mp3"
    # An MPEG audio frame sync whose layer bits say Layer III (ADTS AAC has layer 00).
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 == 0x02:
        return "mp3"
    if head[4:8] == b"ftyp":
        return _ftyp_extension(data)
    if head.startswith(b"BM") and len(data) >= 26 and head[6:10] == b"\x00\x00\x00\x00":
        return "bmp"
    return ""


def _name_extension(file_name: str) -> str:
    extension = posixpath.splitext(file_name.replace("\\", "/"))[1].lstrip(".").lower()
    if extension.isascii() and extension.isalnum() and len(extension) <= 10:
        return extension
    return ""


def extension_for(file_name: str, data: bytes) -> str:
    """DLG's ``mimeType``: from the content when recognisable, else the name, else ""."""
    return _sniff(data) or _name_extension(file_name)


def _open_image(data: bytes) -> Image.Image:
    """Open (headers only) and refuse anything not a photo or too big to decode safely."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=PHOTO_FORMATS)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise MediaError(_too_many_pixels(None)) from None
    except Exception:  # Pillow raises many unrelated types for bytes it cannot parse.
        raise MediaError(NOT_AN_IMAGE) from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PHOTO_PIXELS:
        image.close()
        raise MediaError(_too_many_pixels((width, height)) if width and height else NOT_AN_IMAGE)
    return image


def _too_many_pixels(size: tuple[int, int] | None) -> str:
    stated = f" ({size[0]:,} by {size[1]:,} pixels)" if size else ""
    return (
        f"This image is too large to show as a photo{stated}; the most is "
        f"{MAX_PHOTO_PIXELS:,} pixels. Resize it or send it as a plain file."
    )


def _decoded(data: bytes, draft_side: int | None = None) -> tuple[Image.Image, tuple[int, int]]:
    """The image with its pixels decoded (so truncation shows) and its stored size.

    A JPEG is decoded at a reduced scale when ``draft_side`` allows: every byte is still read,
    but the buffer is up to 64 times smaller.
    """
    image = _open_image(data)
    size = image.size
    if draft_side and image.format in ("JPEG", "MPO"):
        image.draft(None, (draft_side, draft_side))
    try:
        image.load()
    except Exception:  # Truncated or corrupt data: OSError, SyntaxError, zlib errors, ...
        image.close()
        raise MediaError(DAMAGED_IMAGE) from None
    return image, size


def photo_size(data: bytes) -> tuple[int, int]:
    """(width, height) as displayed, i.e. after EXIF orientation; MediaError if not a photo."""
    image, (width, height) = _decoded(data, draft_side=1)
    with image:
        orientation = image.getexif().get(_ORIENTATION_TAG)
    if orientation in _SWAPPED_ORIENTATIONS:
        return height, width
    return width, height


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode == "P" and "transparency" in image.info
    )


def thumbnail(data: bytes, max_side: int = 320) -> bytes:
    """A small upright preview: PNG when the image has transparency, JPEG otherwise."""
    if max_side < 1:
        raise ValueError("max_side must be at least 1")
    image, _ = _decoded(data, draft_side=max_side)
    with image:
        upright = ImageOps.exif_transpose(image)
        alpha = _has_alpha(upright)
        small = upright.convert("RGBA" if alpha else "RGB")
        small.thumbnail((max_side, max_side))
        out = io.BytesIO()
        if alpha:
            small.save(out, "PNG", optimize=True)
        else:
            small.save(out, "JPEG", quality=85)
        return out.getvalue()


# The container the signature names picks the reader: letting mutagen guess from content alone
# can take a PDF's stray bytes for an MP3 frame.
_AUDIO_READERS: dict[str, tuple[type[FileType], ...]] = {
    "ogg": (OggOpus, OggVorbis, OggFLAC, OggSpeex),
    "mp3": (MP3,),
    "m4a": (MP4,),
    "mp4": (MP4,),
    "mov": (MP4,),
    "3gp": (MP4,),
    "wav": (WAVE,),
    "flac": (FLAC,),
}


def audio_duration(data: bytes) -> int | None:
    """Whole seconds (rounded half up) of OGG, MP3, M4A/MP4, WAV or FLAC audio, else None."""
    for reader in _AUDIO_READERS.get(_sniff(data), ()):
        length = _length(reader, data)
        if length is not None:
            return math.floor(length + 0.5)
    return None


def _length(reader: type[FileType], data: bytes) -> float | None:
    try:
        length = getattr(reader(io.BytesIO(data)).info, "length", None)
    except Exception:  # mutagen raises assorted types on damaged files.
        return None
    if isinstance(length, int | float) and math.isfinite(length) and length >= 0:
        return float(length)
    return None


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) for each MP4 box in ``data[start:end]``, bounds-checked."""
    while start + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, start)
        header = 8
        if size == 1 and start + 16 <= end:
            size, header = struct.unpack_from(">Q", data, start + 8)[0], 16
        elif size == 0:
            size = end - start
        if size < header or start + size > end:
            return
        yield kind, start + header, start + size
        start += size


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    return next(((s, e) for k, s, e in _boxes(data, start, end) if k == kind), None)


def _video_track_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the video track's ``tkhd``, swapped when its matrix turns 90°."""
    moov = _child(data, 0, len(data), b"moov")
    if moov is None:
        return None
    for kind, start, end in _boxes(data, *moov):
        if kind != b"trak":
            continue
        mdia = _child(data, start, end, b"mdia")
        hdlr = mdia and _child(data, *mdia, b"hdlr")
        tkhd = _child(data, start, end, b"tkhd")
        if not hdlr or not tkhd or data[hdlr[0] + 8 : hdlr[0] + 12] != b"vide":
            continue
        matrix_at = tkhd[0] + (52 if data[tkhd[0] : tkhd[0] + 1] == b"\x01" else 40)
        if matrix_at + 44 > tkhd[1]:
            return None
        a, b = struct.unpack_from(">ii", data, matrix_at)
        width, height = (value >> 16 for value in struct.unpack_from(">II", data, matrix_at + 36))
        if not width or not height:
            return None
        return (height, width) if a == 0 and b != 0 else (width, height)
    return None


def video_info(data: bytes) -> tuple[int | None, int | None, int | None]:
    """(width, height, duration) of an MP4/MOV video, each None where it cannot be read."""
    size = _video_track_size(data) if data[4:8] == b"ftyp" else None
    width, height = size if size else (None, None)
    return width, height, audio_duration(data)


def _kind_for(extension: str, data: bytes) -> str:
    if extension in PHOTO_EXTENSIONS:
        return "photo"
    if extension in AUDIO_EXTENSIONS:
        return "voice"
    if extension in VIDEO_EXTENSIONS:
        has_video = data[4:8] == b"ftyp" and _video_track_size(data) is not None
        return "video" if has_video else "voice"
    return "file"


def inspect(file_name: str, data: bytes) -> MediaInfo:
    """Everything the compose page can prefill; never raises for a file that is not media."""
    sniffed = _sniff(data)
    extension = sniffed or _name_extension(file_name)
    kind = _kind_for(sniffed, data)
    width = height = duration = None
    if kind == "photo":
        with contextlib.suppress(MediaError):  # a damaged photo is still guessed a photo
            width, height = photo_size(data)
    elif kind == "video":
        width, height, duration = video_info(data)
    elif kind == "voice":
        duration = audio_duration(data)
    return MediaInfo(extension, kind, width, height, duration, len(data))


def document_from_upload(
    file_name: str,
    data: bytes,
    kind: str,
    width: int | None = None,
    height: int | None = None,
    duration: int | None = None,
) -> Document:
    """The document spec to send; a photo's size always comes from its pixels.

    Raises MediaError (shown on the file field) for a photo that cannot be decoded and for a
    file whose type is unknowable.
    """
    extension = extension_for(file_name, data)
    if not extension:
        raise MediaError(UNKNOWN_TYPE)
    if kind == "photo":
        width, height = photo_size(data)
        duration = None
    elif kind == "video":
        read_width, read_height, read_duration = video_info(data)
        width = read_width if width is None else width
        height = read_height if height is None else height
        duration = read_duration if duration is None else duration
    elif kind == "voice":
        width = height = None
        duration = audio_duration(data) if duration is None else duration
    else:
        width = height = duration = None
    return Document(
        file_name=file_name,
        data=data,
        kind=kind,
        mime_type=extension,
        width=width,
        height=height,
        duration=duration,
    )
