// The chain explorer: a virtual list over every event (only the visible
// page is fetched, so a million events scroll like ten), filters by kind
// and agent, event detail with its inclusion proof checked here in the
// browser against the signed checkpoint, and "verify all" with progress.
import { h, api, lines, errBox, table, pretty, when } from './lib.js';
import { checkInclusion, Verifier } from './verify.js';

const ROW = 28, PAGE = 100;

function agentOf(e) {
  const p = e.payload || {};
  return (p.request && p.request.agent) || p.agent || '';
}

function summary(e) {
  const p = e.payload || {};
  if (p.request && p.decision) return `${p.request.action} → ${p.decision.outcome}`;
  if (p.action) return String(p.action);
  return e.source;
}

export async function chainPage(main, signal, title) {
  const st = await api('GET', '/v1/chain/status', undefined, signal);
  let total = Number(st.length);
  const keysP = api('GET', '/v1/chain/keys', undefined, signal);
  const pages = new Map(); // page number → events (at most 40 pages kept)
  const detail = h('div', { id: 'event-detail' });
  const count = h('span', { id: 'chain-count', class: 'muted' });
  const kind = h('input', { id: 'f-kind', placeholder: 'e.g. governance.decision' }), agent = h('input', { id: 'f-agent', placeholder: 'agent name' });
  const follow = h('input', { type: 'checkbox', id: 'f-follow', checked: true });
  const view = h('div', { class: 'view', role: 'list', 'aria-label': 'Chain events' });
  view.style.position = 'sticky'; view.style.top = '0'; // CSSOM, allowed by the CSP
  const spacer = h('div');
  const scroller = h('div', { class: 'scroller', id: 'chain-scroller', tabindex: 0 }, view, spacer);
  const filtered = h('div', { id: 'chain-filtered' });
  let selected = -1;

  // The spacer gives the scrollbar its range: at most 3e7 px, so a chain of
  // any length fits (the row under the scroll position is computed).
  const size = () => { spacer.style.height = Math.max(0, Math.min(total * ROW, 3e7) - scroller.clientHeight) + 'px'; };
  const visible = () => Math.max(1, Math.floor(scroller.clientHeight / ROW));
  const first = () => {
    const max = scroller.scrollHeight - scroller.clientHeight;
    return max <= 0 ? 0 : Math.round((scroller.scrollTop / max) * Math.max(0, total - visible()));
  };
  const getPage = async (n) => {
    if (pages.has(n)) return pages.get(n);
    const evs = await api('GET', `/v1/chain/events?from=${n * PAGE}&n=${PAGE}`, undefined, signal);
    if (pages.size > 40) pages.delete(pages.keys().next().value);
    if ((evs || []).length === PAGE) pages.set(n, evs); // a full page never changes
    return evs || [];
  };
  let drawing = 0;
  const draw = async () => {
    const my = ++drawing;
    size();
    count.textContent = `${total} events`;
    const f = first(), n = Math.min(visible() + 1, total - f);
    const want = [];
    for (let p = Math.floor(f / PAGE); p <= Math.floor((f + n - 1) / PAGE) && n > 0; p++) want.push(p);
    const got = await Promise.all(want.map(getPage));
    if (my !== drawing) return;
    const evs = got.flat().filter((e) => Number(e.seq) >= f && Number(e.seq) < f + n);
    view.replaceChildren(...evs.map((e, i) => {
      const seq = Number(e.seq);
      const row = h('div', { class: 'row' + (seq === selected ? ' sel' : ''), role: 'listitem', tabindex: 0, 'data-seq': seq,
        onclick: () => open(seq), onkeydown: (ev) => { if (ev.key === 'Enter') open(seq); } },
      h('span', {}, '#' + seq), h('span', {}, e.kind), h('span', { class: 'c3' }, summary(e)), h('span', { class: 'c4 muted' }, when(e.ts).slice(11)));
      row.style.top = i * ROW + 'px';
      return row;
    }));
  };
  scroller.addEventListener('scroll', () => draw().catch(() => {}));

  const open = async (seq) => {
    selected = seq;
    draw().catch(() => {});
    try {
      const ev = await api('GET', `/v1/chain/events/${seq}`, undefined, signal);
      const result = h('div', { id: 'proof-result', role: 'status' });
      const check = async () => {
        result.replaceChildren(h('p', { class: 'muted' }, 'Checking…'));
        try {
          const [keys, proof] = await Promise.all([keysP, api('GET', `/v1/chain/prove/${seq}`, undefined, signal)]);
          const r = await checkInclusion(keys, proof);
          result.replaceChildren(h('p', { class: r.ok ? 'ok' : 'bad' }, r.ok ? `Included: event #${seq} is in the tree signed by checkpoint of size ${proof.checkpoint.size}.` : `Proof FAILED for event #${seq}.`),
            h('ul', {}, r.steps.map((s) => h('li', { class: s.ok ? 'ok' : 'bad' }, (s.ok ? '✓ ' : '✗ ') + s.what + (s.detail && !s.ok ? ': ' + s.detail : '')))),
            h('p', { class: 'muted' }, 'The ML-DSA-65 signature of the checkpoint is not checked in the browser (no browser implementation here); the daemon checks it (chain.Verify, weave chain verify).'));
        } catch (e) { result.replaceChildren(errBox(e)); }
      };
      detail.replaceChildren(h('h2', {}, `Event #${seq}`), h('p', {}, `${ev.kind} from ${ev.source} at ${when(ev.ts)}`),
        h('button', { type: 'button', id: 'check-proof', onclick: check }, 'Check inclusion proof in the browser'), result, h('pre', {}, pretty(ev)));
    } catch (e) { detail.replaceChildren(errBox(e)); }
  };

  const applyFilter = async (ev) => {
    if (ev) ev.preventDefault();
    if (!kind.value && !agent.value) { filtered.replaceChildren(); scroller.hidden = false; return draw(); }
    scroller.hidden = true;
    try {
      const evs = (await api('GET', `/v1/chain/events?n=500${kind.value ? '&kind=' + encodeURIComponent(kind.value) : ''}`, undefined, signal)) || [];
      const match = evs.filter((e) => !agent.value || agentOf(e) === agent.value).reverse();
      filtered.replaceChildren(h('p', { class: 'muted' }, `The newest ${evs.length} events${kind.value ? ' of kind ' + kind.value : ''}, ${match.length} matching.`),
        table(match, [{ key: 'seq', label: 'Seq', render: (e) => h('button', { type: 'button', onclick: () => open(Number(e.seq)) }, '#' + e.seq) },
          { key: 'kind', label: 'Kind' }, { key: 'a', label: 'Agent', render: agentOf }, { key: 's', label: 'Summary', render: summary }, { key: 'ts', label: 'Time', render: (e) => when(e.ts) }], { label: 'Matching events' }));
    } catch (e) { filtered.replaceChildren(errBox(e)); }
  };

  const progress = h('progress', { id: 'verify-progress', max: 1, value: 0, 'aria-label': 'Verification progress' });
  const verdict = h('div', { id: 'verify-result', role: 'status' });
  const verifyAll = async () => {
    const n = BigInt((await api('GET', '/v1/chain/status', undefined, signal)).length);
    progress.max = Number(n); progress.value = 0;
    verdict.replaceChildren(h('p', { class: 'muted' }, 'Verifying…'));
    const v = new Verifier();
    let problem = null, lineNo = 0;
    try {
      await lines('GET', '/v1/chain/export', undefined, signal, async (o) => {
        if (problem) return;
        problem = await v.line(o);
        if (++lineNo % 200 === 0) { progress.value = Number(v.next); await new Promise((r) => setTimeout(r)); }
      });
    } catch (e) { if (e.name === 'AbortError') return; }
    progress.value = Number(v.next);
    if (!problem && v.next < n) {
      // The export stopped early: find the first event the daemon cannot
      // read, a page at a time, then one by one within the failing page.
      problem = { kind: 'export-ended-early', seq: v.next, detail: 'every event read back, yet the export stopped' };
      verdict.replaceChildren(h('p', { class: 'muted' }, `The export stopped after seq ${v.next - 1n}; locating the first unreadable event…`));
      find: for (let from = v.next; from < n; from += 100n) {
        let got = 0n;
        try { got = BigInt(((await api('GET', `/v1/chain/events?from=${from}&n=100`, undefined, signal)) || []).length); } catch (e) { /* in this page */ }
        if (got === 100n || from + got >= n) continue;
        for (let seq = from + got; seq < from + 100n && seq < n; seq++) {
          try { await api('GET', `/v1/chain/events/${seq}`, undefined, signal); } catch (e) {
            problem = { kind: 'unreadable', seq, detail: e.message };
            break find;
          }
        }
      }
    }
    verdict.replaceChildren(problem
      ? h('p', { class: 'bad' }, `Verification FAILED at seq ${problem.seq}: ${problem.kind}${problem.detail ? ' (' + problem.detail + ')' : ''}.`)
      : h('p', { class: 'ok' }, `Verified ${v.next} events and ${v.checkpoints} checkpoints in the browser: hashes, links, Merkle roots and Ed25519 signatures.`));
  };

  main.replaceChildren(h('h1', {}, title),
    h('form', { class: 'row2', onsubmit: applyFilter }, h('label', { for: 'f-kind' }, 'Kind'), kind, h('label', { for: 'f-agent' }, 'Agent'), agent,
      h('button', { type: 'submit' }, 'Filter'), h('label', { for: 'f-follow' }, follow, 'Follow newest'), count),
    scroller, filtered,
    h('div', { class: 'row2' }, h('button', { type: 'button', id: 'verify-all', onclick: verifyAll }, 'Verify all'), progress), verdict, detail);
  const toEnd = () => { if (follow.checked) { size(); scroller.scrollTop = scroller.scrollHeight; } };
  const q = new URLSearchParams(location.hash.split('?')[1] || '');
  if (q.has('seq')) {
    follow.checked = false;
    size();
    const seq = Number(q.get('seq')), span = Math.max(1, total - visible());
    scroller.scrollTop = (Math.min(seq, span) / span) * (scroller.scrollHeight - scroller.clientHeight);
    await draw();
    await open(seq);
  } else {
    toEnd();
    await draw();
  }
  const t = setInterval(async () => {
    try {
      const s = await api('GET', '/v1/chain/status', undefined, signal);
      if (Number(s.length) !== total) { total = Number(s.length); toEnd(); await draw(); }
    } catch (e) { /* shown on the next action */ }
  }, 2000);
  signal.addEventListener('abort', () => clearInterval(t));
}
