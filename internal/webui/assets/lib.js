// Shared helpers: DOM building without innerHTML, the API client (session
// cookie plus the CSRF header on state-changing requests), JSON-lines
// streams and small renderers.
import { parseJSON } from './verify.js';

let csrf = '';
export function setCSRF(t) { csrf = t; }

// h builds an element: h('button', {type: 'button', onclick: f}, 'text', child…).
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of kids.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export class APIError extends Error {
  constructor(status, code, message) { super(`${code}: ${message}`); this.status = status; this.code = code; }
}

async function fail(res) {
  let code = 'http_' + res.status, msg = res.statusText;
  try { const b = await res.json(); code = b.error.code; msg = b.error.message; } catch (e) { /* not JSON */ }
  return new APIError(res.status, code, msg);
}

function init(method, body, signal) {
  const o = { method, headers: {}, credentials: 'same-origin', signal };
  if (method !== 'GET' && method !== 'HEAD') o.headers['X-Weave-Csrf'] = csrf;
  if (body !== undefined) { o.headers['Content-Type'] = 'application/json'; o.body = JSON.stringify(body); }
  return o;
}

// api calls the local API through the UI: api('GET', '/v1/status').
export async function api(method, path, body, signal) {
  const res = await fetch('/api' + path, init(method, body, signal));
  if (!res.ok) throw await fail(res);
  const text = await res.text();
  return text ? parseJSON(text) : null;
}

// raw returns the response text (metrics, exports).
export async function raw(path, signal) {
  const res = await fetch('/api' + path, init('GET', undefined, signal));
  if (!res.ok) throw await fail(res);
  return res.text();
}

// lines streams a JSON-lines answer, calling each(obj) per line.
export async function lines(method, path, body, signal, each) {
  const res = await fetch('/api' + path, init(method, body, signal));
  if (!res.ok) throw await fail(res);
  const rd = res.body.getReader(), dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await rd.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) await each(parseJSON(line));
    }
  }
  if (buf.trim()) await each(parseJSON(buf));
}

export async function session() {
  const res = await fetch('/session', { credentials: 'same-origin' });
  if (!res.ok) throw await fail(res);
  return res.json();
}

export function errBox(e) { return h('p', { class: 'err', role: 'alert' }, String(e && e.message ? e.message : e)); }

export function fmt(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
}

export function pretty(v) { return JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? x.toString() : x), 2); }

// table renders rows with the given columns: [{key, label, render?}].
export function table(rows, cols, opts = {}) {
  if (!cols.length) return h('p', { class: 'muted' }, opts.empty || 'Nothing here.');
  const body = h('tbody');
  for (const r of rows || []) {
    const tr = h('tr', {}, cols.map((c) => h('td', {}, c.render ? c.render(r) : fmt(r[c.key]))));
    body.append(tr);
  }
  if (!rows || rows.length === 0) body.append(h('tr', {}, h('td', { colspan: cols.length, class: 'muted' }, opts.empty || 'Nothing here.')));
  return h('table', { 'aria-label': opts.label || '' }, h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c.label ?? c.key)))), body);
}

// autoCols picks columns from the first rows' keys.
export function autoCols(rows, max = 7) {
  const keys = [];
  for (const r of (rows || []).slice(0, 5)) for (const k of Object.keys(r || {})) if (!keys.includes(k)) keys.push(k);
  return keys.slice(0, max).map((k) => ({ key: k, label: k.replace(/_/g, ' ') }));
}

export function card(label, value, extra) {
  return h('div', { class: 'card' }, h('div', { class: 'k' }, label), h('div', { class: 'v' }, value), extra || '');
}

// spark draws a sparkline of values.
export function spark(values, label) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'spark'); svg.setAttribute('viewBox', '0 0 100 40'); svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img'); svg.setAttribute('aria-label', label);
  const max = Math.max(1e-9, ...values), n = Math.max(1, values.length - 1);
  const pl = document.createElementNS(ns, 'polyline');
  pl.setAttribute('points', values.map((v, i) => `${(i * 100) / n},${38 - (v / max) * 36}`).join(' '));
  svg.append(pl);
  return svg;
}

export function when(t) {
  if (!t) return '';
  const d = typeof t === 'bigint' ? new Date(Number(t / 1000000n)) : new Date(t);
  return isNaN(d) ? String(t) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
