"""The "Baseline Enhanced Example" of W3C vc-di-bbs (§"Test Vectors"): a windsurfing race credential, its base
proof and a derived proof, as the specification prints them. Spec examples are facts; they are reproduced here as test
data (values copied from the specification's examples, nothing else)."""

# ruff: noqa: E501 (values are copied as the specification prints them)

from __future__ import annotations

from typing import Any

WIND_DOCUMENT: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        {"@vocab": "https://windsurf.grotto-networking.com/selective#"},
    ],
    "type": ["VerifiableCredential"],
    "issuer": "https://vc.example/windsurf/racecommittee",
    "credentialSubject": {
        "sailNumber": "Earth101",
        "sails": [
            {"size": 5.5, "sailName": "Kihei", "year": 2023},
            {"size": 6.1, "sailName": "Lahaina", "year": 2023},
            {"size": 7.0, "sailName": "Lahaina", "year": 2020},
            {"size": 7.8, "sailName": "Lahaina", "year": 2023},
        ],
        "boards": [
            {"boardName": "CompFoil170", "brand": "Wailea", "year": 2022},
            {"boardName": "Kanaha Custom", "brand": "Wailea", "year": 2019},
        ],
    },
}

MANDATORY_POINTERS: list[str] = [
    "/issuer",
    "/credentialSubject/sailNumber",
    "/credentialSubject/sails/1",
    "/credentialSubject/boards/0/year",
    "/credentialSubject/sails/2",
]

SELECTIVE_POINTERS: list[str] = ["/credentialSubject/boards/0", "/credentialSubject/boards/1"]

PUBLIC_KEY = bytes.fromhex(
    "a4ef1afa3da575496f122b9b78b8c24761531a8a093206ae7c45b80759c168ba4f7a260f9c3367b6c019b4677841104b10665edbe70ba3ebe7d9cfbffbf71eb016f70abfbb163317f372697dc63efd21fc55764f63926a8f02eaea325a2a888f"
)
SECRET_KEY = bytes.fromhex("66d36e118832af4c5e28b2dfe1b9577857e57b042a33e06bdea37b811ed09ee0")
HMAC_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF")

CREATED = "2023-08-15T23:36:38Z"
VERIFICATION_METHOD = "did:key:zUC7DerdEmfZ8f4pFajXgGwJoMkV1ofMTmEG5UoNvnWiPiLuGKNeqgRpLH2TV4Xe5mJ2cXV76gRN7LFQwapF1VFu6x2yrr5ci1mXqC1WNUrnHnLgvfZfMH7h6xP6qsf9EKRQrPQ#zUC7DerdEmfZ8f4pFajXgGwJoMkV1ofMTmEG5UoNvnWiPiLuGKNeqgRpLH2TV4Xe5mJ2cXV76gRN7LFQwapF1VFu6x2yrr5ci1mXqC1WNUrnHnLgvfZfMH7h6xP6qsf9EKRQrPQ"

CANONICAL_NQUADS: list[str] = [
    '_:c14n0 <https://windsurf.grotto-networking.com/selective#boardName> "CompFoil170" .\n',
    '_:c14n0 <https://windsurf.grotto-networking.com/selective#brand> "Wailea" .\n',
    '_:c14n0 <https://windsurf.grotto-networking.com/selective#year> "2022"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    '_:c14n1 <https://windsurf.grotto-networking.com/selective#sailName> "Lahaina" .\n',
    '_:c14n1 <https://windsurf.grotto-networking.com/selective#size> "7.8E0"^^<http://www.w3.org/2001/XMLSchema#double> .\n',
    '_:c14n1 <https://windsurf.grotto-networking.com/selective#year> "2023"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    '_:c14n2 <https://windsurf.grotto-networking.com/selective#boardName> "Kanaha Custom" .\n',
    '_:c14n2 <https://windsurf.grotto-networking.com/selective#brand> "Wailea" .\n',
    '_:c14n2 <https://windsurf.grotto-networking.com/selective#year> "2019"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    '_:c14n3 <https://windsurf.grotto-networking.com/selective#sailName> "Lahaina" .\n',
    '_:c14n3 <https://windsurf.grotto-networking.com/selective#size> "7"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    '_:c14n3 <https://windsurf.grotto-networking.com/selective#year> "2020"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    '_:c14n4 <https://windsurf.grotto-networking.com/selective#sailName> "Kihei" .\n',
    '_:c14n4 <https://windsurf.grotto-networking.com/selective#size> "5.5E0"^^<http://www.w3.org/2001/XMLSchema#double> .\n',
    '_:c14n4 <https://windsurf.grotto-networking.com/selective#year> "2023"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    "_:c14n5 <https://windsurf.grotto-networking.com/selective#boards> _:c14n0 .\n",
    "_:c14n5 <https://windsurf.grotto-networking.com/selective#boards> _:c14n2 .\n",
    '_:c14n5 <https://windsurf.grotto-networking.com/selective#sailNumber> "Earth101" .\n',
    "_:c14n5 <https://windsurf.grotto-networking.com/selective#sails> _:c14n1 .\n",
    "_:c14n5 <https://windsurf.grotto-networking.com/selective#sails> _:c14n3 .\n",
    "_:c14n5 <https://windsurf.grotto-networking.com/selective#sails> _:c14n4 .\n",
    "_:c14n5 <https://windsurf.grotto-networking.com/selective#sails> _:c14n6 .\n",
    '_:c14n6 <https://windsurf.grotto-networking.com/selective#sailName> "Lahaina" .\n',
    '_:c14n6 <https://windsurf.grotto-networking.com/selective#size> "6.1E0"^^<http://www.w3.org/2001/XMLSchema#double> .\n',
    '_:c14n6 <https://windsurf.grotto-networking.com/selective#year> "2023"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    "_:c14n7 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://www.w3.org/2018/credentials#VerifiableCredential> .\n",
    "_:c14n7 <https://www.w3.org/2018/credentials#credentialSubject> _:c14n5 .\n",
    "_:c14n7 <https://www.w3.org/2018/credentials#issuer> <https://vc.example/windsurf/racecommittee> .\n",
]

HMAC_CANONICAL_NQUADS: list[str] = [
    "_:b0 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://www.w3.org/2018/credentials#VerifiableCredential> .\n",
    "_:b0 <https://www.w3.org/2018/credentials#credentialSubject> _:b3 .\n",
    "_:b0 <https://www.w3.org/2018/credentials#issuer> <https://vc.example/windsurf/racecommittee> .\n",
    '_:b1 <https://windsurf.grotto-networking.com/selective#sailName> "Lahaina" .\n',
    '_:b1 <https://windsurf.grotto-networking.com/selective#size> "7.8E0"^^<http://www.w3.org/2001/XMLSchema#double> .\n',
    '_:b1 <https://windsurf.grotto-networking.com/selective#year> "2023"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    '_:b2 <https://windsurf.grotto-networking.com/selective#boardName> "CompFoil170" .\n',
    '_:b2 <https://windsurf.grotto-networking.com/selective#brand> "Wailea" .\n',
    '_:b2 <https://windsurf.grotto-networking.com/selective#year> "2022"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    "_:b3 <https://windsurf.grotto-networking.com/selective#boards> _:b2 .\n",
    "_:b3 <https://windsurf.grotto-networking.com/selective#boards> _:b4 .\n",
    '_:b3 <https://windsurf.grotto-networking.com/selective#sailNumber> "Earth101" .\n',
    "_:b3 <https://windsurf.grotto-networking.com/selective#sails> _:b1 .\n",
    "_:b3 <https://windsurf.grotto-networking.com/selective#sails> _:b5 .\n",
    "_:b3 <https://windsurf.grotto-networking.com/selective#sails> _:b6 .\n",
    "_:b3 <https://windsurf.grotto-networking.com/selective#sails> _:b7 .\n",
    '_:b4 <https://windsurf.grotto-networking.com/selective#boardName> "Kanaha Custom" .\n',
    '_:b4 <https://windsurf.grotto-networking.com/selective#brand> "Wailea" .\n',
    '_:b4 <https://windsurf.grotto-networking.com/selective#year> "2019"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    '_:b5 <https://windsurf.grotto-networking.com/selective#sailName> "Kihei" .\n',
    '_:b5 <https://windsurf.grotto-networking.com/selective#size> "5.5E0"^^<http://www.w3.org/2001/XMLSchema#double> .\n',
    '_:b5 <https://windsurf.grotto-networking.com/selective#year> "2023"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    '_:b6 <https://windsurf.grotto-networking.com/selective#sailName> "Lahaina" .\n',
    '_:b6 <https://windsurf.grotto-networking.com/selective#size> "6.1E0"^^<http://www.w3.org/2001/XMLSchema#double> .\n',
    '_:b6 <https://windsurf.grotto-networking.com/selective#year> "2023"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    '_:b7 <https://windsurf.grotto-networking.com/selective#sailName> "Lahaina" .\n',
    '_:b7 <https://windsurf.grotto-networking.com/selective#size> "7"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    '_:b7 <https://windsurf.grotto-networking.com/selective#year> "2020"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
]

PROOF_HASH = bytes.fromhex("3a5bbf25d34d90b18c35cd2357be6a6f42301e94fc9e52f77e93b773c5614bdf")
MANDATORY_HASH = bytes.fromhex("555de05f898817e31301bac187d0c3ff2b03e2cbdb4adb4d568c17de961f9a18")

BASE_PROOF_VALUE = "u2V0ChVhQgzH1WtRY_lwyJCCyy4BvmiDqayuKKdUXEAJtcazl2ggAZLSIgY78daQ5UlvQMUUIIqajMtp4GSbhk2C5AWZDESTvzz0GD7x1DGEixxTAf3FYQDpbvyXTTZCxjDXNI1e-am9CMB6U_J5S936Tt3PFYUvfVV3gX4mIF-MTAbrBh9DD_ysD4svbSttNVowX3pYfmhhYYKTvGvo9pXVJbxIrm3i4wkdhUxqKCTIGrnxFuAdZwWi6T3omD5wzZ7bAGbRneEEQSxBmXtvnC6Pr59nPv_v3HrAW9wq_uxYzF_NyaX3GPv0h_FV2T2OSao8C6uoyWiqIj1ggABEiM0RVZneImaq7zN3u_wARIjNEVWZ3iJmqu8zd7v-FZy9pc3N1ZXJ4HS9jcmVkZW50aWFsU3ViamVjdC9zYWlsTnVtYmVyeBovY3JlZGVudGlhbFN1YmplY3Qvc2FpbHMvMXggL2NyZWRlbnRpYWxTdWJqZWN0L2JvYXJkcy8wL3llYXJ4Gi9jcmVkZW50aWFsU3ViamVjdC9zYWlscy8y"

PRESENTATION_HEADER = bytes.fromhex("113377aa")

DERIVED_LABEL_MAP: dict[str, str] = {
    "c14n0": "b2",
    "c14n1": "b4",
    "c14n2": "b3",
    "c14n3": "b7",
    "c14n4": "b6",
    "c14n5": "b0",
}

DERIVED_MANDATORY_INDEXES: list[int] = [0, 1, 2, 5, 6, 8, 9, 10, 14, 15, 16, 17, 18, 19]

DERIVED_SELECTIVE_INDEXES: list[int] = [3, 4, 5, 8, 9, 10]

DERIVED_DOCUMENT: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        {"@vocab": "https://windsurf.grotto-networking.com/selective#"},
    ],
    "type": ["VerifiableCredential"],
    "issuer": "https://vc.example/windsurf/racecommittee",
    "credentialSubject": {
        "sailNumber": "Earth101",
        "sails": [{"size": 6.1, "sailName": "Lahaina", "year": 2023}, {"size": 7, "sailName": "Lahaina", "year": 2020}],
        "boards": [
            {"year": 2022, "boardName": "CompFoil170", "brand": "Wailea"},
            {"boardName": "Kanaha Custom", "brand": "Wailea", "year": 2019},
        ],
    },
    "proof": {
        "type": "DataIntegrityProof",
        "cryptosuite": "bbs-2023",
        "created": "2023-08-15T23:36:38Z",
        "verificationMethod": "did:key:zUC7DerdEmfZ8f4pFajXgGwJoMkV1ofMTmEG5UoNvnWiPiLuGKNeqgRpLH2TV4Xe5mJ2cXV76gRN7LFQwapF1VFu6x2yrr5ci1mXqC1WNUrnHnLgvfZfMH7h6xP6qsf9EKRQrPQ#zUC7DerdEmfZ8f4pFajXgGwJoMkV1ofMTmEG5UoNvnWiPiLuGKNeqgRpLH2TV4Xe5mJ2cXV76gRN7LFQwapF1VFu6x2yrr5ci1mXqC1WNUrnHnLgvfZfMH7h6xP6qsf9EKRQrPQ",
        "proofPurpose": "assertionMethod",
        "proofValue": "u2V0DhVkCEJgxugaFJpT7ROtWzZ9mWBMw2Uk2caOtXtKGEMJVDFv9psrafLrzfprwyHOk7GgTv4V9U5VDvEW6E0n-MjO0RvbEYZDECqhFbZgxLtdTXDAD46d691Ltb37hYt9OOKJorYfMWhD_ONzGYzgQ4IrFqA2s_m597DymX7HauNGw2iK48mBAI4xwC4MQ3pLJwuwRiy3msMzccvvdMynM97xymCnoSS0KeW9uCRMYhPb90N-AKNXvjwXZqpgXhyWYxWQhUm2-XbQFhs0rg6RUZS9xY35XkXq9IvRbtn1I_OvfVGRnGuwuhF-H-HwdDrk02z-54jENSD1nEQtfZBJ4J4iOjNklnqePZoMYTKTnGEW4A9k6NVT0V3cW-Tm9NvJut0B3G9XDUkfvSrwrDnAXIabo7fYqY686Ay34lc3gbQsVyowadQckkRj50Jb8xaP5o57BqHDvYZ76avYf2Tt0uCskMX3vWfmB_I7CtWM9jrhxGxCFUre250hkhQP-zfUqwKduyokwY2EmLMR2e7uE6QTRp1I7wZ1nvFAceJSWFr72VHCwZ_gXWdmin5wndcCIikYXtXAY7OER5izYNltHg_vlO87IRr9yS93cGW_O0FxZw167c1rqmoPw5SM825-7j9LjsAfuf2nK_DfEmT3fx0fXeTtI6kghMVS0WSYMKdpt1B3pU5ozUoVa-jmLK6_UfQfXZaYAAgEEAgMDBwQGBQCOAAECBQYICQoODxAREhOGAwQFCAkKRBEzd6o",
    },
}
