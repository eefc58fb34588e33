"""`govssi demo`: the whole trust triangle on localhost (chain, issuers, verifier with the demo portal, wallet)."""
