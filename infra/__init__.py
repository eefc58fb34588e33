"""Plumbing shared by the HTTP services (``issuer/``, ``verifier/``): settings, SQL engines and migrations,
short-lived single-use protocol state (SQL or Redis), HTTP error mapping and limits, a loopback server for tests and
the demo. Not a service itself; ``ssi`` and ``ledger`` never import it, services never import each other.

- :mod:`infra.settings` — ``ServiceSettings`` (pydantic-settings, ``GOVSSI_`` env prefix)
- :mod:`infra.db` — ``create_engine``, ``sqlite_url``, ``upgrade`` (Alembic to head)
- :mod:`infra.ephemeral` — ``EphemeralStore`` with ``SqlEphemeralStore`` and ``RedisEphemeralStore``
- :mod:`infra.http` — OAuth-style error responses, request limits, security headers, ``/healthz`` and ``/metrics``
- :mod:`infra.server` — ``LoopbackServer``: uvicorn in a thread on 127.0.0.1
- :mod:`infra.audit` — ``AuditLog``: append-only, hash-chained audit log of admin actions and issuance (no claim values)
"""
