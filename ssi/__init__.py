"""govssi's pure SSI library: keys and JOSE, DIDs, SD-JWT (RFC 9901) and SD-JWT VC, Token Status List.

No web framework, no database, no network I/O except through injected fetchers.
"""

from ssi import _compiled

# The SD-JWT/JOSE hot path may be compiled (setup.py); load a build only if it was made from the source beside it.
_compiled.install()
