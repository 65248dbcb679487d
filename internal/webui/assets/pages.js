// The pages other than the chain explorer and chat. Each renders live
// data from the local API; every act goes through the API's governed
// handlers, exactly as the CLI's.
import { h, api, raw, lines, errBox, table, autoCols, card, spark, fmt, pretty, when } from './lib.js';

function every(signal, ms, f) {
  const t = setInterval(f, ms);
  signal.addEventListener('abort', () => clearInterval(t));
}

function section(title, ...kids) { return h('section', { 'aria-label': title }, h('h2', {}, title), ...kids); }

// --- Overview ---------------------------------------------------------

// metricSums parses Prometheus text into name → summed value.
function metricSums(text) {
  const m = {};
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const sp = line.lastIndexOf(' ');
    const name = line.slice(0, sp).replace(/\{.*$/, '');
    m[name] = (m[name] || 0) + Number(line.slice(sp + 1));
  }
  return m;
}

const SERIES = [
  ['Chain events / s', (a, b, dt) => ((b.weftos_chain_appended_events_total || 0) - (a.weftos_chain_appended_events_total || 0)) / dt],
  ['Gate decisions / s', (a, b, dt) => ((b.weftos_gate_decisions_total || 0) - (a.weftos_gate_decisions_total || 0)) / dt],
  ['Chain fsync ms (mean)', (a, b) => meanMs(a, b, 'weftos_chain_fsync_duration_seconds')],
  ['Model latency ms (mean)', (a, b) => meanMs(a, b, 'weftos_llm_request_duration_seconds')],
  ['Tool latency ms (mean)', (a, b) => meanMs(a, b, 'weftos_tool_call_duration_seconds')],
];
function meanMs(a, b, n) {
  const c = (b[n + '_count'] || 0) - (a[n + '_count'] || 0);
  return c > 0 ? (1000 * ((b[n + '_sum'] || 0) - (a[n + '_sum'] || 0))) / c : 0;
}

export async function overview(main, signal, title) {
  const [st, chain] = await Promise.all([api('GET', '/v1/status', undefined, signal), api('GET', '/v1/chain/status', undefined, signal).catch((e) => e)]);
  const health = st.health.status;
  const cards = h('div', { class: 'cards', id: 'status-cards' },
    card('Health', h('span', { class: health === 'healthy' ? 'ok' : 'bad' }, health), st.health.degraded ? h('div', { class: 'muted' }, st.health.degraded.join(', ')) : ''),
    card('Version', st.version), card('Uptime', Math.round(st.uptime_ms / 1000) + ' s'), card('Processes', st.processes),
    card('Services', st.services), card('Cron jobs', st.cron_jobs), card('Dead letters', st.dead_letters),
    card('Chain events', st.chain_length), card('Environment', st.environment || ''), card('Model', st.model || '—'));
  const sparks = h('div', { class: 'cards', id: 'sparks' });
  main.replaceChildren(h('h1', {}, title), cards,
    st.problems && st.problems.length ? section('Problems', h('ul', {}, st.problems.map((p) => h('li', { class: 'warn' }, p)))) : '',
    section('Throughput and latency (from /metrics, every 2 s)', sparks),
    section('Chain', chain instanceof Error ? errBox(chain) : h('p', {}, `${chain.length} events, ${chain.checkpoints} checkpoints; head `,
      h('code', {}, chain.head || '—'), '; key fingerprint ', h('code', {}, chain.keys.fingerprint))),
    section('Node', h('p', { class: 'muted' }, `${st.node_id} · home ${st.home} · started ${when(st.started)}`)));
  const hist = SERIES.map(() => []);
  let prev = null, prevT = 0;
  const sample = async () => {
    try {
      const m = metricSums(await raw('/metrics', signal)), t = performance.now();
      if (prev) SERIES.forEach(([, f], i) => { hist[i].push(Math.max(0, f(prev, m, (t - prevT) / 1000))); if (hist[i].length > 60) hist[i].shift(); });
      prev = m; prevT = t;
      sparks.replaceChildren(...SERIES.map(([label], i) => card(label, hist[i].length ? hist[i][hist[i].length - 1].toFixed(2) : '…', spark(hist[i].length ? hist[i] : [0], label))));
    } catch (e) { if (e.name !== 'AbortError') sparks.replaceChildren(errBox(e)); }
  };
  await sample();
  // A second sample soon, so the rates show at once; then every 2 s.
  const soon = setTimeout(sample, 400);
  signal.addEventListener('abort', () => clearTimeout(soon));
  every(signal, 2000, sample);
}

// --- Processes --------------------------------------------------------

export async function processes(main, signal, title) {
  const list = h('div'), detail = h('div', { id: 'proc-detail' });
  const showAll = h('input', { type: 'checkbox', id: 'ps-all' });
  const load = async () => {
    const ps = await api('GET', '/v1/processes' + (showAll.checked ? '?exited=1' : ''), undefined, signal);
    const depth = {};
    const byPID = new Map(ps.map((p) => [p.pid, p]));
    const d = (p) => (depth[p.pid] ??= p.parent && byPID.has(p.parent) && p.parent !== p.pid ? d(byPID.get(p.parent)) + 1 : 0);
    ps.forEach(d);
    list.replaceChildren(table(ps, [
      { key: 'pid', label: 'PID' },
      { key: 'name', label: 'Name (tree)', render: (p) => '\u00a0\u00a0'.repeat(depth[p.pid]) + (depth[p.pid] ? '└ ' : '') + p.name },
      { key: 'kind', label: 'Kind' }, { key: 'state', label: 'State' }, { key: 'messages_sent', label: 'Sent' }, { key: 'tokens', label: 'Tokens' },
      { key: 'act', label: 'Actions', render: (p) => h('span', {},
        h('button', { type: 'button', onclick: () => inspect(p.pid), 'aria-label': `Inspect process ${p.pid}` }, 'Inspect'), ' ',
        p.pid !== 0 && p.state !== 'exited' ? h('button', { type: 'button', class: 'danger', onclick: () => stop(p.pid), 'aria-label': `Stop process ${p.pid}` }, 'Stop') : '') },
    ], { label: 'Processes' }));
  };
  const inspect = async (pid) => {
    try { detail.replaceChildren(h('h2', {}, `Process ${pid}`), h('pre', {}, pretty(await api('GET', `/v1/processes/${pid}`, undefined, signal)))); } catch (e) { detail.replaceChildren(errBox(e)); }
  };
  const stop = async (pid) => {
    try {
      await api('POST', `/v1/processes/${pid}/stop`, undefined, signal);
      detail.replaceChildren(h('p', { class: 'ok', role: 'status' }, `Process ${pid} stopped (governed as process.stop; on the chain).`));
    } catch (e) { detail.replaceChildren(errBox(e)); }
    await load();
  };
  showAll.addEventListener('change', load);
  main.replaceChildren(h('h1', {}, title), h('div', { class: 'row2' }, h('label', { for: 'ps-all' }, showAll, 'Show exited')), list, detail);
  await load();
  every(signal, 3000, () => load().catch(() => {}));
}

// --- Governance -------------------------------------------------------

export async function governance(main, signal, title) {
  const pendingBox = h('div', { id: 'pending' }), status = h('div', { role: 'status' });
  const loadPending = async () => {
    const items = (await api('GET', '/v1/gov/pending', undefined, signal)) || [];
    pendingBox.replaceChildren(table(items, [
      { key: 'id', label: 'Action' },
      { key: 'request', label: 'Request', render: (p) => `${p.request.action} by ${p.request.agent || p.request.process || 'pid ' + (p.request.pid || 0)}` },
      { key: 'decision', label: 'Why deferred', render: (p) => p.decision.reason },
      { key: 'deadline', label: 'Deadline', render: (p) => when(p.deadline) },
      { key: 'act', label: 'Verdict', render: (p) => h('span', {},
        h('button', { type: 'button', class: 'primary', 'data-approve': p.id, onclick: () => resolve(p.id, 'approve') }, 'Approve'), ' ',
        h('button', { type: 'button', class: 'danger', onclick: () => resolve(p.id, 'reject') }, 'Reject')) },
    ], { label: 'Pending approvals', empty: 'No act waits for a human.' }));
  };
  const resolve = async (id, verdict) => {
    try {
      const r = await api('POST', `/v1/gov/pending/${encodeURIComponent(id)}/${verdict}`, undefined, signal);
      status.replaceChildren(h('p', { class: 'ok' }, `${r.id}: ${r.resolved}d; the waiting act goes on (or is refused) and the resolution is on the chain.`));
    } catch (e) { status.replaceChildren(errBox(e)); }
    await loadPending();
  };
  const [rules, decisions, audit] = await Promise.all([
    api('GET', '/v1/gov/rules', undefined, signal),
    api('GET', '/v1/chain/events?n=25&kind=governance.decision', undefined, signal),
    api('GET', '/v1/gov/audit', undefined, signal).catch((e) => e),
  ]);
  const ruleText = h('textarea', { id: 'amend-text', rows: 8, cols: 70, placeholder: '[[rule]]\nid = "…"\n…' });
  const amendOut = h('div', { role: 'status', id: 'amend-result' });
  const amend = async (ev) => {
    ev.preventDefault();
    try {
      const r = await api('POST', '/v1/gov/amend', { text: ruleText.value }, signal);
      amendOut.replaceChildren(h('p', { class: 'ok' }, `Amendment ${r.action_id} decided and recorded on the chain.`));
    } catch (e) { amendOut.replaceChildren(errBox(e)); }
  };
  main.replaceChildren(h('h1', {}, title), section('Pending approvals', pendingBox, status),
    section(`Constitution ${rules.name} (revision ${rules.revision}, environment ${rules.environment})`,
      rules.invalid ? errBox(rules.invalid) : '', h('p', { class: 'muted' }, 'hash ', h('code', {}, rules.hash)),
      table(rules.rules || [], autoCols(rules.rules, 6), { label: 'Rules' })),
    section('Recent decisions with their effect vectors', table((decisions || []).slice().reverse(), [
      { key: 'seq', label: 'Seq' }, { key: 'ts', label: 'Time', render: (e) => when(e.ts) },
      { key: 'a', label: 'Action', render: (e) => e.payload.request.action },
      { key: 'o', label: 'Outcome', render: (e) => e.payload.decision.outcome },
      { key: 'e', label: 'Effect vector', render: (e) => fmt(e.payload.decision.effect) },
      { key: 'm', label: 'Magnitude', render: (e) => Number(e.payload.decision.magnitude).toFixed(2) },
      { key: 'r', label: 'Reason', render: (e) => e.payload.decision.reason },
    ], { label: 'Decisions' })),
    section('Audit', audit instanceof Error ? errBox(audit) : h('div', {},
      h('p', {}, `${audit.records} records, ${audit.decisions} decisions, ${audit.actions} actions, ${audit.refusals} refusals; `,
        h('strong', { class: audit.findings && audit.findings.length ? 'bad' : 'ok' }, `${(audit.findings || []).length} findings`)),
      table(audit.findings || [], [{ key: 'seq' }, { key: 'kind' }, { key: 'action_id' }, { key: 'agent' }, { key: 'message' }], { label: 'Findings', empty: 'No findings.' }))),
    section('Amend the constitution', h('form', { onsubmit: amend },
      h('p', { class: 'muted' }, 'A [[rule]] table in TOML; the amendment is itself a governed act (constitution.amend), signed and recorded on the chain.'),
      h('div', { class: 'row2' }, h('label', { for: 'amend-text' }, 'Rule'), ruleText, h('button', { type: 'submit' }, 'Propose amendment'))), amendOut));
  await loadPending();
  every(signal, 1500, () => loadPending().catch(() => {}));
}

// --- Sessions ---------------------------------------------------------

export async function sessions(main, signal, title) {
  const detail = h('div', { id: 'session-detail' });
  const res = await api('GET', '/v1/sessions', undefined, signal);
  const open = async (name) => {
    try {
      const steps = [];
      await lines('GET', `/v1/sessions/${encodeURIComponent(name)}/journal`, undefined, signal, (st) => { steps.push(st); });
      detail.replaceChildren(h('h2', {}, `Session ${name}`),
        h('p', {}, h('a', { href: `#/chat?session=${encodeURIComponent(name)}` }, 'Resume in chat'), ' · ',
          h('a', { href: `/api/v1/sessions/${encodeURIComponent(name)}/journal`, download: `${name}.jsonl` }, 'Export journal (JSON lines)')),
        h('p', { class: 'muted' }, `${steps.length} steps`), h('pre', {}, steps.map((st) => fmt(st)).join('\n')));
    } catch (e) { detail.replaceChildren(errBox(e)); }
  };
  main.replaceChildren(h('h1', {}, title), (res.problems || []).map((p) => h('p', { class: 'warn' }, p)),
    table(res.sessions || [], [...autoCols(res.sessions, 6), { key: 'open', label: 'Transcript', render: (s) => h('button', { type: 'button', onclick: () => open(s.name) }, 'Open') }],
      { label: 'Sessions', empty: 'No sessions yet.' }), detail);
}

// --- Memory -----------------------------------------------------------

export async function memory(main, signal, title) {
  const q = h('input', { id: 'mem-q', type: 'search', placeholder: 'what to look for' }), k = h('input', { id: 'mem-k', type: 'number', min: 1, max: 100, value: 10 });
  const out = h('div', { id: 'mem-hits' }), detail = h('div');
  const stats = await api('GET', '/v1/memory/stats', undefined, signal);
  const search = async (ev) => {
    if (ev) ev.preventDefault();
    try {
      const hits = (await api('POST', '/v1/memory/search', { query: q.value, k: Number(k.value) }, signal)) || [];
      out.replaceChildren(table(hits, [
        { key: 'score', label: 'Score', render: (x) => x.score.toFixed(3) },
        { key: 'text', label: 'Text', render: (x) => x.record.text.slice(0, 160) },
        { key: 'meta', label: 'Meta', render: (x) => Object.entries(x.record.meta || {}).map(([k, v]) => `${k}: ${fmt(v)}`).join(' · ') },
        { key: 'act', label: 'Actions', render: (x) => h('span', {},
          h('button', { type: 'button', onclick: () => detail.replaceChildren(h('h2', {}, 'Record'), h('p', {}, 'Created by chain event ',
            h('a', { href: `#/chain?seq=${x.record.chain_seq}` }, `#${x.record.chain_seq}`)), h('pre', {}, pretty(x.record))) }, 'Detail'), ' ',
          h('button', { type: 'button', class: 'danger', onclick: () => del(x.record.id) }, 'Delete')) },
      ], { label: 'Hits', empty: 'No hits.' }));
    } catch (e) { out.replaceChildren(errBox(e)); }
  };
  const del = async (id) => {
    try { await api('DELETE', `/v1/memory/${id}`, undefined, signal); detail.replaceChildren(h('p', { class: 'ok' }, `Deleted ${id} (governed as memory.delete).`)); } catch (e) { detail.replaceChildren(errBox(e)); }
    await search();
  };
  main.replaceChildren(h('h1', {}, title), h('pre', {}, pretty(stats)),
    h('form', { class: 'row2', onsubmit: search }, h('label', { for: 'mem-q' }, 'Query'), q, h('label', { for: 'mem-k' }, 'Results'), k,
      h('button', { type: 'submit' }, 'Search')), h('p', { class: 'muted' }, 'Score: the hybrid search\'s fused score (BM25 over words, speaker and date, the embeddings, neighbouring turns); weave memory search --explain breaks it down.'), out, detail);
}

// --- Tools and skills, cron, channels, config, logs -------------------

export async function tools(main, signal, title) {
  const cfg = await api('GET', '/v1/config', undefined, signal);
  const ws = (cfg.config.agents || {}).workspace || '';
  const [agentTools, wasm, skills, models] = await Promise.all([ws ? '/v1/agent/tools?workspace=' + encodeURIComponent(ws) : null, '/v1/tools', '/v1/skills', '/v1/models']
    .map((p) => (p ? api('GET', p, undefined, signal).catch((e) => e) : new Error('set agents.workspace in weftos.toml to list the agent tools of its workspace'))));
  const show = (v) => (v instanceof Error ? errBox(v) : Array.isArray(v) ? table(v, autoCols(v, 5)) : h('pre', {}, pretty(v)));
  main.replaceChildren(h('h1', {}, title), section('Agent tools', show(agentTools)), section('WASM tools', show(wasm)),
    section('Skills', show(skills)), section('Models', show(models)));
}

export async function cron(main, signal, title) {
  const jobs = await api('GET', '/v1/cron', undefined, signal);
  const msg = h('div', { role: 'status' });
  main.replaceChildren(h('h1', {}, title), table(jobs || [], [...autoCols(jobs, 6), { key: 'x', label: 'Actions', render: (j) =>
    h('button', { type: 'button', class: 'danger', onclick: async () => {
      try { await api('DELETE', `/v1/cron/${encodeURIComponent(j.id)}`, undefined, signal); await cron(main, signal, title); } catch (e) { msg.replaceChildren(errBox(e)); }
    } }, 'Remove') }], { label: 'Cron jobs', empty: 'No cron jobs.' }), msg);
}

export async function channels(main, signal, title) {
  const [ch, pairing] = await Promise.all([api('GET', '/v1/channels', undefined, signal), api('GET', '/v1/pairing', undefined, signal)]);
  main.replaceChildren(h('h1', {}, title), section('Status', h('pre', {}, pretty(ch))), section('Pairing', h('pre', {}, pretty(pairing))));
}

export async function mesh(main, signal, title) {
  const st = await api('GET', '/v1/cluster', undefined, signal);
  if (!st.in_cluster) {
    main.replaceChildren(h('h1', {}, title), h('p', { id: 'mesh-state' }, 'This node (', h('code', {}, st.node_id),
      ') is in no cluster. Create one with weave cluster init, or join one with weave cluster join TOKEN.'));
    return;
  }
  const [peers, witnesses] = await Promise.all([api('GET', '/v1/cluster/peers', undefined, signal), api('GET', '/v1/chain/witnesses', undefined, signal)]);
  const cs = st.consensus;
  main.replaceChildren(h('h1', {}, title),
    h('p', { id: 'mesh-state' }, `Cluster ${st.name || st.cluster}: ${st.alive} of ${st.members} members alive, ${st.removed} removed.`,
      cs ? ` Raft: ${cs.state}, term ${cs.term}, commit ${cs.commit_index}${cs.behind ? ' (behind: this node decides nothing until caught up)' : ''}.` : ''),
    section('Peers', table(peers, [
      { key: 'node_id', label: 'Node', render: (p) => p.node_id + (p.self ? ' (this node)' : '') }, { key: 'name', label: 'Name' },
      { key: 'addr', label: 'Address' }, { key: 'state', label: 'State' },
      { key: 'rtt_us', label: 'RTT', render: (p) => (p.rtt_us ? (p.rtt_us / 1000).toFixed(2) + ' ms' : '-') },
      { key: 'chain_size', label: 'Chain' },
      { key: 'witnessed', label: 'Witnessed', render: (p) => (p.forked ? 'FORKED: ' + (p.fork || '') : p.witnessed ? String(p.witnessed) : '-') },
    ], { label: 'Cluster peers' })),
    section('Witnessed chains', table(witnesses, [
      { key: 'node', label: 'Node' }, { key: 'size', label: 'Checkpoint size' }, { key: 'last', label: 'Last' },
      { key: 'forked', label: 'Forked', render: (w) => (w.forked ? 'yes: ' + (w.reason || '') : 'no') },
    ], { label: 'Witnessed chains', empty: 'Nothing witnessed yet.' })));
}

export async function config(main, signal, title) {
  const c = await api('GET', '/v1/config', undefined, signal);
  main.replaceChildren(h('h1', {}, title), h('p', {}, 'File ', h('code', {}, c.path),
    '. Read-only here: edit the file and restart, or use the governed CLI commands (weave gov amend, weave cron …).'), h('pre', { id: 'config' }, pretty(c.config)));
}

export async function logs(main, signal, title) {
  const pre = h('pre', { id: 'log', 'aria-live': 'off' });
  main.replaceChildren(h('h1', {}, title), h('p', { class: 'muted' }, 'Live: the daemon\'s log, secrets masked.'), pre);
  const buf = [];
  lines('GET', '/v1/logs?follow=1&n=200', undefined, signal, (l) => {
    buf.push(l.line ?? fmt(l));
    if (buf.length > 500) buf.shift();
    pre.textContent = buf.join('\n');
    pre.scrollTop = pre.scrollHeight;
  }).catch((e) => { if (e.name !== 'AbortError') main.append(errBox(e)); });
}
