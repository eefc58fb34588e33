"""The phone-sized web wallet (``govssi wallet serve``): :func:`create_wallet_app` gives the ASGI app."""

from wallet_sim.web.app import IDLE_SECONDS, create_wallet_app

__all__ = ["IDLE_SECONDS", "create_wallet_app"]
