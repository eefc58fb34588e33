"""Published test vectors and examples for DIDs (facts from the specs, used as test data).

- did:key: w3c-ccg/did-method-key ``test-vectors/ed25519-x25519.json``, ``secp256k1.json``, ``nist-curves.json``
  and the example DID of §2 "The did:key Format";
- did:jwk: the two examples of the did:jwk method specification ("P-256", "X25519");
- did:web: the examples of the did:web method specification (DID → URL transformations, example documents).
"""

from __future__ import annotations

# -- did:key ------------------------------------------------------------------------------------------------------

#: did:key §2 example ("A simple example of a valid Ed25519 did:key DID").
DID_KEY_SPEC_EXAMPLE = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"

#: ed25519-x25519.json: DID → (seed = Ed25519 private key, publicKeyBase58 = raw public key).
DID_KEY_ED25519 = {
    "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp": (
        "0000000000000000000000000000000000000000000000000000000000000000",
        "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS",
    ),
    "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG": (
        "0000000000000000000000000000000000000000000000000000000000000001",
        "6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt",
    ),
    "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf": (
        "0000000000000000000000000000000000000000000000000000000000000002",
        "8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH",
    ),
    "did:key:z6MkvqoYXQfDDJRv8L4wKzxYeuKyVZBfi9Qo6Ro8MiLH3kDQ": (
        "0000000000000000000000000000000000000000000000000000000000000003",
        "HPYVwAQmskwT1qEEeRzhoomyfyupJGASQQtCXSNG8XS2",
    ),
    "did:key:z6MkwW6aqMnjgrhJXFUko3NnZPGzVpkNzhYK7yEhnsibmLwL": (
        "0000000000000000000000000000000000000000000000000000000000000004",
        "J3qYF7YJMKCqQke47UQwiHizgFUXapHxRxKmxbkar89x",
    ),
}

#: secp256k1.json: DID → (seed = private scalar (hex), publicKeyBase58 = compressed point, privateKeyBase58).
DID_KEY_SECP256K1 = {
    "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme": (
        "9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c",
        "23o6Sau8NxxzXcgSc3PLcNxrzrZpbLeBn1izfv3jbKhuv",
        "AjA4cyPUbbfW5wr6iZeRbJLhgH3qDt6q6LMkRw36KpxT",
    ),
    "did:key:zQ3shtxV1FrJfhqE1dvxYRcCknWNjHc3c5X1y3ZSoPDi2aur2": (
        "f0f4df55a2b3ff13051ea814a8f24ad00f2e469af73c363ac7e9fb999a9072ed",
        "291KzQhqCPC18PqH83XKhxv1HdqrdnxyS7dh15t2uNRzJ",
        "HDbR1D5W3CoNbUKYzUbHH2PRF1atshtVupXgXTQhNB9E",
    ),
    "did:key:zQ3shZc2QzApp2oymGvQbzP8eKheVshBHbU4ZYjeXqwSKEn6N": (
        "6b0b91287ae3348f8c2f2552d766f30e3604867e34adc37ccbb74a8e6b893e02",
        "oesQ92MLiAkt2pjBcJFbW7H4DvzKJv22cotjYbmC2JEe",
        "8CrrWVdzDnvaS7vS5dd2HetFSebwEN46XEFrNDdtWZSZ",
    ),
    "did:key:zQ3shadCps5JLAHcZiuX5YUtWHHL8ysBJqFLWvjZDKAWUBGzy": (
        "c0a6a7c560d37d7ba81ecee9543721ff48fea3e0fb827d42c1868226540fac15",
        "pg3p1vprqePgUoqfAQ1TTgxhL6zLYhHyzooR1pqLxo9F",
        "Dy2fnt8ba4NmbRBXas9bo1BtYgpYFr6ThpFhJbuA3PRn",
    ),
    "did:key:zQ3shptjE6JwdkeKN4fcpnYQY3m9Cet3NiHdAfpvSUZBFoKBj": (
        "175a232d440be1e0788f25488a73d9416c04b6f924bea6354bf05dd2f1a75133",
        "24waDFAUAS16UpZwQQTXVEAmm17rQRjadjuAeBDW8aqL1",
        "2aA6WgZnPiVMBX3LvKSTg3KaFKyzfKpvEacixB3yyTgv",
    ),
}

#: nist-curves.json, P-256 entries: DID → privateKeyJwk (x, y, d).
DID_KEY_P256 = {
    "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv": {
        "kty": "EC",
        "crv": "P-256",
        "x": "igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns",
        "y": "efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM",
        "d": "gPh-VvVS8MbvKQ9LSVVmfnxnKjHn4Tqj0bmbpehRlpc",
    },
    "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169": {
        "kty": "EC",
        "crv": "P-256",
        "x": "fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI",
        "y": "hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU",
        "d": "YjRs6vNvw4sYrzVVY8ipkEpDAD9PFqw1sUnvPRMA-WI",
    },
}

#: nist-curves.json, P-384 and P-521 entries: valid did:key DIDs of key types govssi does not support.
DID_KEY_UNSUPPORTED_NIST = [
    "did:key:z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhnLBn2Kaau9",
    "did:key:z82LkvCwHNreneWpsgPEbV3gu1C6NFJEBg4srfJ5gdxEsMGRJUz2sG9FE42shbn2xkZJh54",
    "did:key:z2J9gaYxrKVpdoG9A4gRnmpnRCcxU6agDtFVVBVdn1JedouoZN7SzcyREXXzWgt3gGiwpoHq7K68X4m32D8HgzG8wv3sY5j7",
    "did:key:z2J9gcGdb2nEyMDmzQYv2QZQcM1vXktvy1Pw4MduSWxGabLZ9XESSWLQgbuPhwnXN7zP7HpTzWqrMTzaY5zWe6hpzJ2jnw4f",
]

#: ed25519-x25519.json: the derived X25519 key-agreement key of the seed-0 entry (multicodec 0xec).
DID_KEY_X25519_MULTIBASE = "z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW"

# -- did:jwk ------------------------------------------------------------------------------------------------------

DID_JWK_P256 = (
    "did:jwk:eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImFjYklRaXVNczNpOF91c3pFakoydHBUdFJNNEVVM3l6OTFQSDZDZEgyVjAiLCJ5"
    "IjoiX0tjeUxqOXZXTXB0bm1LdG00NkdxRHo4d2Y3NEk1TEtncmwyR3pIM25TRSJ9"
)
DID_JWK_P256_JWK = {
    "crv": "P-256",
    "kty": "EC",
    "x": "acbIQiuMs3i8_uszEjJ2tpTtRM4EU3yz91PH6CdH2V0",
    "y": "_KcyLj9vWMptnmKtm46GqDz8wf74I5LKgrl2GzH3nSE",
}
DID_JWK_X25519 = (
    "did:jwk:eyJrdHkiOiJPS1AiLCJjcnYiOiJYMjU1MTkiLCJ1c2UiOiJlbmMiLCJ4IjoiM3A3YmZYdDl3YlRUVzJIQzdPUTFOei1EUThoYmVHZE5y"
    "ZngtRkctSUswOCJ9"
)
DID_JWK_X25519_JWK = {"kty": "OKP", "crv": "X25519", "use": "enc", "x": "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}
DID_JWK_CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"]

# -- did:web ------------------------------------------------------------------------------------------------------

#: did:web §"Create (Register)" / §"Method-specific identifier" examples.
DID_WEB_URLS = {
    "did:web:w3c-ccg.github.io": "https://w3c-ccg.github.io/.well-known/did.json",
    "did:web:w3c-ccg.github.io:user:alice": "https://w3c-ccg.github.io/user/alice/did.json",
    "did:web:example.com%3A3000:user:alice": "https://example.com:3000/user/alice/did.json",
}

#: did:web "Example did:web DID document using JSON Web Keys" (the spec's array has a trailing comma after the
#: last verification method, which is not JSON; it is left out here).
DID_WEB_EXAMPLE_JWK = {
    "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
    "id": "did:web:example.com",
    "verificationMethod": [
        {
            "id": "did:web:example.com#key-0",
            "type": "JsonWebKey2020",
            "controller": "did:web:example.com",
            "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": "0-e2i2_Ua1S5HbTYnVB0lj2Z2ytXu2-tYmDFf8f5NjU"},
        },
        {
            "id": "did:web:example.com#key-1",
            "type": "JsonWebKey2020",
            "controller": "did:web:example.com",
            "publicKeyJwk": {"kty": "OKP", "crv": "X25519", "x": "9GXjPGGvmRq9F6Ng5dQQ_s31mfhxrcNZxRGONrmH30k"},
        },
        {
            "id": "did:web:example.com#key-2",
            "type": "JsonWebKey2020",
            "controller": "did:web:example.com",
            "publicKeyJwk": {
                "kty": "EC",
                "crv": "P-256",
                "x": "38M1FDts7Oea7urmseiugGW7tWc3mLpJh6rKe7xINZ8",
                "y": "nDQW6XZ7b_u2Sy9slofYLlG03sOEoug3I0aAPQ0exs4",
            },
        },
    ],
    "authentication": ["did:web:example.com#key-0", "did:web:example.com#key-2"],
    "assertionMethod": ["did:web:example.com#key-0", "did:web:example.com#key-2"],
    "keyAgreement": ["did:web:example.com#key-1", "did:web:example.com#key-2"],
}

#: did:web "Example did:web DID document using an ethereum address".
DID_WEB_EXAMPLE_ETHEREUM = {
    "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/secp256k1recovery-2020/v2"],
    "id": "did:web:example.com",
    "verificationMethod": [
        {
            "id": "did:web:example.com#address-0",
            "type": "EcdsaSecp256k1RecoveryMethod2020",
            "controller": "did:web:example.com",
            "blockchainAccountId": "eip155:1:0x89a932207c485f85226d86f7cd486a89a24fcc12",
        }
    ],
    "authentication": ["did:web:example.com#address-0"],
}
