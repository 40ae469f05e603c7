"""Uploaded files are judged by their bytes: sizes as displayed, refusals in plain words.

Every file here is generated in the test. The OGG files are real Ogg containers written by
mutagen's own page writer, with Opus/Vorbis headers and a final granule position; their audio
packets are placeholders, since no encoder is available offline and durations come from the
container, not from decoding.
"""

from __future__ import annotations

import io
import math
import struct
import time
import wave
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given, settings
from hypothesis import strategies as st
from mutagen.ogg import OggPage
from PIL import Image, ImageFile

from messaging import media
from messaging.media import MediaError
from messaging.providers.specs import MAX_FILE_BYTES

# --- file makers, shared with the command's tests ---------------------------------------------


def jpeg_bytes(width: int = 640, height: int = 480, orientation: int | None = None) -> bytes:
    """A noisy JPEG (noise keeps it large enough that cutting it loses real image data)."""
    image = Image.effect_noise((width, height), 64).convert("RGB")
    out = io.BytesIO()
    if orientation is None:
        image.save(out, "JPEG", quality=90)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def png_bytes(width: int = 300, height: int = 200, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (10, 20, 30, 128)[: len(mode)]).save(out, "PNG")
    return out.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    checksum = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", checksum)


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid 1-bit PNG of all-black pixels: a few dozen KB that decode to ``width*height``."""
    row = b"\x00" + bytes((width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def declared_png(width: int, height: int) -> bytes:
    """A PNG header declaring a size, with a token IDAT: enough for anything that stops early."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def wav_bytes(seconds: float, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\x00\x00" * round(seconds * rate))
    return out.getvalue()


def _ogg(header_packets: list[bytes], audio_packet: bytes, end_position: int) -> bytes:
    pages = []
    for sequence, packet in enumerate([*header_packets, audio_packet]):
        page = OggPage()
        page.serial = 0x5EED
        page.sequence = sequence
        page.packets = [packet]
        page.first = sequence == 0
        page.last = sequence == len(header_packets)
        page.position = end_position if page.last else 0
        pages.append(page.write())
    return b"".join(pages)


def ogg_opus_bytes(seconds: int) -> bytes:
    pre_skip = 312
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, pre_skip, 48_000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 4) + b"test" + struct.pack("<I", 0)
    return _ogg([head, tags], b"\xf8\xff\xfe", pre_skip + seconds * 48_000)


def ogg_vorbis_bytes(seconds: int, rate: int = 44_100) -> bytes:
    ident = b"\x01vorbis" + struct.pack("<IBIiiiBB", 0, 1, rate, 0, 96_000, 0, 0xB8, 1)
    comment = b"\x03vorbis" + struct.pack("<I", 4) + b"test" + struct.pack("<I", 0) + b"\x01"
    return _ogg([ident, comment], b"\x00" * 32, seconds * rate)


def mp3_bytes(frames: int = 77) -> bytes:
    """MPEG-1 Layer III frames at 128 kbit/s, 44.1 kHz: 77 frames last about 2.01 s."""
    frame = b"\xff\xfb\x90\x00" + bytes(413)
    return frame * frames


def _box(kind: bytes, *children: bytes) -> bytes:
    payload = b"".join(children)
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _mvhd(seconds: float, timescale: int = 1000) -> bytes:
    rest = bytes(80)
    return _box(b"mvhd", struct.pack(">I4I", 0, 0, 0, timescale, round(seconds * timescale)), rest)


def _video_trak(width: int, height: int, rotated: bool) -> bytes:
    one, minus_one = 0x10000, -0x10000
    matrix = (
        (0, one, 0, minus_one, 0, 0, 0, 0, 0x40000000)
        if rotated
        else (one, 0, 0, 0, one, 0, 0, 0, 0x40000000)
    )
    tkhd = _box(
        b"tkhd",
        struct.pack(">I5I", 3, 0, 0, 1, 0, 0),  # version/flags, times, track id, reserved, duration
        bytes(8) + struct.pack(">hhhh", 0, 0, 0, 0),
        struct.pack(">9i", *matrix),
        struct.pack(">II", width << 16, height << 16),
    )
    hdlr = _box(b"hdlr", struct.pack(">II4s", 0, 0, b"vide"), bytes(12), b"VideoHandler\x00")
    return _box(b"trak", tkhd, _box(b"mdia", hdlr))


def mp4_bytes(
    seconds: float, brand: bytes = b"isom", video: tuple[int, int] | None = None, rotated=False
) -> bytes:
    ftyp = _box(b"ftyp", brand, struct.pack(">I", 0x200), brand, b"mp41")
    tracks = [_video_trak(*video, rotated)] if video else []
    return ftyp + _box(b"moov", _mvhd(seconds), *tracks) + _box(b"mdat", bytes(64))


PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class CountingReader:
    """A file object that records how many bytes were asked of it and handed out."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.handed_out = 0

    def read(self, n: int = -1) -> bytes:
        n = self.remaining if n is None or n < 0 else min(n, self.remaining)
        self.remaining -= n
        self.handed_out += n
        return b"\x00" * n


# --- photo sizes --------------------------------------------------------------------------------


def test_photo_turned_by_exif_orientation_6_reports_the_displayed_size() -> None:
    assert media.photo_size(jpeg_bytes(640, 480, orientation=6)) == (480, 640)


@pytest.mark.parametrize("orientation", [None, 1, 2, 3, 4])
def test_upright_or_flipped_photo_keeps_its_stored_size(orientation) -> None:
    assert media.photo_size(jpeg_bytes(640, 480, orientation=orientation)) == (640, 480)


@pytest.mark.parametrize("orientation", [5, 7, 8])
def test_every_quarter_turn_orientation_swaps_width_and_height(orientation) -> None:
    assert media.photo_size(jpeg_bytes(64, 48, orientation=orientation)) == (48, 64)


def test_png_size_is_read_from_its_pixels() -> None:
    assert media.photo_size(png_bytes(300, 200)) == (300, 200)


def test_multi_picture_jpeg_from_a_camera_is_a_photo() -> None:
    out = io.BytesIO()
    first, second = Image.new("RGB", (320, 240)), Image.new("RGB", (320, 240))
    first.save(out, "MPO", save_all=True, append_images=[second])

    assert media.photo_size(out.getvalue()) == (320, 240)
    assert media.extension_for("stereo.mpo", out.getvalue()) == "jpg"


def test_pdf_is_not_an_image() -> None:
    with pytest.raises(MediaError) as caught:
        media.photo_size(PDF)

    assert str(caught.value) == (
        "This file is not an image DLG can show as a photo; send it as a plain file instead."
    )


def test_image_format_phones_do_not_show_is_not_a_photo() -> None:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "TIFF")

    with pytest.raises(MediaError, match="not an image DLG can show"):
        media.photo_size(out.getvalue())


@pytest.mark.parametrize("make", [jpeg_bytes, png_bytes], ids=["jpeg", "png"])
def test_truncated_image_is_refused_as_damaged(make) -> None:
    whole = make()

    with pytest.raises(MediaError, match="damaged or incomplete"):
        media.photo_size(whole[: len(whole) // 2])

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_decompression_bomb_is_refused_quickly_without_decoding(monkeypatch) -> None:
    bomb = bomb_png()

    def no_decoding(self):
        raise AssertionError("the bomb's pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    started = time.perf_counter()
    with pytest.raises(MediaError) as caught:
        media.photo_size(bomb)
    elapsed = time.perf_counter() - started

    assert len(bomb) < 200_000
    assert elapsed < 0.5
    assert "too large to show as a photo" in str(caught.value)


@pytest.mark.parametrize(
    ("side", "where"),
    [(7_000, "above our limit"), (10_000, "Pillow warns"), (20_000, "Pillow refuses")],
)
def test_every_oversized_image_is_refused_in_the_same_words(side, where) -> None:
    with pytest.raises(MediaError, match="too large to show as a photo"):
        media.photo_size(declared_png(side, side))


def test_largest_allowed_image_is_accepted() -> None:
    side = math.isqrt(media.MAX_PHOTO_PIXELS)

    assert media.photo_size(bomb_png(side, side)) == (side, side)


# --- thumbnails ---------------------------------------------------------------------------------


def test_thumbnail_is_upright_and_fits_the_box() -> None:
    thumb = media.thumbnail(jpeg_bytes(640, 480, orientation=6), max_side=320)

    with Image.open(io.BytesIO(thumb)) as image:
        assert (image.format, image.size) == ("JPEG", (240, 320))


def test_thumbnail_of_a_transparent_image_stays_transparent() -> None:
    thumb = media.thumbnail(png_bytes(800, 400, mode="RGBA"), max_side=100)

    with Image.open(io.BytesIO(thumb)) as image:
        assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (100, 50))


def test_thumbnail_refuses_a_bomb() -> None:
    with pytest.raises(MediaError, match="too large"):
        media.thumbnail(declared_png(20_000, 20_000))


# --- reading uploads ----------------------------------------------------------------------------


def test_file_of_exactly_five_mebibytes_is_read_whole() -> None:
    assert len(media.read_limited(io.BytesIO(bytes(MAX_FILE_BYTES)))) == MAX_FILE_BYTES


def test_one_byte_over_five_mebibytes_is_refused_after_reading_at_most_limit_plus_one() -> None:
    reader = CountingReader(MAX_FILE_BYTES * 3)

    with pytest.raises(MediaError) as caught:
        media.read_limited(reader)

    assert reader.handed_out <= MAX_FILE_BYTES + 1
    assert str(caught.value) == (
        "The file is larger than 5,242,880 bytes; DLG accepts files up to 5,242,880 bytes (5 MB)."
    )


def test_upload_of_five_mebibytes_and_one_byte_is_refused_with_its_size() -> None:
    upload = SimpleUploadedFile("big.pdf", bytes(MAX_FILE_BYTES + 1))

    with pytest.raises(MediaError) as caught:
        media.read_limited(upload)

    assert str(caught.value) == (
        "The file is 5,242,881 bytes; DLG accepts files up to 5,242,880 bytes (5 MB)."
    )


def test_disk_file_over_the_limit_is_refused_without_reading(tmp_path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(bytes(1001))

    with path.open("rb") as handle, pytest.raises(MediaError, match="1,001 bytes"):
        media.read_limited(handle, limit=1000)
    with path.open("rb") as handle:
        assert len(media.read_limited(handle, limit=1001)) == 1001


# --- extensions ---------------------------------------------------------------------------------


def test_extension_from_content_beats_a_lying_name() -> None:
    assert media.extension_for("photo.pdf", jpeg_bytes(8, 8)) == "jpg"


@pytest.mark.parametrize(
    ("data", "extension"),
    [
        (png_bytes(4, 4), "png"),
        (b"GIF89a" + bytes(20), "gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (wav_bytes(0.1), "wav"),
        (PDF, "pdf"),
        (ogg_opus_bytes(1), "ogg"),
        (b"ID3\x04\x00" + bytes(20), "mp3"),
        (mp3_bytes(2), "mp3"),
        (b"fLaC" + bytes(20), "flac"),
        (mp4_bytes(1, brand=b"M4A "), "m4a"),
        (mp4_bytes(1), "mp4"),
        (mp4_bytes(1, brand=b"qt  "), "mov"),
    ],
)
def test_extension_is_read_from_the_content(data, extension) -> None:
    assert media.extension_for("upload", data) == extension


def test_unrecognised_content_falls_back_to_the_lower_case_name_extension() -> None:
    assert media.extension_for("Statement.DOCX", b"PK\x03\x04rest") == "docx"
    assert media.extension_for("notes", b"plain words") == ""
    assert media.extension_for("odd.na me", b"plain words") == ""


# --- durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "seconds"),
    [
        (wav_bytes(3), 3),
        (wav_bytes(2.5), 3),
        (wav_bytes(2.4), 2),
        (ogg_opus_bytes(7), 7),
        (ogg_vorbis_bytes(4), 4),
        (mp3_bytes(77), 2),
        (mp4_bytes(4.5, brand=b"M4A "), 5),
    ],
    ids=["wav", "wav-half-up", "wav-down", "opus", "vorbis", "mp3", "m4a"],
)
def test_audio_duration_is_whole_seconds_rounded(data, seconds) -> None:
    assert media.audio_duration(data) == seconds


@pytest.mark.parametrize("data", [PDF, b"OggS" + bytes(40), b"", jpeg_bytes(8, 8)])
def test_unreadable_audio_has_no_duration(data) -> None:
    assert media.audio_duration(data) is None


def test_video_size_and_duration_are_read_from_the_mp4() -> None:
    data = mp4_bytes(12, video=(1920, 1080))

    assert media.video_info(data) == (1920, 1080, 12)


def test_video_recorded_on_its_side_reports_the_displayed_size() -> None:
    data = mp4_bytes(12, video=(1920, 1080), rotated=True)

    assert media.video_info(data) == (1080, 1920, 12)


def test_damaged_mp4_boxes_give_no_size_rather_than_an_error() -> None:
    whole = mp4_bytes(12, video=(1920, 1080))
    moov_at = whole.index(b"moov") - 4
    lying = whole[:moov_at] + struct.pack(">I", 0xFFFFFFF0) + whole[moov_at + 4 :]

    assert media.video_info(lying)[:2] == (None, None)
    assert media.video_info(whole[: moov_at + 60])[:2] == (None, None)


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from(
        [mp4_bytes(3, video=(640, 360)), mp4_bytes(2, brand=b"M4A "), ogg_opus_bytes(2)]
    ),
    cut=st.integers(min_value=0, max_value=400),
    flips=st.lists(st.tuples(st.integers(0, 399), st.integers(0, 255)), max_size=6),
)
def test_damaged_media_never_raises_from_inspect(base, cut, flips) -> None:
    data = bytearray(base[:cut] if cut < len(base) else base)
    for at, value in flips:
        if at < len(data):
            data[at] = value

    info = media.inspect("upload", bytes(data))

    assert info.size == len(data)


# --- inspect and the document spec --------------------------------------------------------------


def test_inspect_reports_a_pdf_as_a_file_without_raising() -> None:
    assert media.inspect("statement.pdf", PDF) == media.MediaInfo(
        extension="pdf", kind_guess="file", width=None, height=None, duration=None, size=len(PDF)
    )


def test_inspect_guesses_from_the_content() -> None:
    photo = media.inspect("scan.pdf", jpeg_bytes(640, 480, orientation=6))
    voice = media.inspect("memo", ogg_opus_bytes(9))
    video = media.inspect("clip.mp4", mp4_bytes(3, video=(640, 360)))
    audio_only_mp4 = media.inspect("song.mp4", mp4_bytes(3))

    assert (photo.kind_guess, photo.extension, photo.width, photo.height) == (
        "photo",
        "jpg",
        480,
        640,
    )
    assert (voice.kind_guess, voice.extension, voice.duration) == ("voice", "ogg", 9)
    assert (video.kind_guess, video.width, video.height, video.duration) == ("video", 640, 360, 3)
    assert audio_only_mp4.kind_guess == "voice"


def test_inspect_does_not_raise_for_a_damaged_photo_or_a_bomb() -> None:
    whole = jpeg_bytes()

    damaged = media.inspect("cut.jpg", whole[: len(whole) // 2])
    bomb = media.inspect("bomb.png", declared_png(20_000, 20_000))

    assert (damaged.kind_guess, damaged.width) == ("photo", None)
    assert (bomb.kind_guess, bomb.width) == ("photo", None)


def test_document_ignores_typed_photo_dimensions() -> None:
    document = media.document_from_upload(
        "holiday.jpeg", jpeg_bytes(640, 480, orientation=6), "photo", width=1, height=1
    )

    assert (document.kind, document.mime_type, document.width, document.height) == (
        "photo",
        "jpg",
        480,
        640,
    )


def test_voice_document_takes_its_duration_from_the_audio_unless_given() -> None:
    read = media.document_from_upload("memo.ogg", ogg_opus_bytes(6), "voice")
    typed = media.document_from_upload("memo.ogg", ogg_opus_bytes(6), "voice", duration=5)

    assert (read.duration, read.width, typed.duration) == (6, None, 5)


def test_video_document_fills_only_what_was_not_given() -> None:
    data = mp4_bytes(12, video=(1920, 1080))

    document = media.document_from_upload("clip.mp4", data, "video", width=1280)

    assert (document.width, document.height, document.duration) == (1280, 1080, 12)


def test_plain_file_document_carries_no_media_fields() -> None:
    document = media.document_from_upload("Report.PDF", PDF, "file", width=3, duration=4)

    assert (document.mime_type, document.width, document.duration) == ("pdf", None, None)


def test_photo_document_that_is_not_an_image_is_refused() -> None:
    with pytest.raises(MediaError, match="not an image DLG can show"):
        media.document_from_upload("report.pdf", PDF, "photo")


def test_document_of_unknown_type_without_extension_is_refused() -> None:
    with pytest.raises(MediaError, match=r"rename it with one such as \.pdf"):
        media.document_from_upload("notes", b"plain words", "file")
