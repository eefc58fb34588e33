"""The eID-Server side of the simulated German eID (BSI TR-03110 / TR-03127 / TR-03130, simplified but faithful),
pure: build the request for the card, verify the card's or Smart-eID's response, read the released data.

Roles (DESIGN.md §1, §4): the **card** (``wallet_sim.eid``) holds data groups signed by a document signer under a
Country Signing CA and a chip key; the **terminal** (a service such as the PID provider) holds a terminal certificate
CVCA → DV → terminal whose access rights (CHAT) decide what the card releases; the **eID-Server** (this package)
checks chip authentication (the answer is MACed under ECDH of the chip key and the session's ephemeral key) and
passive authentication (the security object chains to a trusted CSCA, every released data group matches its digest).
A **Smart-eID** answers in the same format; its security object is signed by a Smart-eID provider, and the server
reports ``source="smart-eid"`` with the level of assurance the provider attested.

Use (a PID issuer)::

    from ssi.eid import Chat, DataGroup, EidServer, demo_pki

    pki = demo_pki()                                   # or your own TerminalCredentials and EidTrustAnchors
    server = EidServer(pki.pid_provider, pki.trust_anchors, clock=clock)
    request = server.start(required=Chat.of(read=[DataGroup.GIVEN_NAMES, ...]), optional=Chat.of(...))
    session_id = request.content().session_id          # remember it with the user's authorization request
    send(request.to_json())                            # to the wallet's eID client, which answers with the card
    auth = server.finish(session_id, response_text)    # EidAuthentication, or EidError with reason eid_*
    auth.identity, auth.source, auth.level_of_assurance, auth.restricted_id

Simplifications against the real nPA (BSI TR-03127 describes the real one): messages are JSON/JWS instead of APDUs and
TLV; card-verifiable certificates are JWS (:mod:`ssi.eid.cvc`); terminal authentication is the terminal's signature
over the request (which carries the ephemeral key, challenge and validity test date) rather than over a card nonce, so
the card bounds a request's life by its ``exp``; chip authentication uses HKDF/HMAC-SHA256 and its key is in the
security object; the simulated card has a clock instead of approximating the date from certificates (TR-03110-3 §2.5);
a chain whose certificate widens its issuer's rights is refused rather than intersected (§2.6); restricted
identification needs its access right (the real card allows it unless ``authorizedOnly``).

Two differences matter for privacy and are the issue's design, not the nPA's: (1) the data groups are covered by the
document signer's security object (salted digests, so unreleased groups stay hidden), whereas the real eID signs no
personal data so that a service cannot pass it on with a proof of origin (TR-03127 §3.2.2) — a service must not pass
released elements on; (2) the chip key and security object are per card, whereas real cards share the chip
authentication key per card generation so that it cannot identify a card (TR-03127 §3.2.4).
"""

from ssi.eid.chat import NO_RIGHTS, NO_SPECIAL, AccessRight, Chat, Role
from ssi.eid.chip import chip_authentication_mac, restricted_identification, sector_identifier
from ssi.eid.cvc import CertificateDescription, CvCertificate, issue_cv_certificate, verify_terminal_chain
from ssi.eid.datagroups import (
    DataGroup,
    FreeTextPlace,
    NoPlaceInfo,
    PartialDate,
    Place,
    StructuredPlace,
    age_reached,
    decode_element,
    element_digest,
    encode_element,
    years_before,
)
from ssi.eid.demo import DemoEidPki, DocumentSigner, demo_key, demo_pki
from ssi.eid.identity import EidIdentity
from ssi.eid.messages import (
    LEVELS_OF_ASSURANCE,
    DocumentKind,
    EidAnswer,
    EidRequest,
    EidResponse,
    RequestContent,
    SecurityObject,
    seal_answer,
    sign_request,
    sign_security_object,
)
from ssi.eid.passive_auth import EidTrustAnchors, check_data_groups, verify_security_object
from ssi.eid.server import (
    EidAuthentication,
    EidServer,
    EidSession,
    EidSessionStore,
    MemoryEidSessions,
    TerminalCredentials,
    create_session,
    verify_response,
)

__all__ = [
    "LEVELS_OF_ASSURANCE",
    "NO_RIGHTS",
    "NO_SPECIAL",
    "AccessRight",
    "CertificateDescription",
    "Chat",
    "CvCertificate",
    "DataGroup",
    "DemoEidPki",
    "DocumentKind",
    "DocumentSigner",
    "EidAnswer",
    "EidAuthentication",
    "EidIdentity",
    "EidRequest",
    "EidResponse",
    "EidServer",
    "EidSession",
    "EidSessionStore",
    "EidTrustAnchors",
    "FreeTextPlace",
    "MemoryEidSessions",
    "NoPlaceInfo",
    "PartialDate",
    "Place",
    "RequestContent",
    "Role",
    "SecurityObject",
    "StructuredPlace",
    "TerminalCredentials",
    "age_reached",
    "check_data_groups",
    "chip_authentication_mac",
    "create_session",
    "decode_element",
    "demo_key",
    "demo_pki",
    "element_digest",
    "encode_element",
    "issue_cv_certificate",
    "restricted_identification",
    "seal_answer",
    "sector_identifier",
    "sign_request",
    "sign_security_object",
    "verify_response",
    "verify_security_object",
    "verify_terminal_chain",
    "years_before",
]
