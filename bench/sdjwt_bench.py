"""SD-JWT VC benchmark: issue, present and verify a German PID, ours against the ``sd-jwt`` reference library.

Run: ``.venv/bin/python -m bench.sdjwt_bench [--seconds S] [--json] [--profile]``.

Workload (the same for both libraries, with the same ES256 keys):

- **issue**: a 15-claim PID-like SD-JWT VC (``vct`` ``urn:eudi:pid:de:1``) in which every one of the 15 claims and
  the four ``address`` members are selectively disclosable (19 Disclosures), ``cnf.jwk`` a P-256 holder key, plus
  ``iss``/``iat``/``exp``/``status`` in the clear; signed ES256. Output: the compact SD-JWT. Both libraries get the
  holder key as a key object imported once (a ``PublicKey``; a jwcrypto ``JWK``), as an issuer has it after checking
  the key proof.
- **present**: from the parsed credential, select ``given_name``, ``family_name`` and ``birthdate`` (three
  Disclosures) and sign a KB-JWT over ``aud``/``nonce``/``iat``/``sd_hash``.
- **verify**: that presentation, with every check: issuer signature (allowlisted alg, ``typ``), Disclosures (digests,
  duplicates, unreferenced, structure), processed payload (``exp``, ``vct``, ``status``), KB-JWT signature by the
  ``cnf`` key, ``typ``, ``aud``, ``nonce``, ``iat`` window and ``sd_hash``.
- **ES256 limit**: the two ECDSA P-256 verifications a presentation needs (issuer-signed JWT and KB-JWT, the real
  signing inputs), done with ``cryptography`` directly. That is the ceiling of any verifier in Python; we print our
  verify rate as a percentage of it.

One core: the process pins itself to one CPU (``os.sched_setaffinity(0, {cpu})``, the last allowed CPU unless
``--cpu`` says otherwise) and runs single-threaded (no threads are started; OpenSSL's ECDSA is single-threaded).
Each measurement runs ``--seconds`` (default 2) after a short warm-up; the whole default run takes about 20 s.
Latencies are per operation (``perf_counter_ns`` between consecutive operations), p50/p99 by nearest rank.

Fairness on a shared machine: what is compared is measured interleaved — for each operation, govssi and the reference
library (and, for verify, the ES256 limit) take turns in slices of ``--slice`` seconds (default 0.02) until each has
run ``--seconds`` — so both sides see the same background load; measured one after the other, a burst of load from
other processes during one side's two seconds moved the ratios by a third in either direction.

Caches: govssi keeps bounded caches of decoded JOSE headers, imported JWKs (``cnf.jwk``) and compiled claim-path lists.
Every presentation verified in ``verify`` carries the same holder key, so the ``cnf.jwk`` import is always found in
the cache; a verifier seeing each holder once pays the import (and the first use of a new key object) on every
presentation. So the run also verifies ``--holders`` (default 300, more than that cache keeps) presentations of as many
holders in turn, both libraries, and prints that line apart: "verify with a new holder each time".
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import itertools
import json
import math
import os
import platform
import pstats
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ssi._compiled import compiled_status
from ssi.clock import FrozenClock
from ssi.encoding import b64url_decode
from ssi.keys import PrivateKey, PublicKey, SoftwareSigner
from ssi.sd_jwt import ClaimPath, HeldSdJwt, VerificationPolicy
from ssi.sd_jwt.vc import issue_sd_jwt_vc, verify_sd_jwt_vc

VCT = "urn:eudi:pid:de:1"
ISSUER = "https://pid-issuer.example.de"
AUDIENCE = "https://portal.example.de"
NONCE = "n-0S6_WzA2Mj"
STATUS = {"status_list": {"idx": 4711, "uri": "https://pid-issuer.example.de/status/1"}}
VALID_FOR = 14 * 24 * 3600  # German PID: 14-day validity

#: The sample ID card's citizen (DESIGN §4), as German PID claims: upper case as on the card.
PID_CLAIMS: dict[str, Any] = {
    "given_name": "ERIKA",
    "family_name": "MUSTERMANN",
    "birth_family_name": "GABLER",
    "birthdate": "1964-08-12",
    "age_equal_or_over": {"12": True, "14": True, "16": True, "18": True, "21": True, "65": False},
    "age_in_years": 62,
    "age_birth_year": 1964,
    "place_of_birth": {"locality": "BERLIN", "country": "DE"},
    "address": {"street_address": "HEIDESTRASSE 17", "locality": "KÖLN", "postal_code": "51147", "country": "DE"},
    "nationalities": ["DE"],
    "issuing_authority": "DE",
    "issuing_country": "DE",
    "source_document_type": "id_card",
    "date_of_issuance": "2026-11-23",
    "date_of_expiry": "2026-12-07",
}
ADDRESS_MEMBERS = tuple(PID_CLAIMS["address"])
#: Every top-level claim and every address member: 19 Disclosures.
DISCLOSABLE: tuple[ClaimPath, ...] = (
    *((name,) for name in PID_CLAIMS),
    *(("address", member) for member in ADDRESS_MEMBERS),
)
PRESENTED: tuple[ClaimPath, ...] = (("given_name",), ("family_name",), ("birthdate",))
PRESENTED_NAMES = tuple(str(p[0]) for p in PRESENTED)

OPERATIONS = ("issue", "present", "verify")
TARGETS = {"issue": 3.0, "verify": 2.5}  # ours / reference
STRETCH_LIMIT_SHARE = 0.80  # verify as a share of the two-ES256-verifications limit


# --- measurement ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """Throughput and latency of one operation."""

    iterations: int
    seconds: float
    ops_per_s: float
    mean_us: float
    p50_us: float
    p99_us: float
    #: Operations per second of this thread's CPU time: on a shared machine, time spent preempted by other
    #: processes counts in ``ops_per_s`` but not here (cache and memory contention still do).
    cpu_ops_per_s: float


def _nearest_rank(ordered: Sequence[int], q: float) -> float:
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] / 1000.0


def measure(op: Callable[[], object], *, seconds: float = 2.0, iterations: int | None = None) -> Measurement:
    """Run ``op`` repeatedly for ``seconds`` (or exactly ``iterations`` times) after a short warm-up.

    Each latency is the time between consecutive completions, so the latencies add up to the elapsed time.
    """
    warm_until = time.perf_counter() + (0.0 if iterations is not None else min(0.25, seconds / 8))
    for _ in range(3):
        op()
    while time.perf_counter() < warm_until:
        op()
    gc.collect()
    clock = time.perf_counter_ns
    latencies: list[int] = []
    record = latencies.append
    cpu_start = time.thread_time_ns()
    start = last = clock()
    deadline = start + int(seconds * 1e9)
    while True:
        op()
        now = clock()
        record(now - last)
        last = now
        if (len(latencies) >= iterations) if iterations is not None else (now >= deadline):
            break
    cpu = (time.thread_time_ns() - cpu_start) / 1e9
    elapsed = (last - start) / 1e9
    ordered = sorted(latencies)
    return Measurement(
        iterations=len(latencies),
        seconds=round(elapsed, 3),
        ops_per_s=len(latencies) / elapsed,
        mean_us=elapsed * 1e6 / len(latencies),
        p50_us=_nearest_rank(ordered, 0.50),
        p99_us=_nearest_rank(ordered, 0.99),
        cpu_ops_per_s=len(latencies) / cpu if cpu > 0 else math.inf,
    )


def measure_interleaved(
    ops: Sequence[Callable[[], object]],
    *,
    seconds: float = 2.0,
    iterations: int | None = None,
    slice_seconds: float = 0.02,
) -> list[Measurement]:
    """:func:`measure` for several operations taking turns: each runs for ``slice_seconds`` (or an eighth of
    ``iterations``) in a round, round after round, until each has run ``seconds`` (``iterations`` times) in all.

    Operations compared with one another thus run under the same background load. Each latency is the time between
    consecutive completions within a slice, so the latencies add up to each operation's elapsed time.
    """
    warm_for = 0.0 if iterations is not None else min(0.25, seconds / 8)
    for op in ops:
        warm_until = time.perf_counter() + warm_for
        for _ in range(3):
            op()
        while time.perf_counter() < warm_until:
            op()
    gc.collect()
    clock = time.perf_counter_ns
    latencies: list[list[int]] = [[] for _ in ops]
    elapsed = [0] * len(ops)
    cpu = [0] * len(ops)
    budget_ns = int(seconds * 1e9)
    slice_ns = max(1, int(slice_seconds * 1e9))
    chunk = max(1, (iterations or 0) // 8)
    while True:
        pending = [
            i
            for i in range(len(ops))
            if (len(latencies[i]) < iterations if iterations is not None else elapsed[i] < budget_ns)
        ]
        if not pending:
            break
        for i in pending:
            op, record = ops[i], latencies[i].append
            goal = None if iterations is None else min(iterations, len(latencies[i]) + chunk)
            cpu_start = time.thread_time_ns()
            start = last = clock()
            deadline = start + min(slice_ns, budget_ns - elapsed[i])
            while True:
                op()
                now = clock()
                record(now - last)
                last = now
                if (len(latencies[i]) >= goal) if goal is not None else (now >= deadline):
                    break
            cpu[i] += time.thread_time_ns() - cpu_start
            elapsed[i] += last - start
    results = []
    for lat, ns, cpu_ns in zip(latencies, elapsed, cpu, strict=True):
        ordered = sorted(lat)
        results.append(
            Measurement(
                iterations=len(lat),
                seconds=round(ns / 1e9, 3),
                ops_per_s=len(lat) * 1e9 / ns,
                mean_us=ns / 1e3 / len(lat),
                p50_us=_nearest_rank(ordered, 0.50),
                p99_us=_nearest_rank(ordered, 0.99),
                cpu_ops_per_s=len(lat) * 1e9 / cpu_ns if cpu_ns > 0 else math.inf,
            )
        )
    return results


# --- the keys both libraries use -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchKeys:
    issuer: PrivateKey
    holder: PrivateKey

    @classmethod
    def generate(cls) -> BenchKeys:
        return cls(PrivateKey.generate("ES256"), PrivateKey.generate("ES256"))

    @classmethod
    def fixed(cls) -> BenchKeys:
        """The same two P-256 keys on every run (for instruction counts that can be compared between runs)."""
        return cls(
            PrivateKey(ec.derive_private_key(0x1234567890ABCDEF, ec.SECP256R1())),
            PrivateKey(ec.derive_private_key(0xFEDCBA0987654321, ec.SECP256R1())),
        )


# --- govssi --------------------------------------------------------------------------------------------------------


class OursWorkload:
    """The workload through ``ssi.sd_jwt`` (SD-JWT VC profile)."""

    name = "govssi"

    def __init__(self, keys: BenchKeys, now: int | None = None) -> None:
        self.clock = FrozenClock(time.time() if now is None else now)
        self.issuer_signer = SoftwareSigner(keys.issuer, kid="pid-issuer-1")
        self.holder_signer = SoftwareSigner(keys.holder)
        self.issuer_key: PublicKey = keys.issuer.public_key
        # The holder key as an imported key object, as the reference library gets it (a jwcrypto JWK made once) and
        # as an issuer has it after verifying the key proof: neither side re-imports it per issuance.
        self.holder_key: PublicKey = keys.holder.public_key
        self.policy = VerificationPolicy(audience=AUDIENCE, nonce=NONCE, required_claims=frozenset({"exp"}))
        self.issued = self.issue()
        self.held = HeldSdJwt.parse(self.issued)
        self.presentation = self.present()

    def issue(self) -> str:
        return issue_sd_jwt_vc(
            PID_CLAIMS,
            self.issuer_signer,
            vct=VCT,
            issuer=ISSUER,
            holder_jwk=self.holder_key,
            status=STATUS,
            disclosable=DISCLOSABLE,
            valid_for=VALID_FOR,
            clock=self.clock,
        ).compact

    def present(self) -> str:
        return self.held.present(PRESENTED, holder=self.holder_signer, audience=AUDIENCE, nonce=NONCE, clock=self.clock)

    def verify(self) -> dict[str, Any]:
        return verify_sd_jwt_vc(
            self.presentation, self.issuer_key, self.policy, expected_vct=VCT, clock=self.clock
        ).claims

    def check(self) -> None:
        """The workload is what it claims to be (19 Disclosures issued, 3 presented, all checks pass)."""
        if len(self.held.disclosed) != len(DISCLOSABLE):
            raise RuntimeError(f"govssi issued {len(self.held.disclosed)} Disclosures, expected {len(DISCLOSABLE)}")
        result = verify_sd_jwt_vc(self.presentation, self.issuer_key, self.policy, expected_vct=VCT, clock=self.clock)
        if result.key_binding is None or len(result.disclosed) != len(PRESENTED):
            raise RuntimeError("govssi presentation is not an SD-JWT+KB with three Disclosures")
        _check_claims(self.name, result.claims)


def _check_claims(impl: str, claims: dict[str, Any]) -> None:
    revealed = {name for name in PID_CLAIMS if name in claims}
    if revealed != set(PRESENTED_NAMES) or any(claims[n] != PID_CLAIMS[n] for n in PRESENTED_NAMES):
        raise RuntimeError(f"{impl} verification revealed {sorted(revealed)}, expected {sorted(PRESENTED_NAMES)}")


# --- the sd-jwt reference library ----------------------------------------------------------------------------------


def reference_version() -> str | None:
    """The installed ``sd-jwt`` version, or ``None`` when the reference library is not installed."""
    try:
        import sd_jwt  # noqa: F401
    except ImportError:
        return None
    return metadata.version("sd-jwt")


class ReferenceWorkload:
    """The same workload through the ``sd-jwt`` reference library (draft-era API, jwcrypto keys).

    Its issuer marks disclosable claims by wrapping the key in ``SDObj``; its holder selects with a dict of
    ``{claim: True}``; its verifier checks the issuer signature, digests, and for the KB-JWT its signature, ``typ``,
    ``aud``, ``nonce`` and ``sd_hash`` (it has no time checks, RFC-era strictness rules or ``vct`` checks).
    """

    name = "sd-jwt"

    def __init__(self, keys: BenchKeys, now: int | None = None) -> None:
        from jwcrypto.jwk import JWK  # type: ignore[import-untyped]
        from sd_jwt.common import SDObj
        from sd_jwt.holder import SDJWTHolder

        issued_at = int(time.time() if now is None else now)
        self.issuer_key = JWK(**keys.issuer.private_jwk())
        self.issuer_public = JWK(**keys.issuer.public_key.jwk)
        self.holder_key = JWK(**keys.holder.private_jwk())
        self.holder_public = JWK(**keys.holder.public_key.jwk)
        claims: dict[Any, Any] = {
            "vct": VCT,
            "iss": ISSUER,
            "iat": issued_at,
            "exp": issued_at + VALID_FOR,
            "status": STATUS,
        }
        for name, value in PID_CLAIMS.items():
            nested = {SDObj(member): v for member, v in value.items()} if name == "address" else value
            claims[SDObj(name)] = nested
        self.claims = claims
        self.disclose = dict.fromkeys(PRESENTED_NAMES, True)
        self.issued = self.issue()
        self.holder = SDJWTHolder(self.issued)
        self.presentation = self.present()

    def issue(self) -> str:
        from sd_jwt.issuer import SDJWTIssuer

        issuer = SDJWTIssuer(
            self.claims,
            self.issuer_key,
            holder_key=self.holder_public,
            sign_alg="ES256",
            extra_header_parameters={"typ": "dc+sd-jwt", "kid": "pid-issuer-1"},
        )
        result: str = issuer.sd_jwt_issuance
        return result

    def present(self) -> str:
        self.holder.create_presentation(
            self.disclose, nonce=NONCE, aud=AUDIENCE, holder_key=self.holder_key, sign_alg="ES256"
        )
        result: str = self.holder.sd_jwt_presentation
        return result

    def verify(self) -> dict[str, Any]:
        from sd_jwt.verifier import SDJWTVerifier

        verifier = SDJWTVerifier(
            self.presentation,
            lambda _iss, _header: self.issuer_public,
            expected_aud=AUDIENCE,
            expected_nonce=NONCE,
        )
        claims: dict[str, Any] = verifier.get_verified_payload()
        return claims

    def check(self) -> None:
        if self.issued.count("~") != len(DISCLOSABLE) + 1:
            raise RuntimeError("sd-jwt did not issue the expected number of Disclosures")
        if self.presentation.count("~") != len(PRESENTED) + 1:
            raise RuntimeError("sd-jwt presentation does not carry three Disclosures and a KB-JWT")
        _check_claims(self.name, self.verify())


# --- the ES256 ceiling ---------------------------------------------------------------------------------------------


class Es256Limit:
    """The two ECDSA P-256 verifications of one presentation, with ``cryptography`` directly (DER prepared)."""

    name = "cryptography"

    def __init__(self, keys: BenchKeys, presentation: str) -> None:
        issuer_jwt, *_, kb_jwt = presentation.split("~")
        self.checks = [
            self._prepare(keys.issuer.public_key, issuer_jwt),
            self._prepare(keys.holder.public_key, kb_jwt),
        ]
        self.algorithm = ec.ECDSA(hashes.SHA256())

    @staticmethod
    def _prepare(key: PublicKey, jws: str) -> tuple[ec.EllipticCurvePublicKey, bytes, bytes]:
        protected, payload, signature = jws.split(".")
        raw = b64url_decode(signature)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public = key.key
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise RuntimeError("ES256 key expected")
        return public, der, f"{protected}.{payload}".encode("ascii")

    def verify_two(self) -> None:
        for public, der, signing_input in self.checks:
            public.verify(der, signing_input, self.algorithm)


# --- a new holder each time ---------------------------------------------------------------------------------------

#: More holders than govssi's imported-JWK cache keeps (256, emptied when full): verifying their presentations in turn,
#: every ``cnf.jwk`` is imported anew, as by a verifier that sees each holder once.
NEW_HOLDERS = 300


class NewHolders:
    """One credential and presentation per holder (each with its own key), verified in turn by both libraries."""

    def __init__(self, keys: BenchKeys, count: int = NEW_HOLDERS, *, reference: bool = True) -> None:
        holders = [BenchKeys(keys.issuer, PrivateKey.generate("ES256")) for _ in range(count)]
        self.count = count
        self._ours = itertools.cycle([OursWorkload(k).verify for k in holders])
        self._ref = itertools.cycle([ReferenceWorkload(k).verify for k in holders]) if reference else None

    def ours(self) -> dict[str, Any]:
        return next(self._ours)()

    def ref(self) -> dict[str, Any]:
        if self._ref is None:
            raise RuntimeError("built without the reference library")
        return next(self._ref)()


# --- the run -------------------------------------------------------------------------------------------------------


def pin_to_one_cpu(cpu: int | None = None) -> int | None:
    """Pin this process to one CPU (the last one allowed unless ``cpu`` is given); ``None`` where unsupported."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    chosen = allowed[-1] if cpu is None else cpu
    os.sched_setaffinity(0, {chosen})
    return chosen


def environment(cpu: int | None) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "cryptography": metadata.version("cryptography"),
        "sd_jwt": reference_version(),
        "cpu": cpu,
        "threads": threading.active_count(),
        # which of govssi's SD-JWT/JOSE modules run compiled (ssi/_compiled.py): "compiled" or "python (<why>)"
        "govssi_modules": compiled_status(),
        "cython": _version_or_none("Cython"),
    }


def _version_or_none(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def modules_line(modules: dict[str, str], cython: str | None) -> str:
    """One line saying how the govssi side ran: the figures of a compiled and a Python run are not comparable."""
    python = {name: how for name, how in modules.items() if how != "compiled"}
    if not python:
        return f"govssi SD-JWT/JOSE modules: all {len(modules)} compiled (Cython {cython or '?'}; ssi/_compiled.py)"
    reasons = sorted(set(python.values()))
    return (
        f"govssi SD-JWT/JOSE modules: {len(modules) - len(python)} of {len(modules)} compiled; "
        f"{len(python)} run as Python source: {', '.join(reasons)}"
    )


def run_benchmark(
    *,
    seconds: float = 2.0,
    iterations: int | None = None,
    reference: bool = True,
    keys: BenchKeys | None = None,
    slice_seconds: float = 0.02,
    new_holders: int = NEW_HOLDERS,
) -> dict[str, Any]:
    """Measure every operation of both libraries and the ES256 limit, and verify with a new holder each time
    (``new_holders`` presentations in turn; 0 skips it); return the results as plain data."""
    keys = keys or BenchKeys.generate()
    ours = OursWorkload(keys)
    ours.check()
    ref: ReferenceWorkload | None = None
    if reference and reference_version() is not None:
        ref = ReferenceWorkload(keys)
        ref.check()
    limit = Es256Limit(keys, ours.presentation)
    limit.verify_two()

    results: dict[str, dict[str, Measurement]] = {ours.name: {}, **({ref.name: {}} if ref else {})}
    two: Measurement | None = None
    for op_name in OPERATIONS:
        # what is compared runs interleaved, under the same background load (see the module docstring)
        ops = [getattr(ours, op_name), *([getattr(ref, op_name)] if ref is not None else [])]
        if op_name == "verify":
            ops.append(limit.verify_two)
        measured = measure_interleaved(ops, seconds=seconds, iterations=iterations, slice_seconds=slice_seconds)
        results[ours.name][op_name] = measured[0]
        if ref is not None:
            results[ref.name][op_name] = measured[1]
        if op_name == "verify":
            two = measured[-1]
    assert two is not None
    raw_es256 = 2 * two.ops_per_s
    out: dict[str, Any] = {
        "interleave_slice_s": slice_seconds,
        "workload": {
            "claims": len(PID_CLAIMS),
            "disclosable": len(DISCLOSABLE),
            "presented": list(PRESENTED_NAMES),
            "algorithm": "ES256",
            "issued_chars": len(ours.issued),
            "presentation_chars": len(ours.presentation),
        },
        "results": {impl: {op: asdict(m) for op, m in ops.items()} for impl, ops in results.items()},
        "es256": {
            "raw_verify_ops_per_s": raw_es256,
            "two_verifications": asdict(two),
            "verify_limit_ops_per_s": raw_es256 / 2,
            "verify_share_of_limit": results[ours.name]["verify"].ops_per_s / (raw_es256 / 2),
            # the same from medians: steadier when other processes preempt the benchmark now and then
            "verify_share_of_limit_p50": two.p50_us / results[ours.name]["verify"].p50_us,
            # and from CPU time (preemption not counted)
            "verify_share_of_limit_cpu": results[ours.name]["verify"].cpu_ops_per_s / two.cpu_ops_per_s,
        },
    }
    if ref is not None:
        ratios = {op: results[ours.name][op].ops_per_s / results[ref.name][op].ops_per_s for op in OPERATIONS}
        out["ratios"] = ratios
        out["ratios_p50"] = {op: results[ref.name][op].p50_us / results[ours.name][op].p50_us for op in OPERATIONS}
        out["ratios_cpu"] = {
            op: results[ours.name][op].cpu_ops_per_s / results[ref.name][op].cpu_ops_per_s for op in OPERATIONS
        }
        out["targets"] = {op: {"target": t, "met": ratios[op] >= t} for op, t in TARGETS.items()}
    if new_holders > 0:
        many = NewHolders(keys, new_holders, reference=ref is not None)
        measured = measure_interleaved(
            [many.ours, *([many.ref] if ref is not None else [])],
            seconds=seconds,
            iterations=iterations,
            slice_seconds=slice_seconds,
        )
        fresh: dict[str, Any] = {"holders": new_holders, ours.name: asdict(measured[0])}
        fresh["share_of_limit_cpu"] = measured[0].cpu_ops_per_s / two.cpu_ops_per_s
        if ref is not None:
            fresh[ref.name] = asdict(measured[1])
            fresh["ratio"] = measured[0].ops_per_s / measured[1].ops_per_s
            fresh["ratio_p50"] = measured[1].p50_us / measured[0].p50_us
            fresh["ratio_cpu"] = measured[0].cpu_ops_per_s / measured[1].cpu_ops_per_s
        out["verify_new_holders"] = fresh
    out["targets_stretch"] = {
        "verify_share_of_limit": {
            "target": STRETCH_LIMIT_SHARE,
            "met": out["es256"]["verify_share_of_limit"] >= STRETCH_LIMIT_SHARE,
        }
    }
    return out


def format_table(report: dict[str, Any]) -> str:
    env, work = report["environment"], report["workload"]
    lines = [
        f"SD-JWT VC benchmark: {work['claims']}-claim PID, {work['disclosable']} Disclosures, ES256; "
        f"presenting {', '.join(work['presented'])} with a KB-JWT",
        f"Python {env['python']}, cryptography {env['cryptography']}, sd-jwt {env['sd_jwt'] or '(not installed)'}; "
        f"CPU {env['cpu'] if env['cpu'] is not None else 'not pinned'}, {env['threads']} thread(s), "
        f"{report['seconds']} s per measurement"
        + (f", interleaved in {report['interleave_slice_s']} s turns" if "interleave_slice_s" in report else ""),
        modules_line(env["govssi_modules"], env["cython"]),
        "",
        f"{'operation':<10} {'implementation':<26} {'ops/s':>10} {'mean µs':>10} {'p50 µs':>10} {'p99 µs':>10} "
        f"{'n':>7} {'ops/CPU-s':>10}",
    ]

    def row(op: str, impl: str, m: dict[str, Any]) -> str:
        return (
            f"{op:<10} {impl:<26} {m['ops_per_s']:>10.1f} {m['mean_us']:>10.1f} {m['p50_us']:>10.1f} "
            f"{m['p99_us']:>10.1f} {m['iterations']:>7} {m['cpu_ops_per_s']:>10.1f}"
        )

    for op in OPERATIONS:
        for impl, ops in report["results"].items():
            lines.append(row(op, impl, ops[op]))
    es = report["es256"]
    lines.append(row("verify", "limit: 2× ES256 (raw)", es["two_verifications"]))
    lines.append("")
    lines.append(f"raw ES256 verify (cryptography): {es['raw_verify_ops_per_s']:.0f}/s")
    if "ratios" in report:
        parts = []
        for op in OPERATIONS:
            ratio = report["ratios"][op]
            target = report["targets"].get(op)
            mark = "" if target is None else f" (target ≥ {target['target']}×: {'met' if target['met'] else 'NOT met'})"
            parts.append(
                f"{op} {ratio:.2f}× (p50 {report['ratios_p50'][op]:.2f}×, CPU {report['ratios_cpu'][op]:.2f}×){mark}"
            )
        lines.append("govssi / sd-jwt, ops/s: " + "; ".join(parts))
    stretch = report["targets_stretch"]["verify_share_of_limit"]
    lines.append(
        f"govssi verify = {100 * es['verify_share_of_limit']:.1f}% (p50 {100 * es['verify_share_of_limit_p50']:.1f}%, "
        f"CPU {100 * es['verify_share_of_limit_cpu']:.1f}%) "
        f"of the two-ES256-verifications limit ({es['verify_limit_ops_per_s']:.0f}/s; "
        f"stretch ≥ {100 * stretch['target']:.0f}%: "
        f"{'met' if stretch['met'] else 'not met'})"
    )
    fresh = report.get("verify_new_holders")
    if fresh is not None:
        line = (
            f"verify with a new holder each time ({fresh['holders']} holders in turn, no cnf.jwk cache hit): govssi "
            f"{fresh['govssi']['ops_per_s']:.0f}/s ({fresh['govssi']['cpu_ops_per_s']:.0f}/CPU-s, "
            f"{100 * fresh['share_of_limit_cpu']:.1f}% of the limit by CPU)"
        )
        if "ratio" in fresh:
            line += (
                f", sd-jwt {fresh['sd-jwt']['ops_per_s']:.0f}/s: {fresh['ratio']:.2f}× "
                f"(p50 {fresh['ratio_p50']:.2f}×, CPU {fresh['ratio_cpu']:.2f}×)"
            )
        lines.append(line)
    return "\n".join(lines)


# --- profile -------------------------------------------------------------------------------------------------------


def _location(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name  # a builtin
    for marker in ("site-packages/", "/lib/python3"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    else:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        filename = os.path.relpath(filename, root) if filename.startswith(root) else filename
    return f"{filename}:{line}({name})"


def profile_operation(
    operation: str = "verify", count: int = 2000, top: int = 15, keys: BenchKeys | None = None
) -> dict[str, Any]:
    """cProfile over ``count`` govssi operations (verify by default); the top functions by cumulative and by own
    (total) time, in µs per operation."""
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {OPERATIONS}")
    work = OursWorkload(keys or BenchKeys.generate())
    work.check()
    op = getattr(work, operation)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        op()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    for func, (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": _location(func),
                "calls_per_op": calls / count,
                "tottime_us": tottime * 1e6 / count,
                "cumtime_us": cumtime * 1e6 / count,
            }
        )
    total = stats.total_tt * 1e6 / count  # type: ignore[attr-defined]
    return {
        "modules": compiled_status(),
        "operation": operation,
        "count": count,
        "profiled_us_per_op": total,
        "by_cumtime": sorted(rows, key=lambda r: -r["cumtime_us"])[:top],
        "by_tottime": sorted(rows, key=lambda r: -r["tottime_us"])[:top],
    }


def format_profile(profile: dict[str, Any]) -> str:
    lines = [
        f"cProfile over {profile['count']} govssi {profile['operation']} operations "
        f"({profile['profiled_us_per_op']:.0f} µs each under the profiler, which inflates call-heavy code); "
        f"times per operation",
    ]
    if any(how == "compiled" for how in profile.get("modules", {}).values()):
        lines.append(
            "compiled modules (ssi/_compiled.py) are invisible to cProfile: their time is their callers' own time. "
            "GOVSSI_PURE_PYTHON=1 profiles the Python source; for the build, sample natively: "
            "perf record -g .venv/bin/python -m bench.sdjwt_bench --repeat verify --count 40000"
        )
    for key, title in (("by_cumtime", "cumulative"), ("by_tottime", "total (own) time")):
        lines += ["", f"top by {title}:", f"{'calls':>7} {'tottime µs':>11} {'cumtime µs':>11}  function"]
        for r in profile[key]:
            lines.append(
                f"{r['calls_per_op']:>7.1f} {r['tottime_us']:>11.1f} {r['cumtime_us']:>11.1f}  {r['function']}"
            )
    return "\n".join(lines)


# --- repeat (for callgrind) ---------------------------------------------------------------------------------------

#: The issuance time of ``--repeat`` runs: fixed, so every run builds the same credential (but for salts and ECDSA
#: nonces, which are random by design and vary the counts by a few hundred instructions).
FIXED_NOW = 1_790_000_000
#: Operations run before the counted ones (imports, caches and the allocator settle).
REPEAT_WARMUP = 50


def repeat_operation(operation: str, count: int, *, reference: bool = False) -> None:
    """Run ``REPEAT_WARMUP + count`` operations of one kind (``limit``: the two raw ES256 verifications) with
    :meth:`BenchKeys.fixed` and nothing else, for ``valgrind --tool=callgrind``: the instructions of one operation
    are the difference between the totals of two runs with different ``count``, divided by the difference."""
    if operation not in (*OPERATIONS, "limit"):
        raise ValueError(f"operation must be one of {(*OPERATIONS, 'limit')}")
    keys = BenchKeys.fixed()
    work: OursWorkload | ReferenceWorkload = (
        ReferenceWorkload(keys, FIXED_NOW) if reference else OursWorkload(keys, FIXED_NOW)
    )
    op: Callable[[], object] = (
        Es256Limit(keys, work.presentation).verify_two if operation == "limit" else getattr(work, operation)
    )
    for _ in range(REPEAT_WARMUP + count):
        op()


# --- command line --------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sdjwt_bench", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each measurement (default 2)")
    parser.add_argument("--iterations", type=int, help="a fixed number of operations per measurement instead")
    parser.add_argument(
        "--slice", type=float, default=0.02, help="seconds per turn of the interleaved measurements (default 0.02)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--profile", action="store_true", help="profile govssi (verify) instead of benchmarking")
    parser.add_argument("--profile-op", choices=OPERATIONS, default="verify", help="operation to profile")
    parser.add_argument("--profile-count", type=int, default=2000, help="operations to profile (default 2000)")
    parser.add_argument("--top", type=int, default=15, help="functions listed per profile table (default 15)")
    parser.add_argument("--no-reference", action="store_true", help="skip the sd-jwt reference library")
    parser.add_argument(
        "--repeat",
        choices=(*OPERATIONS, "limit"),
        help="only run --count operations of this kind with fixed keys (for valgrind --tool=callgrind)",
    )
    parser.add_argument("--count", type=int, default=200, help="operations for --repeat (default 200)")
    parser.add_argument("--reference", action="store_true", help="--repeat the sd-jwt reference library's operation")
    parser.add_argument(
        "--holders",
        type=int,
        default=NEW_HOLDERS,
        help=f"holders verified in turn for 'verify with a new holder each time' (default {NEW_HOLDERS}; 0 skips it)",
    )
    parser.add_argument("--cpu", type=int, help="CPU to pin to (default: the last allowed one)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.slice <= 0 or (args.iterations is not None and args.iterations < 1):
        parser.error("--seconds, --slice and --iterations must be positive")
    if args.holders < 0:
        parser.error("--holders must not be negative")

    if args.count < 0:
        parser.error("--count must not be negative")
    if args.repeat is not None:
        if args.reference and args.repeat == "limit":
            parser.error("--reference has no limit operation")
        repeat_operation(args.repeat, args.count, reference=args.reference)
        return 0
    cpu = None if args.no_pin else pin_to_one_cpu(args.cpu)
    if args.profile:
        profile = profile_operation(args.profile_op, args.profile_count, args.top)
        print(json.dumps(profile, indent=2) if args.json else format_profile(profile))
        return 0
    report = run_benchmark(
        seconds=args.seconds,
        iterations=args.iterations,
        reference=not args.no_reference,
        slice_seconds=args.slice,
        new_holders=args.holders,
    )
    report = {"environment": environment(cpu), "seconds": args.seconds, "iterations": args.iterations, **report}
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
