// Agents and chat: a turn streamed from POST /v1/agent/run (the same
// governed path as `weft`), tool calls shown inline with the governance
// decisions the chain recorded for them.
import { h, api, lines, errBox, fmt } from './lib.js';

export async function chatPage(main, signal, title) {
  const q = new URLSearchParams(location.hash.split('?')[1] || '');
  const agent = h('input', { id: 'chat-agent', value: q.get('agent') || 'default' });
  const sess = h('input', { id: 'chat-session', value: q.get('session') || 'ui' });
  const text = h('textarea', { id: 'chat-input', rows: 3, cols: 60, placeholder: 'Message' });
  const log = h('div', { class: 'chat', id: 'chat-log', 'aria-live': 'polite' });
  const send = h('button', { type: 'submit', class: 'primary' }, 'Send');
  const models = await api('GET', '/v1/models', undefined, signal).catch(() => null);

  const turn = async (ev) => {
    ev.preventDefault();
    if (!text.value.trim()) return;
    const msg = text.value;
    text.value = '';
    send.disabled = true;
    log.append(h('div', { class: 'msg user' }, msg));
    const answer = h('div', { class: 'msg', 'data-role': 'answer' });
    log.append(answer);
    let pid = 0;
    const calls = [];
    try {
      await lines('POST', '/v1/agent/run', { agent: agent.value, session: sess.value, workspace: '', message: msg }, signal, (e) => {
        switch (e.type) {
          case 'start': pid = e.pid; break;
          case 'delta': answer.append(e.text); break;
          case 'tool_call': {
            const el = h('div', { class: 'tool', 'data-call': e.call_id }, `tool call ${e.tool}(${e.args || ''})`);
            calls.push({ e, el });
            log.insertBefore(el, answer);
            break;
          }
          case 'tool_result': {
            const c = calls.find((x) => x.e.call_id === e.call_id);
            if (c) c.el.append(h('div', { class: e.ok ? 'ok' : 'bad' }, `→ ${e.ok ? 'ok' : 'failed'}: ${e.summary || ''}`));
            break;
          }
          case 'approval':
            log.insertBefore(h('div', { class: 'tool warn' }, `waiting for approval: ${e.action} (${e.action_id}) — `, h('a', { href: '#/governance' }, 'approve or reject')), answer);
            break;
          case 'final': answer.replaceChildren(e.answer || answer.textContent); break;
          case 'error': answer.append(h('div', { class: 'bad' }, `${e.code}: ${e.message}`)); break;
        }
      });
    } catch (e) { answer.append(errBox(e)); }
    send.disabled = false;
    if (calls.length && pid) {
      // The decisions the governance gate recorded for this run's tool calls.
      const decs = (await api('GET', '/v1/chain/events?n=200&kind=governance.decision', undefined, signal).catch(() => [])) || [];
      const mine = decs.filter((d) => Number(d.payload.request.pid) === pid);
      calls.forEach((c) => {
        const i = mine.findIndex((d) => (d.payload.request.context || {}).tool === c.e.tool);
        const d = i >= 0 ? mine.splice(i, 1)[0] : null;
        if (d) c.el.append(h('div', { class: 'muted' }, 'decision ', h('a', { href: `#/chain?seq=${d.seq}`, 'data-decision': d.seq }, `#${d.seq}`),
          `: ${d.payload.decision.outcome}, effect ${fmt(d.payload.decision.effect)}`));
      });
    }
  };
  main.replaceChildren(h('h1', {}, title),
    h('form', { onsubmit: turn },
      h('div', { class: 'row2' }, h('label', { for: 'chat-agent' }, 'Agent'), agent, h('label', { for: 'chat-session' }, 'Session'), sess),
      models && models.default ? h('p', { class: 'muted' }, 'Default model: ' + models.default) : '',
      h('div', { class: 'row2' }, h('label', { for: 'chat-input' }, 'Message'), text, send)),
    log);
}
