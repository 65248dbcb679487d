// SHAKE-256 (FIPS 202) with 32-bit lane halves: the hash of ExoChain
// (docs/EXOCHAIN.md). WebCrypto has no SHA-3, so the UI carries its own.
const RC = [
  0x00000001, 0x00000000, 0x00008082, 0x00000000, 0x0000808a, 0x80000000, 0x80008000, 0x80000000,
  0x0000808b, 0x00000000, 0x80000001, 0x00000000, 0x80008081, 0x80000000, 0x00008009, 0x80000000,
  0x0000008a, 0x00000000, 0x00000088, 0x00000000, 0x80008009, 0x00000000, 0x8000000a, 0x00000000,
  0x8000808b, 0x00000000, 0x0000008b, 0x80000000, 0x00008089, 0x80000000, 0x00008003, 0x80000000,
  0x00008002, 0x80000000, 0x00000080, 0x80000000, 0x0000800a, 0x00000000, 0x8000000a, 0x80000000,
  0x80008081, 0x80000000, 0x00008080, 0x80000000, 0x80000001, 0x00000000, 0x80008008, 0x80000000,
];
const ROT = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];

// keccakF permutes s: 25 lanes as (lo, hi) pairs.
function keccakF(s) {
  const c = new Uint32Array(10), b = new Uint32Array(50);
  for (let round = 0; round < 24; round++) {
    for (let x = 0; x < 5; x++) {
      c[2 * x] = s[2 * x] ^ s[2 * x + 10] ^ s[2 * x + 20] ^ s[2 * x + 30] ^ s[2 * x + 40];
      c[2 * x + 1] = s[2 * x + 1] ^ s[2 * x + 11] ^ s[2 * x + 21] ^ s[2 * x + 31] ^ s[2 * x + 41];
    }
    for (let x = 0; x < 5; x++) {
      const x1 = (x + 1) % 5, x4 = (x + 4) % 5;
      const lo = c[2 * x4] ^ ((c[2 * x1] << 1) | (c[2 * x1 + 1] >>> 31));
      const hi = c[2 * x4 + 1] ^ ((c[2 * x1 + 1] << 1) | (c[2 * x1] >>> 31));
      for (let y = 0; y < 25; y += 5) { s[2 * (y + x)] ^= lo; s[2 * (y + x) + 1] ^= hi; }
    }
    // rho and pi: b[y, 2x+3y] = rot(a[x, y], r[x, y])
    for (let x = 0; x < 5; x++) {
      for (let y = 0; y < 5; y++) {
        const i = x + 5 * y, j = y + 5 * ((2 * x + 3 * y) % 5);
        let lo = s[2 * i], hi = s[2 * i + 1];
        let r = ROT[i];
        if (r >= 32) { const t = lo; lo = hi; hi = t; r -= 32; }
        if (r > 0) { const l = (lo << r) | (hi >>> (32 - r)); hi = (hi << r) | (lo >>> (32 - r)); lo = l; }
        b[2 * j] = lo; b[2 * j + 1] = hi;
      }
    }
    for (let y = 0; y < 25; y += 5) {
      for (let x = 0; x < 5; x++) {
        const i = y + x, i1 = y + (x + 1) % 5, i2 = y + (x + 2) % 5;
        s[2 * i] = b[2 * i] ^ (~b[2 * i1] & b[2 * i2]);
        s[2 * i + 1] = b[2 * i + 1] ^ (~b[2 * i1 + 1] & b[2 * i2 + 1]);
      }
    }
    s[0] ^= RC[2 * round]; s[1] ^= RC[2 * round + 1];
  }
}

// shake256 returns outLen bytes of SHAKE-256 of data (a Uint8Array).
export function shake256(data, outLen = 32) {
  const rate = 136, s = new Uint32Array(50);
  const absorb = (blk) => {
    for (let i = 0; i < rate / 4; i++) {
      s[i] ^= blk[4 * i] | (blk[4 * i + 1] << 8) | (blk[4 * i + 2] << 16) | (blk[4 * i + 3] << 24);
    }
    keccakF(s);
  };
  let off = 0;
  for (; off + rate <= data.length; off += rate) absorb(data.subarray(off, off + rate));
  const last = new Uint8Array(rate);
  last.set(data.subarray(off));
  last[data.length - off] ^= 0x1f;
  last[rate - 1] ^= 0x80;
  absorb(last);
  const out = new Uint8Array(outLen);
  for (let o = 0; ; ) {
    for (let i = 0; i < rate && o < outLen; i++, o++) out[o] = (s[i >> 2] >>> (8 * (i & 3))) & 0xff;
    if (o >= outLen) return out;
    keccakF(s);
  }
}
