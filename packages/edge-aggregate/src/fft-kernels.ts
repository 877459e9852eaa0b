// The complex-FFT passes and the split step behind RealFFT (fft.ts, whose header explains the
// algorithm): iterative decimation in time on preallocated (re, im) arrays.
const SQRT1_2 = Math.SQRT1_2;

// The first pass, fused with the bit-reversal permutation. Two monomorphic copies (Float64Array
// and Float32Array input) keep the element loads specialised.
export function firstPass64(x: Float64Array, re: Float64Array, im: Float64Array, rev: Uint32Array, m: number): void {
  if (m === 1) {
    re[0] = x[0] as number;
    im[0] = x[1] as number;
    return;
  }
  if (m === 2) {
    const ar = x[0] as number, ai = x[1] as number, br = x[2] as number, bi = x[3] as number;
    re[0] = ar + br;
    im[0] = ai + bi;
    re[1] = ar - br;
    im[1] = ai - bi;
    return;
  }
  if ((31 - Math.clz32(m)) % 2 === 1) {
    // Radix-8: two twiddle-free radix-4 butterflies, then the L = 8 radix-2 stage with W8^j.
    for (let p = 0; p < m; p += 8) {
      let i0 = rev[p] as number, i1 = rev[p + 1] as number, i2 = rev[p + 2] as number, i3 = rev[p + 3] as number;
      let x0r = x[i0] as number, x0i = x[i0 + 1] as number;
      let x1r = x[i1] as number, x1i = x[i1 + 1] as number;
      let x2r = x[i2] as number, x2i = x[i2 + 1] as number;
      let x3r = x[i3] as number, x3i = x[i3 + 1] as number;
      let s01r = x0r + x1r, s01i = x0i + x1i, d01r = x0r - x1r, d01i = x0i - x1i;
      let s23r = x2r + x3r, s23i = x2i + x3i, d23r = x2r - x3r, d23i = x2i - x3i;
      const a0r = s01r + s23r, a0i = s01i + s23i;
      const a1r = d01r + d23i, a1i = d01i - d23r;
      const a2r = s01r - s23r, a2i = s01i - s23i;
      const a3r = d01r - d23i, a3i = d01i + d23r;
      i0 = rev[p + 4] as number; i1 = rev[p + 5] as number; i2 = rev[p + 6] as number; i3 = rev[p + 7] as number;
      x0r = x[i0] as number; x0i = x[i0 + 1] as number;
      x1r = x[i1] as number; x1i = x[i1 + 1] as number;
      x2r = x[i2] as number; x2i = x[i2 + 1] as number;
      x3r = x[i3] as number; x3i = x[i3 + 1] as number;
      s01r = x0r + x1r; s01i = x0i + x1i; d01r = x0r - x1r; d01i = x0i - x1i;
      s23r = x2r + x3r; s23i = x2i + x3i; d23r = x2r - x3r; d23i = x2i - x3i;
      const b0r = s01r + s23r, b0i = s01i + s23i;
      const b1r = d01r + d23i, b1i = d01i - d23r;
      const b2r = s01r - s23r, b2i = s01i - s23i;
      const b3r = d01r - d23i, b3i = d01i + d23r;
      // W8·b1 = ((b1r + b1i) + i(b1i − b1r))/√2, W8²·b2 = b2i − i·b2r, W8³·b3 = ((b3i − b3r) − i(b3r + b3i))/√2
      const t1r = SQRT1_2 * (b1r + b1i), t1i = SQRT1_2 * (b1i - b1r);
      const t3r = SQRT1_2 * (b3i - b3r), t3i = -SQRT1_2 * (b3r + b3i);
      re[p] = a0r + b0r;
      im[p] = a0i + b0i;
      re[p + 4] = a0r - b0r;
      im[p + 4] = a0i - b0i;
      re[p + 1] = a1r + t1r;
      im[p + 1] = a1i + t1i;
      re[p + 5] = a1r - t1r;
      im[p + 5] = a1i - t1i;
      re[p + 2] = a2r + b2i;
      im[p + 2] = a2i - b2r;
      re[p + 6] = a2r - b2i;
      im[p + 6] = a2i + b2r;
      re[p + 3] = a3r + t3r;
      im[p + 3] = a3i + t3i;
      re[p + 7] = a3r - t3r;
      im[p + 7] = a3i - t3i;
    }
    return;
  }
  for (let p = 0; p < m; p += 4) {
    const i0 = rev[p] as number, i1 = rev[p + 1] as number, i2 = rev[p + 2] as number, i3 = rev[p + 3] as number;
    const x0r = x[i0] as number, x0i = x[i0 + 1] as number;
    const x1r = x[i1] as number, x1i = x[i1 + 1] as number;
    const x2r = x[i2] as number, x2i = x[i2 + 1] as number;
    const x3r = x[i3] as number, x3i = x[i3 + 1] as number;
    const s01r = x0r + x1r, s01i = x0i + x1i, d01r = x0r - x1r, d01i = x0i - x1i;
    const s23r = x2r + x3r, s23i = x2i + x3i, d23r = x2r - x3r, d23i = x2i - x3i;
    const o = 2 * p;
    re[p] = s01r + s23r;
    im[p] = s01i + s23i;
    re[p + 1] = d01r + d23i;
    im[p + 1] = d01i - d23r;
    re[p + 2] = s01r - s23r;
    im[p + 2] = s01i - s23i;
    re[p + 3] = d01r - d23i;
    im[p + 3] = d01i + d23r;
  }
}

export function firstPass32(x: Float32Array, re: Float64Array, im: Float64Array, rev: Uint32Array, m: number): void {
  if (m === 1) {
    re[0] = x[0] as number;
    im[0] = x[1] as number;
    return;
  }
  if (m === 2) {
    const ar = x[0] as number, ai = x[1] as number, br = x[2] as number, bi = x[3] as number;
    re[0] = ar + br;
    im[0] = ai + bi;
    re[1] = ar - br;
    im[1] = ai - bi;
    return;
  }
  if ((31 - Math.clz32(m)) % 2 === 1) {
    // Radix-8: two twiddle-free radix-4 butterflies, then the L = 8 radix-2 stage with W8^j.
    for (let p = 0; p < m; p += 8) {
      let i0 = rev[p] as number, i1 = rev[p + 1] as number, i2 = rev[p + 2] as number, i3 = rev[p + 3] as number;
      let x0r = x[i0] as number, x0i = x[i0 + 1] as number;
      let x1r = x[i1] as number, x1i = x[i1 + 1] as number;
      let x2r = x[i2] as number, x2i = x[i2 + 1] as number;
      let x3r = x[i3] as number, x3i = x[i3 + 1] as number;
      let s01r = x0r + x1r, s01i = x0i + x1i, d01r = x0r - x1r, d01i = x0i - x1i;
      let s23r = x2r + x3r, s23i = x2i + x3i, d23r = x2r - x3r, d23i = x2i - x3i;
      const a0r = s01r + s23r, a0i = s01i + s23i;
      const a1r = d01r + d23i, a1i = d01i - d23r;
      const a2r = s01r - s23r, a2i = s01i - s23i;
      const a3r = d01r - d23i, a3i = d01i + d23r;
      i0 = rev[p + 4] as number; i1 = rev[p + 5] as number; i2 = rev[p + 6] as number; i3 = rev[p + 7] as number;
      x0r = x[i0] as number; x0i = x[i0 + 1] as number;
      x1r = x[i1] as number; x1i = x[i1 + 1] as number;
      x2r = x[i2] as number; x2i = x[i2 + 1] as number;
      x3r = x[i3] as number; x3i = x[i3 + 1] as number;
      s01r = x0r + x1r; s01i = x0i + x1i; d01r = x0r - x1r; d01i = x0i - x1i;
      s23r = x2r + x3r; s23i = x2i + x3i; d23r = x2r - x3r; d23i = x2i - x3i;
      const b0r = s01r + s23r, b0i = s01i + s23i;
      const b1r = d01r + d23i, b1i = d01i - d23r;
      const b2r = s01r - s23r, b2i = s01i - s23i;
      const b3r = d01r - d23i, b3i = d01i + d23r;
      // W8·b1 = ((b1r + b1i) + i(b1i − b1r))/√2, W8²·b2 = b2i − i·b2r, W8³·b3 = ((b3i − b3r) − i(b3r + b3i))/√2
      const t1r = SQRT1_2 * (b1r + b1i), t1i = SQRT1_2 * (b1i - b1r);
      const t3r = SQRT1_2 * (b3i - b3r), t3i = -SQRT1_2 * (b3r + b3i);
      re[p] = a0r + b0r;
      im[p] = a0i + b0i;
      re[p + 4] = a0r - b0r;
      im[p + 4] = a0i - b0i;
      re[p + 1] = a1r + t1r;
      im[p + 1] = a1i + t1i;
      re[p + 5] = a1r - t1r;
      im[p + 5] = a1i - t1i;
      re[p + 2] = a2r + b2i;
      im[p + 2] = a2i - b2r;
      re[p + 6] = a2r - b2i;
      im[p + 6] = a2i + b2r;
      re[p + 3] = a3r + t3r;
      im[p + 3] = a3i + t3i;
      re[p + 7] = a3r - t3r;
      im[p + 7] = a3i - t3i;
    }
    return;
  }
  for (let p = 0; p < m; p += 4) {
    const i0 = rev[p] as number, i1 = rev[p + 1] as number, i2 = rev[p + 2] as number, i3 = rev[p + 3] as number;
    const x0r = x[i0] as number, x0i = x[i0 + 1] as number;
    const x1r = x[i1] as number, x1i = x[i1 + 1] as number;
    const x2r = x[i2] as number, x2i = x[i2 + 1] as number;
    const x3r = x[i3] as number, x3i = x[i3 + 1] as number;
    const s01r = x0r + x1r, s01i = x0i + x1i, d01r = x0r - x1r, d01i = x0i - x1i;
    const s23r = x2r + x3r, s23i = x2i + x3i, d23r = x2r - x3r, d23i = x2i - x3i;
    const o = 2 * p;
    re[p] = s01r + s23r;
    im[p] = s01i + s23i;
    re[p + 1] = d01r + d23i;
    im[p + 1] = d01i - d23r;
    re[p + 2] = s01r - s23r;
    im[p + 2] = s01i - s23i;
    re[p + 3] = d01r - d23i;
    im[p + 3] = d01i + d23r;
  }
}

// Radix-4 DIT passes over bit-reversed data. With a0…a3 = i+j, +Q, +2Q, +3Q (Q = L/4) the two
// fused radix-2 stages give, for u0 = x0, u1 = W^2j·x1, u2 = W^j·x2, u3 = W^3j·x3:
// y0 = (u0+u1) + (u2+u3), y2 = (u0+u1) − (u2+u3), y1 = (u0−u1) − i(u2−u3), y3 = (u0−u1) + i(u2−u3).
export function radix4Passes(re: Float64Array, im: Float64Array, tw: Float64Array, m: number): number {
  let t0 = 0;
  const n2 = m;
  for (let len = (31 - Math.clz32(m)) % 2 === 0 ? 16 : 32; len < m; len *= 4) {
    const q2 = len >> 2; // Q complex points
    const size2 = len;
    // j = 0: every twiddle is 1.
    for (let a0 = 0; a0 < n2; a0 += size2) {
      const a1 = a0 + q2;
      const a2 = a1 + q2;
      const a3 = a2 + q2;
      const u0r = re[a0] as number, u0i = im[a0] as number;
      const u1r = re[a1] as number, u1i = im[a1] as number;
      const u2r = re[a2] as number, u2i = im[a2] as number;
      const u3r = re[a3] as number, u3i = im[a3] as number;
      const s01r = u0r + u1r, s01i = u0i + u1i, d01r = u0r - u1r, d01i = u0i - u1i;
      const s23r = u2r + u3r, s23i = u2i + u3i, d23r = u2r - u3r, d23i = u2i - u3i;
      re[a0] = s01r + s23r;
      im[a0] = s01i + s23i;
      re[a2] = s01r - s23r;
      im[a2] = s01i - s23i;
      re[a1] = d01r + d23i;
      im[a1] = d01i - d23r;
      re[a3] = d01r - d23i;
      im[a3] = d01i + d23r;
    }
    for (let j = 1, t = t0 + 6; j < q2; j += 1, t += 6) {
      const w1r = tw[t] as number, w1i = tw[t + 1] as number;
      const w2r = tw[t + 2] as number, w2i = tw[t + 3] as number;
      const w3r = tw[t + 4] as number, w3i = tw[t + 5] as number;
      for (let a0 = j; a0 < n2; a0 += size2) {
        const a1 = a0 + q2;
        const a2 = a1 + q2;
        const a3 = a2 + q2;
        const x1r = re[a1] as number, x1i = im[a1] as number;
        const x2r = re[a2] as number, x2i = im[a2] as number;
        const x3r = re[a3] as number, x3i = im[a3] as number;
        const u0r = re[a0] as number, u0i = im[a0] as number;
        const u1r = w2r * x1r - w2i * x1i, u1i = w2r * x1i + w2i * x1r;
        const u2r = w1r * x2r - w1i * x2i, u2i = w1r * x2i + w1i * x2r;
        const u3r = w3r * x3r - w3i * x3i, u3i = w3r * x3i + w3i * x3r;
        const s01r = u0r + u1r, s01i = u0i + u1i, d01r = u0r - u1r, d01i = u0i - u1i;
        const s23r = u2r + u3r, s23i = u2i + u3i, d23r = u2r - u3r, d23i = u2i - u3i;
        re[a0] = s01r + s23r;
        im[a0] = s01i + s23i;
        re[a2] = s01r - s23r;
        im[a2] = s01i - s23i;
        re[a1] = d01r + d23i;
        im[a1] = d01i - d23r;
        re[a3] = d01r - d23i;
        im[a3] = d01i + d23r;
      }
    }
    t0 += 6 * q2;
  }
  return t0;
}

// The last radix-4 pass (one block of length M, Q = M/4) fused with the split step: butterflies
// j and Q − j together produce Z at j + rQ and Q − j + rQ, which hold exactly the four pairs
// (k, M − k) the split needs (k = j, j + Q, 2Q − j, Q − j), so Z never goes back to memory.
export function lastPassSplit(re: Float64Array, im: Float64Array, d: Float64Array, tw: Float64Array, t0: number, m: number, cos: Float64Array, sin: Float64Array): void {
  const q = m >> 2;
  {
    const u0r = re[0] as number, u0i = im[0] as number, u1r = re[q] as number, u1i = im[q] as number;
    const u2r = re[2 * q] as number, u2i = im[2 * q] as number, u3r = re[3 * q] as number, u3i = im[3 * q] as number;
    const s01r = u0r + u1r, s01i = u0i + u1i, d01r = u0r - u1r, d01i = u0i - u1i;
    const s23r = u2r + u3r, s23i = u2i + u3i, d23r = u2r - u3r, d23i = u2i - u3i;
    const z0r = s01r + s23r, z0i = s01i + s23i;
    d[0] = z0r + z0i;
    d[1] = 0;
    d[2 * m] = z0r - z0i;
    d[2 * m + 1] = 0;
    d[4 * q] = s01r - s23r; // X[M/2] = conj Z[M/2]
    d[4 * q + 1] = 0 - (s01i - s23i);
    pair(d, q, m, d01r + d23i, d01i - d23r, d01r - d23i, d01i + d23r, cos[q] as number, sin[q] as number);
  }
  const h = q >> 1;
  for (let j = 1; j < h; j++) {
    const jj = q - j;
    const At = t0 + 6 * j;
    const Ax1r = re[j + q] as number, Ax1i = im[j + q] as number;
    const Ax2r = re[j + 2 * q] as number, Ax2i = im[j + 2 * q] as number;
    const Ax3r = re[j + 3 * q] as number, Ax3i = im[j + 3 * q] as number;
    const Au0r = re[j] as number, Au0i = im[j] as number;
    const Aw1r = tw[At] as number, Aw1i = tw[At + 1] as number, Aw2r = tw[At + 2] as number, Aw2i = tw[At + 3] as number, Aw3r = tw[At + 4] as number, Aw3i = tw[At + 5] as number;
    const Au1r = Aw2r * Ax1r - Aw2i * Ax1i, Au1i = Aw2r * Ax1i + Aw2i * Ax1r;
    const Au2r = Aw1r * Ax2r - Aw1i * Ax2i, Au2i = Aw1r * Ax2i + Aw1i * Ax2r;
    const Au3r = Aw3r * Ax3r - Aw3i * Ax3i, Au3i = Aw3r * Ax3i + Aw3i * Ax3r;
    const As01r = Au0r + Au1r, As01i = Au0i + Au1i, Ad01r = Au0r - Au1r, Ad01i = Au0i - Au1i;
    const As23r = Au2r + Au3r, As23i = Au2i + Au3i, Ad23r = Au2r - Au3r, Ad23i = Au2i - Au3i;
    const A0r = As01r + As23r, A0i = As01i + As23i, A2r = As01r - As23r, A2i = As01i - As23i;
    const A1r = Ad01r + Ad23i, A1i = Ad01i - Ad23r, A3r = Ad01r - Ad23i, A3i = Ad01i + Ad23r;
    const Bt = t0 + 6 * jj;
    const Bx1r = re[jj + q] as number, Bx1i = im[jj + q] as number;
    const Bx2r = re[jj + 2 * q] as number, Bx2i = im[jj + 2 * q] as number;
    const Bx3r = re[jj + 3 * q] as number, Bx3i = im[jj + 3 * q] as number;
    const Bu0r = re[jj] as number, Bu0i = im[jj] as number;
    const Bw1r = tw[Bt] as number, Bw1i = tw[Bt + 1] as number, Bw2r = tw[Bt + 2] as number, Bw2i = tw[Bt + 3] as number, Bw3r = tw[Bt + 4] as number, Bw3i = tw[Bt + 5] as number;
    const Bu1r = Bw2r * Bx1r - Bw2i * Bx1i, Bu1i = Bw2r * Bx1i + Bw2i * Bx1r;
    const Bu2r = Bw1r * Bx2r - Bw1i * Bx2i, Bu2i = Bw1r * Bx2i + Bw1i * Bx2r;
    const Bu3r = Bw3r * Bx3r - Bw3i * Bx3i, Bu3i = Bw3r * Bx3i + Bw3i * Bx3r;
    const Bs01r = Bu0r + Bu1r, Bs01i = Bu0i + Bu1i, Bd01r = Bu0r - Bu1r, Bd01i = Bu0i - Bu1i;
    const Bs23r = Bu2r + Bu3r, Bs23i = Bu2i + Bu3i, Bd23r = Bu2r - Bu3r, Bd23i = Bu2i - Bu3i;
    const B0r = Bs01r + Bs23r, B0i = Bs01i + Bs23i, B2r = Bs01r - Bs23r, B2i = Bs01i - Bs23i;
    const B1r = Bd01r + Bd23i, B1i = Bd01i - Bd23r, B3r = Bd01r - Bd23i, B3i = Bd01i + Bd23r;
    pair(d, j, m, A0r, A0i, B3r, B3i, cos[j] as number, sin[j] as number);
    pair(d, j + q, m, A1r, A1i, B2r, B2i, cos[j + q] as number, sin[j + q] as number);
    pair(d, 2 * q - j, m, B1r, B1i, A2r, A2i, cos[2 * q - j] as number, sin[2 * q - j] as number);
    pair(d, jj, m, B0r, B0i, A3r, A3i, cos[jj] as number, sin[jj] as number);
  }
  {
    const At = t0 + 6 * h;
    const Ax1r = re[h + q] as number, Ax1i = im[h + q] as number;
    const Ax2r = re[h + 2 * q] as number, Ax2i = im[h + 2 * q] as number;
    const Ax3r = re[h + 3 * q] as number, Ax3i = im[h + 3 * q] as number;
    const Au0r = re[h] as number, Au0i = im[h] as number;
    const Aw1r = tw[At] as number, Aw1i = tw[At + 1] as number, Aw2r = tw[At + 2] as number, Aw2i = tw[At + 3] as number, Aw3r = tw[At + 4] as number, Aw3i = tw[At + 5] as number;
    const Au1r = Aw2r * Ax1r - Aw2i * Ax1i, Au1i = Aw2r * Ax1i + Aw2i * Ax1r;
    const Au2r = Aw1r * Ax2r - Aw1i * Ax2i, Au2i = Aw1r * Ax2i + Aw1i * Ax2r;
    const Au3r = Aw3r * Ax3r - Aw3i * Ax3i, Au3i = Aw3r * Ax3i + Aw3i * Ax3r;
    const As01r = Au0r + Au1r, As01i = Au0i + Au1i, Ad01r = Au0r - Au1r, Ad01i = Au0i - Au1i;
    const As23r = Au2r + Au3r, As23i = Au2i + Au3i, Ad23r = Au2r - Au3r, Ad23i = Au2i - Au3i;
    const A0r = As01r + As23r, A0i = As01i + As23i, A2r = As01r - As23r, A2i = As01i - As23i;
    const A1r = Ad01r + Ad23i, A1i = Ad01i - Ad23r, A3r = Ad01r - Ad23i, A3i = Ad01i + Ad23r;
    pair(d, h, m, A0r, A0i, A3r, A3i, cos[h] as number, sin[h] as number);
    pair(d, h + q, m, A1r, A1i, A2r, A2i, cos[h + q] as number, sin[h + q] as number);
  }
}

/** X[k] and X[M − k] from Z[k] = (zr, zi) and Z[M − k] = (yr, yi), k ≤ M/2. */
function pair(d: Float64Array, k: number, m: number, zr: number, zi: number, yr: number, yi: number, c: number, s: number): void {
  const er = 0.5 * (zr + yr), ei = 0.5 * (zi - yi);
  const or = 0.5 * (zi + yi), oi = 0.5 * (yr - zr);
  const p = c * or + s * oi;
  const q = c * oi - s * or;
  const a = 2 * k;
  const b = 2 * (m - k);
  d[a] = er + p;
  d[a + 1] = ei + q;
  d[b] = er - p;
  d[b + 1] = q - ei;
}

// Split step (when there is no radix-4 pass to fuse it with), in place: Z[k] and Z[M−k] give X[k] and X[M−k] (E[M−k] = conj E[k], O likewise,
// W_N^{M−k} = −conj W_N^k); X[M] lands in the two extra numbers at the end.
export function split(re: Float64Array, im: Float64Array, d: Float64Array, cos: Float64Array, sin: Float64Array, m: number): void {
  const r0 = re[0] as number;
  const i0 = im[0] as number;
  d[0] = r0 + i0;
  d[1] = 0;
  d[2 * m] = r0 - i0;
  d[2 * m + 1] = 0;
  if (m < 2) return;
  const h = m >> 1;
  for (let k = 1; k < h; k++) {
    const zr = re[k] as number, zi = im[k] as number, yr = re[m - k] as number, yi = im[m - k] as number;
    const er = 0.5 * (zr + yr), ei = 0.5 * (zi - yi);
    const or = 0.5 * (zi + yi), oi = 0.5 * (yr - zr);
    const c = cos[k] as number;
    const s = sin[k] as number;
    const p = c * or + s * oi;
    const q = c * oi - s * or;
    const a = 2 * k;
    const b = 2 * (m - k);
    d[a] = er + p;
    d[a + 1] = ei + q;
    d[b] = er - p;
    d[b + 1] = q - ei;
  }
  d[2 * h] = re[h] as number; // X[M/2] = conj Z[M/2]
  d[2 * h + 1] = 0 - (im[h] as number); // 0 − x, not −x: no −0 for a zero imaginary part
}

