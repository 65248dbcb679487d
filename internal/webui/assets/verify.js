// ExoChain verification in the browser (docs/EXOCHAIN.md): event hashes,
// RFC 8785 payloads, RFC 6962/9162 Merkle inclusion and the Ed25519
// signature of checkpoints through WebCrypto. ML-DSA-65 has no browser
// implementation here: the daemon checks that signature (chain.Verify).
import { shake256 } from './shake.js';

const enc = new TextEncoder();

// parseJSON parses API JSON keeping the 64-bit integers of events and
// checkpoints (ts exceeds 2^53) exact, as BigInt.
export function parseJSON(text) {
  return JSON.parse(text, function (k, v, ctx) {
    if ((k === 'ts' || k === 'seq' || k === 'size' || k === 'tree_size') && typeof v === 'number' && ctx && ctx.source &&
        this && ('prev_hash' in this || 'text' in this || 'hashes' in this)) {
      return BigInt(ctx.source);
    }
    return v;
  });
}

export function hex(b) { return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''); }
export function unhex(s) {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}
function unb64(s) { return Uint8Array.from(atob(s), (c) => c.charCodeAt(0)); }
function b64(b) { return btoa(String.fromCharCode(...b)); }
function cat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
function le(v, bytes) {
  const out = new Uint8Array(bytes);
  let x = BigInt.asUintN(8 * bytes, BigInt(v));
  for (let i = 0; i < bytes; i++) { out[i] = Number(x & 0xffn); x >>= 8n; }
  return out;
}

// jcs is RFC 8785: sorted members (UTF-16 order), ECMAScript numbers.
export function jcs(v) {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(jcs).join(',') + ']';
  return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + jcs(v[k])).join(',') + '}';
}

const ZERO = new Uint8Array(32);
const PREFIX = cat(enc.encode('weftos/exochain/v1'), new Uint8Array([0]));

// eventProblem recomputes an event's payload hash and hash; it returns
// the problem ("edited-payload", "edited-event") or "".
export function eventProblem(ev) {
  const ph = ev.payload === null || ev.payload === undefined ? ZERO : shake256(enc.encode(jcs(ev.payload)));
  if (hex(ph) !== ev.payload_hash) return 'edited-payload';
  const src = enc.encode(ev.source), kind = enc.encode(ev.kind);
  const h = shake256(cat(PREFIX, le(ev.seq, 8), le(ev.chain_id, 4), le(ev.ts, 8), unhex(ev.prev_hash),
    le(src.length, 4), src, le(kind.length, 4), kind, ph));
  return hex(h) === ev.hash ? '' : 'edited-event';
}

export const leaf = (eventHash) => shake256(cat(new Uint8Array([0]), eventHash));
const node = (l, r) => shake256(cat(new Uint8Array([1]), l, r));

// rootFromInclusion is RFC 9162 §2.1.3.2: the root a proof leads to, or null.
export function rootFromInclusion(seq, treeSize, eventHash, path) {
  let fn = BigInt(seq), sn = BigInt(treeSize) - 1n;
  if (fn > sn) return null;
  let r = leaf(eventHash);
  for (const p of path.map(unhex)) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = node(p, r);
      if ((fn & 1n) === 0n) { while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; } }
    } else {
      r = node(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

export function checkpointText(cp) {
  return `weftos-exochain/v1\n${cp.origin}\n${cp.size}\n${b64(unhex(cp.root))}\n${cp.ts}\n`;
}

// ed25519 verifies sig over msg with WebCrypto: true, false, or null when
// the browser has no Ed25519.
export async function ed25519(pubHex, sig, msg) {
  let key;
  try {
    key = await crypto.subtle.importKey('raw', unhex(pubHex), { name: 'Ed25519' }, false, ['verify']);
  } catch (e) {
    return null;
  }
  return crypto.subtle.verify({ name: 'Ed25519' }, key, sig, msg);
}

// checkCheckpoint checks a checkpoint's text and Ed25519 signature.
export async function checkCheckpoint(keys, cp) {
  if (cp.origin !== keys.origin) return 'checkpoint origin is not the chain\'s';
  if (checkpointText(cp) !== cp.text) return 'checkpoint fields disagree with its text';
  const ok = await ed25519(keys.ed25519_public_key, unb64(cp.sig_ed25519), enc.encode(cp.text));
  if (ok === null) return 'this browser has no Ed25519 in WebCrypto';
  return ok ? '' : 'bad Ed25519 signature';
}

// checkInclusion checks a /v1/chain/prove answer end to end: the event's
// own hash, its path to the checkpoint's root, the checkpoint's signature.
export async function checkInclusion(keys, p) {
  const steps = [];
  const ev = p.event;
  const prob = eventProblem(ev);
  steps.push({ what: 'event hash recomputed', ok: prob === '', detail: prob });
  const root = rootFromInclusion(ev.seq, p.proof.tree_size, unhex(ev.hash), p.proof.hashes);
  steps.push({ what: `Merkle path (${p.proof.hashes.length} hashes) leads to the checkpoint root`, ok: root !== null && hex(root) === p.checkpoint.root,
    detail: root ? hex(root) : 'path does not fit the tree size' });
  steps.push({ what: 'tree size equals checkpoint size', ok: BigInt(p.proof.tree_size) === BigInt(p.checkpoint.size), detail: '' });
  const cpProb = await checkCheckpoint(keys, p.checkpoint);
  steps.push({ what: 'checkpoint Ed25519 signature (WebCrypto)', ok: cpProb === '', detail: cpProb });
  return { ok: steps.every((s) => s.ok), steps };
}

// Verifier checks an export line by line: seq order, chain id, payload
// and event hashes, prev_hash links, and at each checkpoint the Merkle
// root over everything so far and its Ed25519 signature.
export class Verifier {
  constructor() { this.keys = null; this.next = 0n; this.prev = ZERO; this.range = []; this.checkpoints = 0; }
  root() {
    let r = null;
    for (let i = this.range.length - 1; i >= 0; i--) r = r === null ? this.range[i].h : node(this.range[i].h, r);
    return r;
  }
  // line checks one parsed line; it returns a problem {kind, seq, detail} or null.
  async line(o) {
    if (o.type === 'header') {
      this.keys = o;
      if (o.from) return { kind: 'partial', seq: 0, detail: 'verify all starts at seq 0' };
      return null;
    }
    if (o.type === 'event') {
      const seq = BigInt(o.seq);
      if (seq !== this.next) return { kind: seq < this.next ? 'reordered' : 'missing-events', seq: this.next, detail: `got seq ${seq}` };
      if (o.chain_id !== this.keys.chain_id) return { kind: 'wrong-chain', seq, detail: '' };
      const prob = eventProblem(o);
      if (prob) return { kind: prob, seq, detail: 'recomputed hash differs' };
      if (o.prev_hash !== hex(this.prev)) return { kind: 'broken-link', seq, detail: 'prev_hash is not the previous event\'s hash' };
      this.prev = unhex(o.hash);
      this.range.push({ n: 1, h: leaf(this.prev) });
      while (this.range.length > 1 && this.range[this.range.length - 1].n === this.range[this.range.length - 2].n) {
        const r = this.range.pop(), l = this.range.pop();
        this.range.push({ n: l.n * 2, h: node(l.h, r.h) });
      }
      this.next = seq + 1n;
      return null;
    }
    if (o.type === 'checkpoint') {
      if (BigInt(o.size) !== this.next) return { kind: 'bad-checkpoint', seq: this.next, detail: `checkpoint of size ${o.size} out of place` };
      if (hex(this.root()) !== o.root) return { kind: 'bad-checkpoint-root', seq: this.next - 1n, detail: 'root differs from the events' };
      const p = await checkCheckpoint(this.keys, o);
      if (p) return { kind: 'bad-signature', seq: this.next - 1n, detail: p };
      this.checkpoints++;
      return null;
    }
    return { kind: 'unknown-line', seq: this.next, detail: String(o.type) };
  }
}
