"""Small, valid supporting documents built byte by byte for the reimbursement tests."""

import struct
import zlib


def pdf_bytes(text: str = "Recu taxi 35,50 EUR") -> bytes:
    """A one-page PDF with a line of text, with a correct cross-reference table."""
    content = f"BT /F1 12 Tf 20 50 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref_at = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return body


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (51, 102, 153)) -> bytes:
    """A truecolour PNG of one colour."""
    row = b"\x00" + bytes(rgb) * width  # filter type 0, then the pixels
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + _png_chunk(b"IDAT", zlib.compress(row * height))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    """A baseline JPEG, 8×8 mid-grey: one block whose DC and AC codes are a single bit each."""

    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload

    one_code_of_length_1 = bytes([1] + [0] * 15)
    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xDB, b"\x00" + bytes([1] * 64))  # quantisation table 0: all ones
        + segment(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")  # 8×8, one component
        + segment(0xC4, b"\x00" + one_code_of_length_1 + b"\x00")  # DC: difference 0
        + segment(0xC4, b"\x10" + one_code_of_length_1 + b"\x00")  # AC: end of block
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x3f"  # bits 0 (DC 0) and 0 (EOB), padded with ones
        + b"\xff\xd9"
    )


def exe_bytes() -> bytes:
    """The start of a Windows executable (MZ header), whatever name it is given."""
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 240


HTML_BYTES = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
