#!/usr/bin/env bash
# The main job until `govssi demo` exists: a guided tour of the govssi CLI on a made-up citizen's PID.
# Everything happens in a fresh temporary directory; nothing touches the network.
set -euo pipefail
GOVSSI="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/govssi"
work="$(mktemp -d -t govssi-tour.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

step "1. The PID provider (an authority) and the citizen's wallet each generate a key (ES256, P-256)"
"$GOVSSI" keys generate --alg ES256 --out pid-provider.jwk > pid-provider.json
"$GOVSSI" keys generate --alg ES256 --out wallet.jwk > wallet.json
issuer_did=$(json 'd["did_key"]' < pid-provider.json)
json 'd["public_jwk"]' < wallet.json | tr "'" '"' > wallet.pub.jwk
echo "PID provider:  $issuer_did"
echo "wallet key:    $(json 'd["kid"]' < wallet.json) (RFC 7638 thumbprint)"

step "2. Anyone can resolve the PID provider's did:key to its DID document"
"$GOVSSI" did resolve "$issuer_did" | head -12; echo "  ..."

step "3. The PID provider issues an SD-JWT VC (vct urn:eudi:pid:de:1) bound to the wallet key"
cat > pid-claims.json <<'CLAIMS'
{"iss": "https://pid.example.bund.de", "given_name": "ERIKA", "family_name": "MUSTERMANN",
 "birth_family_name": "GABLER", "birthdate": "1964-08-12",
 "place_of_birth": {"locality": "BERLIN"}, "nationalities": ["DE"],
 "address": {"street_address": "HEIDESTRASSE 17", "postal_code": "51147", "locality": "KÖLN", "country": "DE"},
 "age_equal_or_over": {"18": true, "21": true, "65": false}, "issuing_country": "DE", "issuing_authority": "DE"}
CLAIMS
"$GOVSSI" sdjwt issue --claims pid-claims.json --issuer-key pid-provider.jwk --holder-jwk wallet.pub.jwk \
  --vct urn:eudi:pid:de:1 \
  --sd given_name,family_name,birth_family_name,birthdate,place_of_birth,nationalities,address,address.street_address,address.postal_code,address.locality,age_equal_or_over,age_equal_or_over.18,age_equal_or_over.21,age_equal_or_over.65 \
  > pid.sdjwt
echo "issued: $(wc -c < pid.sdjwt) bytes, $(tr -cd '~' < pid.sdjwt | wc -c) '~' separators"
"$GOVSSI" sdjwt decode pid.sdjwt | python3 -c '
import json, sys
for x in json.load(sys.stdin)["disclosures"]:
    print("  disclosure fills", (x["fills"] or "?").ljust(28), "=", json.dumps(x["value"], ensure_ascii=False))'

step "4. A portal asks only: is the citizen 18 or older, and in which city do they live?"
"$GOVSSI" sdjwt present pid.sdjwt --holder-key wallet.jwk --disclose age_equal_or_over.18,address.locality \
  --aud https://buergerportal.musterstadt.de --nonce n-4711 > presentation.sdjwt
"$GOVSSI" sdjwt verify presentation.sdjwt --issuer-jwk pid-provider.jwk \
  --aud https://buergerportal.musterstadt.de --nonce n-4711 > verified.json
echo "the portal verified (issuer signature, every disclosure digest, key binding, aud, nonce) and sees:"
json 'json.dumps({k: v for k, v in d.items() if k not in ("cnf",)}, indent=2, ensure_ascii=False)' < verified.json

step "5. A replay at another portal is refused (wrong audience), with a clear error and exit code 1"
set +e
"$GOVSSI" sdjwt verify presentation.sdjwt --issuer-jwk pid-provider.jwk --aud https://evil.example --nonce n-4711
echo "exit code: $?"
set -e

step "Done. Next: 'govssi --help', and README.md for what works today."
