"""What a document says, as plain data: built from the records (``gather``), drawn by ``render``."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.documents import DocumentType


@dataclass(frozen=True)
class Officer:
    name: str
    badge_number: str
    #: The officer's recorded signature image (PNG), None when they had none at issue.
    signature: bytes | None = None


@dataclass(frozen=True)
class Party:
    """The party the document is addressed to: the enterprise, or a person working there."""

    enterprise_name: str
    credit_code: str
    address: str
    contact: str = ""
    #: A person named as the party (行政处罚决定书（个人）): name, masked ID number, post.
    person_name: str = ""
    person_id_masked: str = ""
    person_post: str = ""


@dataclass(frozen=True)
class Item:
    """One finding or decision: what, the result, its legal basis and any deadline."""

    text: str
    basis: str
    result: str = ""
    note: str = ""
    deadline: str = ""


@dataclass(frozen=True)
class Image:
    """A picture embedded in the PDF (JPEG or PNG bytes) with what is printed under it."""

    data: bytes | None
    caption: str
    captured_at: str = ""
    place: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class Content:
    type: DocumentType
    title: str
    number: str
    issuing_body: str
    issued_at: str
    officers: tuple[Officer, ...]
    party: Party
    #: Paragraphs of the facts found (时间、地点、经过).
    facts: tuple[str, ...]
    items: tuple[Item, ...]
    #: What the body decides or orders, each a paragraph.
    decision: tuple[str, ...] = ()
    rights: tuple[str, ...] = ()
    signatures: tuple[Image, ...] = ()
    photos: tuple[Image, ...] = ()
    #: The type carries the officers' own signatures (``policy.Spec.officer_signatures``).
    officer_signatures: bool = False
    verify_url: str = ""
    short_code: str = ""
    supersedes_number: str = ""
    heading_labels: dict[str, str] = field(default_factory=dict)
