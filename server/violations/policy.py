"""How a 三违 person's ID number is checked, matched and protected: pure functions, no I/O.

- :func:`check_id_number` refuses a number failing the GB 11643 check digit.
- :func:`person_key` is an HMAC-SHA256 of the normalised number under the
  configured key: the same person gets the same key at every enterprise, and
  without the key nobody can run the (small) space of ID numbers against it.
- :func:`seal` / :func:`unseal` keep the full number with AES-256-GCM under a
  key derived from the same secret (HKDF, its own label), bound to the person
  key so a sealed value copied onto another person's record fails to open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from schemas.identifiers import id_number_refusal, mask_id_number, normalize_id_number
from server.errors import InvalidInput, StateConflict

_HASH_LABEL = b"fieldcheck/violations/id-number-hmac"
_SEAL_LABEL = b"fieldcheck/violations/id-number-aes-gcm"


def check_id_number(number: str, field: str = "id_number") -> str:
    """The normalised number, or ``InvalidInput`` naming ``field``."""
    refusal = id_number_refusal(number, field)
    if refusal is not None:
        raise InvalidInput.of(refusal)
    return normalize_id_number(number)


def _derive(secret: str, label: bytes) -> bytes:
    if not secret:
        raise ValueError("the ID-number key (FIELDCHECK_ID_HASH_KEY) is not configured")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret.encode())


def person_key(secret: str, number: str) -> str:
    """The keyed hash (hex) that identifies one person across enterprises."""
    return hmac.new(_derive(secret, _HASH_LABEL), normalize_id_number(number).encode(), hashlib.sha256).hexdigest()


def masked(number: str) -> str:
    return mask_id_number(number)


def seal(secret: str, number: str, key: str) -> str:
    """The full number encrypted for storage (base64 of nonce + ciphertext)."""
    nonce = os.urandom(12)
    box = AESGCM(_derive(secret, _SEAL_LABEL)).encrypt(nonce, normalize_id_number(number).encode(), key.encode())
    return base64.b64encode(nonce + box).decode()


def unseal(secret: str, sealed: str, key: str) -> str:
    """The full number back; a tampered or misplaced value is a ``StateConflict``."""
    raw = base64.b64decode(sealed)
    try:
        return AESGCM(_derive(secret, _SEAL_LABEL)).decrypt(raw[:12], raw[12:], key.encode()).decode()
    except InvalidTag:
        raise StateConflict(
            "身份证号码密文校验失败，记录可能被篡改", "the sealed ID number does not verify", field="id_number"
        ) from None
