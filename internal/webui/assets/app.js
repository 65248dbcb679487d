// The control UI's entry point: session check, navigation and routing
// (#/page), each page rendered by its module with live data.
import { h, api, session, setCSRF, errBox } from './lib.js';
import * as P from './pages.js';
import { chainPage } from './chain.js';
import { chatPage } from './chat.js';

const PAGES = [
  ['overview', 'Overview', P.overview], ['processes', 'Processes', P.processes], ['chain', 'Chain explorer', chainPage],
  ['governance', 'Governance', P.governance], ['chat', 'Agents and chat', chatPage], ['sessions', 'Sessions', P.sessions],
  ['memory', 'Memory', P.memory], ['tools', 'Tools and skills', P.tools], ['cron', 'Cron', P.cron],
  ['channels', 'Channels', P.channels], ['mesh', 'Mesh', P.mesh], ['config', 'Config', P.config], ['logs', 'Logs', P.logs],
];

const main = document.getElementById('main');
let current = null;

function nav() {
  const ul = document.getElementById('navlist');
  ul.replaceChildren(...PAGES.map(([id, label]) => h('li', {}, h('a', { href: '#/' + id, id: 'nav-' + id }, label))));
  const menu = document.getElementById('menu'), navEl = document.getElementById('nav');
  menu.addEventListener('click', () => {
    const open = navEl.classList.toggle('open');
    menu.setAttribute('aria-expanded', String(open));
  });
}

async function route() {
  const id = (location.hash.replace(/^#\/?/, '').split('?')[0]) || 'overview';
  const page = PAGES.find((p) => p[0] === id) || PAGES[0];
  if (current) current.abort();
  current = new AbortController();
  for (const a of document.querySelectorAll('nav a')) {
    if (a.id === 'nav-' + page[0]) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.getElementById('nav').classList.remove('open');
  document.title = page[1] + ' · WeftOS';
  const started = performance.now();
  delete main.dataset.page;
  main.replaceChildren(h('h1', {}, page[1]), h('p', { class: 'muted' }, 'Loading…'));
  try {
    await page[2](main, current.signal, page[1]);
    main.dataset.page = page[0];
    performance.mark(page[0] + '-data');
    main.dataset.renderedMs = String(Math.round(performance.now() - started));
  } catch (e) {
    if (e.name !== 'AbortError') main.append(errBox(e));
  }
}

async function start() {
  nav();
  let s;
  try {
    s = await session();
  } catch (e) {
    main.replaceChildren(h('h1', {}, 'Log in'),
      h('p', {}, 'This browser has no session. On the machine running the daemon, run ', h('code', {}, 'weave ui'),
        ' and open the one-time link it prints.'));
    main.dataset.page = 'login';
    return;
  }
  setCSRF(s.csrf);
  const out = document.getElementById('logout');
  out.hidden = false;
  out.addEventListener('click', async () => {
    await fetch('/logout', { method: 'POST', headers: { 'X-Weave-Csrf': s.csrf }, credentials: 'same-origin' });
    location.reload();
  });
  api('GET', '/v1/status').then((st) => { document.getElementById('node').textContent = `${st.node_id.slice(0, 16)} · ${st.version}`; }).catch(() => {});
  addEventListener('hashchange', route);
  await route();
}

start();
