"""govssi's pure SSI library: keys and JOSE, DIDs, SD-JWT (RFC 9901) and SD-JWT VC, Token Status List.

No web framework, no database, no network I/O except through injected fetchers.
"""
