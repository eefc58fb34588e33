"""Keyed pseudonyms of credential subjects: "revoke everything issued for this licence plate / from this ID card"
without keeping claim values.

A credential type names the claim that identifies its subject (``"subject": {"claim": [...], "kind": ...}``,
:mod:`issuer.credential_type`); for types whose identifier is no claim (the PID's document number comes from the eID
card) the offer passes it. The issuer stores only

    HMAC-SHA256(issuer secret, "govssi-subject-v1" ‖ authority id ‖ kind ‖ normalised value)

— hex, per authority and kind — with the offer and with every credential issued from it. Without the secret (a
32-byte random value in ``server_secret``, shared by all instances, never exported with the audit log) a pseudonym
cannot be tested against guessed values; with the same value and kind the clerk finds every credential again.

Normalisation makes what a clerk types match what was issued: Unicode NFKC, upper case, and spaces, hyphens and dots
removed ("K-EM 1964" and "k em1964" are one plate; "T22 00012 9" and "T2200129" one document number).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from ssi.errors import SsiError

__all__ = ["SubjectError", "normalise_subject", "subject_pseudonym"]

_DOMAIN = b"govssi-subject-v1"
_SEPARATORS = re.compile(r"[\s\-.]+")
_KIND = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
MAX_SUBJECT = 200


class SubjectError(SsiError):
    """A subject identifier or kind is unusable (empty, too long, malformed kind)."""

    code = "invalid_request"
    reason = "invalid_subject"


def normalise_subject(value: str) -> str:
    """NFKC, upper case, without spaces, hyphens and dots."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_SUBJECT:
        raise SubjectError(f"a subject identifier is 1-{MAX_SUBJECT} characters")
    # Upper-casing may decompose a character (U+01F0 → J + U+030C) and removing a separator may bring a base
    # letter and a combining mark together: repeat until nothing changes (twice in practice).
    normalised = value
    for _ in range(4):
        step = unicodedata.normalize("NFKC", _SEPARATORS.sub("", unicodedata.normalize("NFKC", normalised).upper()))
        if step == normalised:
            break
        normalised = step
    if not normalised:
        raise SubjectError("the subject identifier is empty after normalisation")
    return normalised


def subject_pseudonym(secret: bytes, authority_id: int, kind: str, value: str) -> str:
    """The keyed pseudonym (64 hex digits) of ``value`` of ``kind`` at one authority."""
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise SubjectError("a subject kind matches [a-z][a-z0-9_]{1,39}")
    message = b"\x00".join((_DOMAIN, str(authority_id).encode(), kind.encode(), normalise_subject(value).encode()))
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
