"""eID attacks at the PID provider (issue 9): the provider's authorization step refuses a replayed card response, a
response from another session, a forged data-group signature, a card from another CSCA and an answer the wallet
widened — each ends in ``access_denied`` (RFC 6749 §4.1.2.1) with no code; a terminal certificate that expired or
comes from another CVCA makes the card refuse, so nothing reaches the provider. The eID layer's own tests
(tests/ssi/eid, tests/wallet_sim/eid/test_eid_attacks.py) cover each check; these show the provider applies them."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pid_support import CARD_PIN, PidEnv, RawWallet, pid_issuer

from issuer.authorization import AuthorizationResult
from issuer.pid_provider import PidConfig
from ssi.eid import (
    Chat,
    DataGroup,
    DocumentSigner,
    EidResponse,
    Role,
    TerminalCredentials,
    demo_pki,
    element_digest,
    encode_element,
    issue_cv_certificate,
    sign_security_object,
)
from ssi.eid.messages import SecurityObject
from ssi.errors import EidCardRefused
from ssi.keys import PrivateKey
from ssi.sd_jwt import HeldSdJwt
from wallet_sim.eid import EidCard, SmartEid, SmartEidProvider
from wallet_sim.eid.citizens import find_citizen
from wallet_sim.provider import WalletProvider


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PidEnv]:
    with pid_issuer(tmp_path_factory.mktemp("pid-eid")) as running:
        yield running


@pytest.fixture
def wallet(env: PidEnv) -> RawWallet:
    return RawWallet(env)


def _complete(env: PidEnv, activation: dict[str, Any], response: str) -> AuthorizationResult:
    """What ``POST /eid-response`` runs (the route answers ``result.to_json()``)."""
    return env.provider.authorization.complete(env.provider.tenant(), activation["eid_session"], response)


def _denied(result: AuthorizationResult, reason: str) -> None:
    assert result.error == "access_denied" and result.reason == reason, result
    assert "code=" not in result.redirect_to and "error=access_denied" in result.redirect_to
    assert "iss=" in result.redirect_to  # RFC 9207 §2: also in error responses


def _private_card(env: PidEnv, tmp: Path, name: str, **kw: Any) -> EidCard:
    card = EidCard.create(tmp / f"{name}.json", find_citizen("erika"), **kw)
    card.change_pin(find_citizen("erika").transport_pin, CARD_PIN)
    return card


def test_replayed_card_response(wallet: RawWallet, env: PidEnv) -> None:
    """A response counts once: sent again to its session it finds none (400, no redirect to trust); sent into a new
    session its chip authentication does not match that session's challenge and key."""
    activation = wallet.activation()
    response = env.card().authenticate(activation["eid_request"], CARD_PIN).encode()
    assert "code" in wallet.authorization_response(activation, response)
    again = wallet.send_eid(activation, response)
    assert again.status_code == 400 and again.json()["error"] == "access_denied"
    fresh = wallet.activation()
    _denied(_complete(env, fresh, response), "eid_unknown_session")


def test_response_from_another_session(wallet: RawWallet, env: PidEnv) -> None:
    """The card answered session A; the wallet sends it to session B (whose consent screen differed, say)."""
    first, second = wallet.activation(), RawWallet(env).activation()
    response = env.card().authenticate(first["eid_request"], CARD_PIN).encode()
    _denied(_complete(env, second, response), "eid_unknown_session")


def test_forged_data_group_signature(wallet: RawWallet, env: PidEnv, tmp_path: Path) -> None:
    """The card's memory edited (born 2010) and the security object re-signed with a key that is not the document
    signer's: passive authentication fails."""
    card = _private_card(env, tmp_path, "forged")
    record = json.loads(card.path.read_text())
    element = encode_element(os.urandom(16), DataGroup.DATE_OF_BIRTH, "20100101")
    record["elements"]["8"] = element
    original = SecurityObject.parse(record["security_object"])
    record["security_object"] = sign_security_object(
        PrivateKey.generate(),
        [demo_pki().document_signer.certificate],
        kind="card",
        digests={**original.digests, DataGroup.DATE_OF_BIRTH: element_digest(element)},
        chip_key=original.chip_key,
        issued_at=int(original.issued_at),
    )
    card.path.write_text(json.dumps(record))
    activation = wallet.activation()
    _denied(
        _complete(env, activation, card.authenticate(activation["eid_request"], CARD_PIN).encode()),
        "eid_passive_authentication",
    )


def test_card_from_another_csca(wallet: RawWallet, env: PidEnv, tmp_path: Path) -> None:
    """A card personalised under a Country Signing CA the provider does not trust."""
    foreign = DocumentSigner.generate("Fälscherwerkstatt", now=time.time() - 86400)
    card = _private_card(env, tmp_path, "foreign", document_signer=foreign)
    activation = wallet.activation()
    _denied(
        _complete(env, activation, card.authenticate(activation["eid_request"], CARD_PIN).encode()),
        "eid_document_signer_untrusted",
    )


def test_wallet_widens_the_answer(wallet: RawWallet, env: PidEnv) -> None:
    """The citizen deselected the address; the wallet adds it back to the card's answer: the chip's MAC no longer
    covers the answer."""
    card = env.card()
    activation = wallet.activation()
    response = card.authenticate(activation["eid_request"], CARD_PIN, deselect=[DataGroup.PLACE_OF_RESIDENCE])
    elements = json.loads(card.path.read_text())["elements"]
    answer = dataclasses.replace(
        response.answer,
        chat=response.answer.chat | Chat.of(read=[DataGroup.PLACE_OF_RESIDENCE]),
        data_groups={**response.answer.data_groups, DataGroup.PLACE_OF_RESIDENCE: elements["17"]},
    )
    widened = EidResponse(answer, answer.encode(), response.mac).encode()
    _denied(_complete(env, activation, widened), "eid_chip_authentication")


def test_deselected_optional_data_is_left_out_of_the_pid(wallet: RawWallet, env: PidEnv) -> None:
    """The citizen may deselect optional data (never add): without DG17 and DG13 the PID has no address and no birth
    name, and is issued."""
    activation = wallet.activation()
    response = env.card().authenticate(
        activation["eid_request"], CARD_PIN, deselect=[DataGroup.PLACE_OF_RESIDENCE, DataGroup.BIRTH_NAME]
    )
    params = wallet.authorization_response(activation, response.encode())
    token = wallet.tokens(params["code"])["access_token"]
    answer = wallet.credential_request(token, wallet.pid_request([PrivateKey.generate()]))
    assert answer.status_code == 200
    claims = HeldSdJwt.parse(answer.json()["credentials"][0]["credential"]).claims
    assert "address" not in claims and "birth_family_name" not in claims and claims["family_name"] == "MUSTERMANN"


@contextlib.contextmanager
def _terminal_env(tmp: Path, terminal: TerminalCredentials) -> Iterator[PidEnv]:
    pki = demo_pki()
    config = PidConfig.demo("pid", wallet_providers=[WalletProvider.demo().ca_certificate])
    config.terminal = terminal
    config.sector_key = pki.sector_key(terminal.certificate.chr)
    with pid_issuer(tmp, config=config) as running:
        yield running


def test_terminal_certificate_expired(tmp_path: Path) -> None:
    """A provider whose terminal certificate expired: the card refuses the request (terminal authentication), the
    citizen's data never leaves the card."""
    expired = demo_pki().issue_terminal(
        chr="DEPIDOLD00001",
        holder_name="PID-Provider (abgelaufen)",
        rights=demo_pki().pid_provider.chat,
        effective=datetime.date(2025, 1, 1),
        expiry=datetime.date(2025, 6, 30),
    )
    with _terminal_env(tmp_path, expired) as env:
        activation = RawWallet(env).activation()
        with pytest.raises(EidCardRefused) as caught:
            env.card().authenticate(activation["eid_request"], CARD_PIN)
        assert caught.value.reason == "eid_terminal_expired"


def test_terminal_from_another_cvca(tmp_path: Path) -> None:
    """A provider whose terminal certificate chains to a CVCA the card does not hold as trust point."""
    cvca_key, dv_key, key = PrivateKey.generate(), PrivateKey.generate(), PrivateKey.generate()
    start, end = datetime.date(2025, 1, 1), datetime.date(2035, 1, 1)
    dv = issue_cv_certificate(
        cvca_key,
        car="XXCVCAEVIL00001",
        chr="XXDVEVIL00001",
        chat=Chat.all_rights(Role.DV_OFFICIAL),
        effective=start,
        expiry=end,
        public_key=dv_key.public_key,
        holder_name="Evil DV",
    )
    certificate = issue_cv_certificate(
        dv_key,
        car=dv.chr,
        chr="XXPIDEVIL0001",
        chat=demo_pki().pid_provider.chat.with_role(Role.TERMINAL),
        effective=start,
        expiry=end,
        public_key=key.public_key,
        holder_name="Falscher PID-Provider",
        sector_key=PrivateKey.generate().public_key,
    )
    with _terminal_env(tmp_path, TerminalCredentials(key, dv, certificate)) as env:
        activation = RawWallet(env).activation()
        with pytest.raises(EidCardRefused) as caught:
            env.card().authenticate(activation["eid_request"], CARD_PIN)
        assert caught.value.reason == "eid_terminal_untrusted"


def test_smart_eid_needs_policy_and_level_high(tmp_path: Path, env: PidEnv) -> None:
    """The provider's policy decides which sources give a PID (issue 9): by default only the card; where the
    Smart-eID is accepted, only at level of assurance high (a PID is LoA high, CIR 2024/2977)."""
    card = env.card()
    smart = {
        level: SmartEid.provision(
            tmp_path / level,
            card=card,
            card_pin=CARD_PIN,
            pin="654321",
            provider=SmartEidProvider.demo(level_of_assurance=level),
        )
        for level in ("substantial", "high")
    }
    activation = RawWallet(env).activation()
    answer = smart["high"].authenticate(activation["eid_request"], "654321").encode()
    _denied(_complete(env, activation, answer), "eid_source_not_accepted")
    with pid_issuer(tmp_path / "smart", pid_eid_sources=("card", "smart-eid")) as accepting:
        wallet = RawWallet(accepting)
        activation = wallet.activation()
        answer = smart["substantial"].authenticate(activation["eid_request"], "654321").encode()
        _denied(_complete(accepting, activation, answer), "eid_level_of_assurance")
        activation = wallet.activation()
        answer = smart["high"].authenticate(activation["eid_request"], "654321").encode()
        assert "code" in wallet.authorization_response(activation, answer)
