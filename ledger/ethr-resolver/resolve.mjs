// Resolve did:ethr DIDs with the pinned ethr-did-resolver and print {did: resolution result} as one JSON object.
//
//   node resolve.mjs RPC_URL REGISTRY CHAIN_ID NOW DID...
//
// NOW is the resolver's "now" in Unix seconds ("-" for the real time): ethr-did-resolver reads the time with
// `new Date()`, so comparing it with another resolver at the same instant needs that instant fixed.
import { Resolver } from 'did-resolver'
import { getResolver } from 'ethr-did-resolver'

const [rpcUrl, registry, chainId, now, ...dids] = process.argv.slice(2)
if (!rpcUrl || !registry || !chainId || !now || dids.length === 0) {
  process.stderr.write('usage: node resolve.mjs RPC_URL REGISTRY CHAIN_ID NOW DID...\n')
  process.exit(2)
}
if (now !== '-') {
  const fixed = Number(now) * 1000
  const RealDate = Date
  globalThis.Date = class extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(fixed)
      else super(...args)
    }
  }
}

const resolver = new Resolver(getResolver({ networks: [{ chainId: Number(chainId), rpcUrl, registry }] }))
const results = {}
for (const did of dids) {
  results[did] = await resolver.resolve(did)
}
process.stdout.write(JSON.stringify(results) + '\n', () => process.exit(0))
