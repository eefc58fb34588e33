// Receive credentials from a govssi issuer with @openid4vc/openid4vci (an independent OpenID4VCI 1.0 client):
// pre-authorized code flow with tx_code, DPoP, nonce endpoint, jwt key proofs (one per holder key).
// Input (stdin, JSON): {"offer_uri", "tx_code", "holders": n, "client_id"}. Output (stdout, JSON):
// {"credentials": [...], "holder_jwks": [...], "token_type", "credential_configuration_id"}; errors: {"error": ...}.
import crypto from 'node:crypto'
import { clientAuthenticationNone } from '@openid4vc/oauth2'
import { Openid4vciClient, setGlobalConfig } from '@openid4vc/openid4vci'

// The issuer under test runs on http://127.0.0.1 (development setting); everything else is as in production.
setGlobalConfig({ allowInsecureUrls: true })

const input = JSON.parse(await new Promise((resolve) => {
  let text = ''
  process.stdin.on('data', (chunk) => { text += chunk })
  process.stdin.on('end', () => resolve(text))
}))

const keys = new Map() // public x coordinate -> private KeyObject
function newKey() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  keys.set(jwk.x, privateKey)
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
}

const b64url = (data) => Buffer.from(data).toString('base64url')

async function signJwt(signer, { header, payload }) {
  if (signer.method !== 'jwk') throw new Error(`signer method ${signer.method} not supported here`)
  const key = keys.get(signer.publicJwk.x)
  if (!key) throw new Error('no private key for that public key')
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`
  const signature = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
  return { jwt: `${input}.${b64url(signature)}`, signerJwk: signer.publicJwk }
}

const client = new Openid4vciClient({
  callbacks: {
    hash: (data, alg) => crypto.createHash(alg.replace('-', '').toLowerCase()).update(data).digest(),
    generateRandom: (bytes) => crypto.randomBytes(bytes),
    signJwt,
    clientAuthentication: clientAuthenticationNone({ clientId: input.client_id }),
    fetch,
  },
})

try {
  const credentialOffer = await client.resolveCredentialOffer(input.offer_uri)
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer)
  const dpopSigner = { method: 'jwk', alg: 'ES256', publicJwk: newKey() }
  const { accessTokenResponse, dpop } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer,
    issuerMetadata,
    txCode: input.tx_code ?? undefined,
    dpop: { signer: dpopSigner },
  })
  const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata })
  const credentialConfigurationId = credentialOffer.credential_configuration_ids[0]
  const holderJwks = []
  const proofs = []
  for (let i = 0; i < input.holders; i++) {
    const publicJwk = newKey()
    holderJwks.push(publicJwk)
    const { jwt } = await client.createCredentialRequestJwtProof({
      issuerMetadata,
      credentialConfigurationId,
      signer: { method: 'jwk', alg: 'ES256', publicJwk },
      nonce,
      clientId: input.client_id,
    })
    proofs.push(jwt)
  }
  const { credentialResponse } = await client.retrieveCredentials({
    issuerMetadata,
    accessToken: accessTokenResponse.access_token,
    credentialConfigurationId,
    proofs: { jwt: proofs },
    dpop: { ...dpop, signer: dpopSigner },
  })
  process.stdout.write(JSON.stringify({
    credentials: credentialResponse.credentials.map((c) => c.credential),
    holder_jwks: holderJwks,
    token_type: accessTokenResponse.token_type,
    credential_configuration_id: credentialConfigurationId,
  }))
} catch (error) {
  const details = error.response ? await error.response.text?.().catch(() => '') : ''
  process.stdout.write(JSON.stringify({ error: String(error), details: String(error.errorResponse ? JSON.stringify(error.errorResponse) : details ?? '') }))
  process.exitCode = 1
}
