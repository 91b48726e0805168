"""Small PDFs generated in the tests (no binary fixtures): text pages, image-only, encrypted."""

from __future__ import annotations

import io


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def make_pdf(pages: list[list[str]]) -> bytes:
    """A valid PDF 1.4 whose page ``i`` shows the lines ``pages[i]`` in Helvetica.

    A page with no lines has an empty content stream: it draws nothing, like a scanned page
    whose image holds the text (pypdf extracts nothing from it).
    """
    objects: list[bytes] = []
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, lines in enumerate(pages):
        content = "BT /F1 11 Tf 14 TL 50 780 Td " + " ".join(
            f"{_pdf_string(line)} Tj T*" for line in lines) + " ET" if lines else ""
        stream = content.encode("latin-1")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       f"/Resources << /Font << /F1 3 0 R >> >> "
                       f"/Contents {5 + 2 * i} 0 R >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def encrypted_pdf(pages: list[list[str]], password: str = "secret") -> bytes:
    """The same PDF, encrypted with a user password (RC4, which pypdf writes without extras)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(make_pdf(pages))).pages:
        writer.add_page(page)
    writer.encrypt(user_password=password, owner_password=password + "-owner",
                   algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


RIVER_PAGES = [
    ["The river report, page one. The dam on the river was finished in the spring,",
     "and the engineers say it supplies water to every farm in the northern valley."],
    ["Page two. Farmers in the south say the dam has cut their water by half since",
     "the spring, and the southern council demands that the gates be opened now."],
    ["Page three. A neutral survey counted 400 farms along the river this year."],
]
