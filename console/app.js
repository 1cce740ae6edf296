// colony console: one page over colony's public API and its /ws event stream. No framework, no build step, no
// inline code (the page is served under a strict Content-Security-Policy). Text from the server is only ever set as
// textContent, never parsed as HTML.
'use strict';
(() => {
  const ROW = 28;               // px per tree row (app.css --row)
  const FEED_MAX = 200;         // events kept in the feed
  const FEED_START = 30;        // recent events it starts with
  const BEAT_REFRESH_MS = 30000; // how often the visible rows' heartbeats are read again
  const NEW_REFRESH_MS = 1000;  // workspaces the events name but the page does not know: read at most once a second
  const NEW_FEW = 10;           // up to this many are read one by one; more, with the list (one request a page)
  const STATUS_EVENTS = {
    WORKSPACE_ONLINE: 'online', WORKSPACE_OFFLINE: 'offline', WORKSPACE_DEGRADED: 'degraded',
    WORKSPACE_AWAITING_AGENT: 'awaiting_agent', WORKSPACE_PAUSED: 'paused', WORKSPACE_HIBERNATED: 'hibernated',
    WORKSPACE_PROVISION_FAILED: 'failed',
  };

  const $ = (id) => document.getElementById(id);
  const S = {
    token: sessionStorage.getItem('colony.token'),
    ws: new Map(), kids: new Map(), roots: [], flat: [], collapsed: new Set(),
    selected: null, tab: 'inbox', lastId: 0, listedMax: 0, held: null, feedIds: new Set(), sock: null, retry: 0,
    inbox: null, mine: new Set(), sending: new Map(), unknown: new Set(), fetching: false, frame: 0,
    session: 0, intervals: [],
  };

  // ---- small helpers --------------------------------------------------------------------------------------
  function h(tag, props, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'style') Object.assign(e.style, v); // CSSOM: the CSP refuses style attributes
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }
  function ago(ts) {
    if (!ts) return 'never';
    const s = Math.max(0, Math.round((Date.now() - Date.parse(ts)) / 1000));
    if (s < 60) return s + 's ago';
    if (s < 3600) return Math.floor(s / 60) + 'm ago';
    if (s < 86400) return Math.floor(s / 3600) + 'h ago';
    return Math.floor(s / 86400) + 'd ago';
  }
  const clock = (ts) => (ts ? new Date(ts).toLocaleTimeString() : '');
  const nameOf = (id) => (S.ws.get(id) || {}).name || (id ? id.slice(0, 8) : '');
  function uuid() { // crypto.randomUUID needs a secure context; a console on a LAN address is not one
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }
  const timers = new Map();
  function later(key, ms, fn) { // one pending run per key
    if (timers.has(key)) return;
    timers.set(key, setTimeout(() => { timers.delete(key); fn(); }, ms));
  }

  // ---- the API ----------------------------------------------------------------------------------------------
  class ApiError extends Error {}
  class SignedOut extends ApiError {} // the session this call belonged to has ended: its answer concerns no one
  async function call(method, path, body) {
    const session = S.session;
    if (!S.token) throw new SignedOut('signed out');
    const headers = { Authorization: 'Bearer ' + S.token };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (session !== S.session) throw new SignedOut('signed out');
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
    if (r.status === 401) { signOut('The token was refused (401): sign in again.'); throw new ApiError('401'); }
    if (!r.ok) throw new ApiError((data && data.error) || `${r.status} ${r.statusText}`);
    return { data, next: r.headers.get('X-Next-Cursor') };
  }
  const get = async (path) => (await call('GET', path)).data;
  const post = async (path, body) => (await call('POST', path, body)).data;

  // ---- sign in ----------------------------------------------------------------------------------------------
  // Sign-out ends the session: its timers stop, its socket closes, what it loaded is forgotten, and the answers of its
  // requests still in flight are dropped (call() sees the session changed).
  function signOut(why) {
    sessionStorage.removeItem('colony.token');
    S.token = null;
    S.session++;
    if (S.sock) { S.sock.onclose = null; S.sock.onmessage = null; S.sock.close(); S.sock = null; }
    for (const t of S.intervals) clearInterval(t);
    for (const t of timers.values()) clearTimeout(t);
    if (S.frame) cancelAnimationFrame(S.frame);
    Object.assign(S, {
      intervals: [], frame: 0, ws: new Map(), kids: new Map(), roots: [], flat: [], selected: null, inbox: null,
      lastId: 0, listedMax: 0, held: null, retry: 0, fetching: false,
    });
    timers.clear(); S.feedIds.clear(); S.unknown.clear(); S.sending.clear();
    for (const id of ['feed', 'tree-space', 'view']) $(id).replaceChildren();
    for (const id of ['counts', 'last-id', 'inbox-count']) $(id).textContent = '';
    $('app').hidden = true; $('signout').hidden = true; $('signin').hidden = false;
    $('signin-error').textContent = why || '';
    setLive(false);
  }
  async function start() {
    $('signin').hidden = true; $('app').hidden = false; $('signout').hidden = false;
    // Subscribe first, without `since`: the server starts the stream at a settled "now" (on PostgreSQL a lower id of
    // a transaction still open commits later, so "after the newest id listed" could skip it for good). What the
    // stream sends meanwhile is held until the org and the recent events are in, then merged by id.
    try {
      await get('/events?limit=1'); // the token first: a refused one opens no stream
      S.held = [];
      connect();
      await loadOrg();
      const recent = await get('/events?limit=' + FEED_START);
      S.listedMax = recent.length ? recent[0].id : 0;
      for (const e of recent.reverse()) feed({ id: e.id, event: e.event_type, workspace_id: e.workspace_id, timestamp: e.created_at, payload: e.payload });
    } catch (e) {
      if (!(e instanceof SignedOut) && !(e instanceof ApiError && e.message === '401')) signOut('Could not load the org: ' + e.message);
      return;
    }
    const held = S.held;
    S.held = null;
    for (const ev of held) apply(ev);
    const wanted = location.hash.slice(1);
    select(S.ws.has(wanted) ? wanted : null);
    loadInbox();
    S.intervals.push(setInterval(refreshVisible, BEAT_REFRESH_MS));
    S.intervals.push(setInterval(renderTree, 5000)); // the "12s ago" labels
  }

  // ---- the org tree (rendered lazily: only the rows in view exist in the page) --------------------------------
  async function listOrg() {
    const all = [];
    let cursor = null;
    do { // the whole org in one page up to 20,000 workspaces; past that, pages
      const { data, next } = await call('GET', '/workspaces' + (cursor ? '?cursor=' + encodeURIComponent(cursor) : ''));
      all.push(...data);
      cursor = next;
    } while (cursor);
    return all;
  }
  async function loadOrg() {
    const all = await listOrg();
    performance.mark('colony:org-loaded');
    S.ws = new Map(all.map((w) => [w.id, w]));
    reindex();
    performance.mark('colony:tree'); // the first rows are on the page (tests measure from here)
  }
  function reindex() {
    S.kids = new Map(); S.roots = [];
    for (const w of S.ws.values()) {
      if (w.parent_id && S.ws.has(w.parent_id)) {
        if (!S.kids.has(w.parent_id)) S.kids.set(w.parent_id, []);
        S.kids.get(w.parent_id).push(w.id);
      } else S.roots.push(w.id);
    }
    flatten();
  }
  function flatten() {
    const q = $('filter').value.trim().toLowerCase();
    const out = [];
    if (q) {
      for (const w of S.ws.values()) if (w.name.toLowerCase().includes(q)) out.push([w.id, 0]);
    } else {
      const stack = S.roots.slice().reverse().map((id) => [id, 0]);
      while (stack.length) {
        const [id, d] = stack.pop();
        out.push([id, d]);
        if (S.collapsed.has(id)) continue;
        const k = S.kids.get(id) || [];
        for (let i = k.length - 1; i >= 0; i--) stack.push([k[i], d + 1]);
      }
    }
    S.flat = out;
    counts();
    renderTree();
  }
  function paint() { // counts and rows once a frame, however many events arrive in it
    if (!S.frame) S.frame = requestAnimationFrame(() => { S.frame = 0; counts(); renderTree(); });
  }
  function counts() {
    const by = {};
    for (const w of S.ws.values()) by[w.status] = (by[w.status] || 0) + 1;
    const parts = [`${S.ws.size.toLocaleString()} workspaces`];
    for (const s of ['online', 'degraded', 'offline', 'awaiting_agent']) if (by[s]) parts.push(`${by[s].toLocaleString()} ${s.replace('_', ' ')}`);
    $('counts').textContent = parts.join(' · ');
  }
  function visibleRange() {
    const t = $('tree');
    const first = Math.max(0, Math.floor(t.scrollTop / ROW) - 10);
    const last = Math.min(S.flat.length, Math.ceil((t.scrollTop + t.clientHeight) / ROW) + 10);
    return [first, last];
  }
  function renderTree() {
    const space = $('tree-space');
    space.style.height = S.flat.length * ROW + 'px';
    const [first, last] = visibleRange();
    const rows = [];
    for (let i = first; i < last; i++) {
      const [id, depth] = S.flat[i];
      const w = S.ws.get(id);
      if (!w) continue;
      const kids = S.kids.get(id);
      rows.push(h('div', {
        class: 'row' + (id === S.selected ? ' sel' : ''), 'data-id': id, style: { top: i * ROW + 'px', paddingLeft: 6 + depth * 16 + 'px' },
        title: `${w.name} — ${w.status}`,
      },
      h('span', { class: 'twisty', 'data-toggle': id, text: kids ? (S.collapsed.has(id) ? '▸' : '▾') : '' }),
      h('span', { class: 'dot s-' + w.status, title: w.status }),
      h('span', { class: 'name', text: w.name }),
      h('span', { class: 'task', text: w.current_task || '' }),
      h('span', { class: 'beat', title: 'last heartbeat', text: w.last_heartbeat_at ? ago(w.last_heartbeat_at) : '' })));
    }
    space.replaceChildren(...rows);
  }
  function onTreeClick(ev) {
    const t = ev.target.closest('[data-toggle]');
    if (t && t.dataset.toggle && S.kids.has(t.dataset.toggle)) {
      const id = t.dataset.toggle;
      if (S.collapsed.has(id)) S.collapsed.delete(id); else S.collapsed.add(id);
      flatten();
      return;
    }
    const row = ev.target.closest('.row');
    if (row) select(row.dataset.id);
  }
  // A workspace whose heartbeat may have changed (the visible rows, now and then). True when the tree's shape changed.
  async function fetchOne(id) {
    let w;
    try { w = await get('/workspaces/' + id); } catch (_) { return false; } // gone or refused: the next event tells
    const old = S.ws.get(id);
    S.ws.set(id, { ...old, ...w }); // the public view has no current_task: the one known stays
    if (id === S.selected) panelHead();
    return !old || (old.parent_id || null) !== (w.parent_id || null);
  }
  async function refreshOne(id) {
    if (await fetchOne(id)) reindex(); else paint();
  }
  // Workspaces the events name but the page does not know (created since): gathered, and read at most once a
  // second — a few one by one, many with the list — then one reindex. An import of 10,000 costs a few list reads per
  // open console, not 10,000 requests and 10,000 reindexes.
  function unknownSeen(id) {
    S.unknown.add(id);
    if (!S.fetching) later('unknown', NEW_REFRESH_MS, fetchUnknown);
  }
  async function fetchUnknown() {
    const ids = [...S.unknown];
    S.unknown.clear();
    S.fetching = true;
    try {
      if (ids.length <= NEW_FEW) {
        await Promise.all(ids.map(fetchOne));
      } else {
        // only the rows the page lacks: the ones it has may be newer (from events) than this list
        for (const w of await listOrg()) if (!S.ws.has(w.id)) S.ws.set(w.id, w);
      }
      reindex();
    } catch (_) { /* refused or signed out: the next event asks again */ } finally {
      S.fetching = false;
      if (S.unknown.size) later('unknown', NEW_REFRESH_MS, fetchUnknown);
    }
  }
  function refreshVisible() {
    const [first, last] = visibleRange();
    for (let i = first; i < last && i < first + 60; i++) refreshOne(S.flat[i][0]);
  }

  // ---- the event stream (/ws, resumed with `since` after every reconnect) ----------------------------------
  function setLive(on) {
    const l = $('live');
    l.className = 'live ' + (on ? 'on' : 'off');
    l.textContent = on ? 'live' : 'reconnecting…';
  }
  function connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    // a reconnect resumes after the last id the stream sent (or, if it sent none yet, the newest listed)
    const since = S.lastId || S.listedMax;
    const url = `${proto}//${location.host}/ws?token=${encodeURIComponent(S.token)}` + (since ? `&since=${since}` : '');
    const sock = new WebSocket(url);
    S.sock = sock;
    sock.onopen = () => { S.retry = 0; setLive(true); };
    sock.onmessage = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch (_) { return; }
      if (typeof ev.id === 'number') { if (ev.id <= S.lastId) return; S.lastId = ev.id; }
      if (S.held) S.held.push(ev); else apply(ev);
    };
    sock.onclose = () => {
      if (S.sock !== sock || !S.token) return;
      setLive(false);
      S.retry = Math.min(S.retry + 1, 5);
      later('reconnect', 500 * 2 ** S.retry, connect); // a timer of the session: sign-out cancels it
    };
  }
  function apply(ev) {
    const id = ev.workspace_id, p = ev.payload || {}, w = id && S.ws.get(id);
    feed(ev);
    // the row changes from the event's payload alone: no request per event
    if (STATUS_EVENTS[ev.event] && w) {
      w.status = STATUS_EVENTS[ev.event];
      if (p.delivery_mode) w.delivery_mode = p.delivery_mode;
    }
    if (ev.event === 'TASK_UPDATED' && w) { // sent by a heartbeat
      w.current_task = p.current_task || ''; w.active_tasks = p.active_tasks;
      if (ev.timestamp) w.last_heartbeat_at = ev.timestamp;
    }
    if (ev.event === 'WORKSPACE_HEARTBEAT' && w && ev.timestamp) w.last_heartbeat_at = ev.timestamp;
    if (ev.event === 'WORKSPACE_REMOVED') { S.ws.delete(id); later('reindex', 100, reindex); }
    else if (id && !w) unknownSeen(id);
    if (w) paint();
    if (/^(APPROVAL|USER_TASK|REQUEST)_/.test(ev.event)) later('inbox', 200, loadInbox);
    if (id !== S.selected) return;
    if (S.tab === 'chat' && /^(USER_MESSAGE|A2A_RESPONSE|AGENT_MESSAGE)$/.test(ev.event) && !S.mine.has(p.message_id)) {
      later('chat', 300, loadTab);
    } else if ((S.tab === 'activity' && ev.event === 'ACTIVITY_LOGGED') || (S.tab === 'delegations' && /^DELEGATION_/.test(ev.event))) {
      later('tab', 300, loadTab);
    }
    if (STATUS_EVENTS[ev.event] || ev.event === 'TASK_UPDATED') panelHead();
  }
  function feed(ev) { // newest first, each id once: the recent list and the stream's first events may overlap
    if (ev.id) { if (S.feedIds.has(ev.id)) return; S.feedIds.add(ev.id); }
    const p = ev.payload || {};
    const what = p.current_task || p.message || p.content || p.title || p.action || p.status || p.error || '';
    const li = h('li', { 'data-id': ev.workspace_id || '', 'data-eid': ev.id || '' },
      h('span', { class: 'muted', text: clock(ev.timestamp) + ' ' }), h('b', { text: ev.event }), ' ',
      h('span', { text: nameOf(ev.workspace_id) }),
      what ? h('div', { class: 'muted', text: String(what).slice(0, 140) }) : null);
    const f = $('feed');
    let at = f.firstChild; // an id lower than ones shown (committed late) goes below them
    while (at && ev.id && Number(at.dataset.eid) > ev.id) at = at.nextSibling;
    f.insertBefore(li, at);
    while (f.children.length > FEED_MAX) { S.feedIds.delete(Number(f.lastChild.dataset.eid)); f.lastChild.remove(); }
    $('last-id').textContent = f.firstChild && f.firstChild.dataset.eid ? '#' + f.firstChild.dataset.eid : '';
  }

  // ---- the panel: a workspace (chat, activity, delegations, inbox), or the org's inbox -------------------
  function select(id) {
    S.selected = id;
    history.replaceState(null, '', id ? '#' + id : location.pathname); // a reload shows the same workspace
    if (!id) S.tab = 'inbox';
    else if (S.tab === 'inbox' && !S.userPickedInbox) S.tab = 'chat';
    panelHead();
    renderTree();
    loadTab();
  }
  function panelHead() {
    const w = S.ws.get(S.selected);
    $('ws-name').textContent = w ? w.name : 'Inbox of the org';
    $('ws-meta').textContent = w
      ? `${w.status} · ${w.role || 'no role'} · ${w.delivery_mode || ''} · last heartbeat ${ago(w.last_heartbeat_at)}` +
        (w.current_task ? ` · working on: ${w.current_task}` : '')
      : 'Everything waiting for a person, across the org. Pick a workspace on the left for its chat and activity.';
    for (const b of $('tabs').children) {
      b.classList.toggle('on', b.dataset.tab === S.tab);
      b.hidden = !w && b.dataset.tab !== 'inbox';
    }
    $('chat-form').hidden = !(w && S.tab === 'chat');
  }
  async function loadTab() {
    const id = S.selected, tab = S.tab, view = $('view');
    if (tab === 'chat' && S.sending.get(id)) return; // the exchange in flight reloads it when it ends
    const fresh = (nodes) => { if (S.selected === id && S.tab === tab) view.replaceChildren(...nodes); };
    try {
      if (tab === 'chat') fresh(await chatView(id));
      else if (tab === 'activity') fresh(activityView(await get(`/workspaces/${id}/activity?limit=50`)));
      else if (tab === 'delegations') fresh(delegationsView(await get(`/workspaces/${id}/delegations?limit=50`)));
      else fresh(inboxView(id));
      if (tab === 'chat') view.scrollTop = view.scrollHeight;
    } catch (e) { if (!(e instanceof SignedOut)) fresh([h('p', { class: 'error', text: e.message })]); }
  }
  function bubble(role, text, ts) {
    return h('div', { class: 'bubble ' + role }, h('small', { text: `${role} ${clock(ts)}` }), text);
  }
  async function chatView(id) {
    const r = await get(`/workspaces/${id}/chat-history?limit=50`);
    const out = r.messages.map((m) => bubble(m.role, m.content || (m.attachments ? '[attachment]' : ''), m.timestamp));
    return out.length ? out : [h('p', { class: 'muted', text: 'No messages yet. Say hello below.' })];
  }
  function replyText(r) { // the text of an A2A reply, as chat-history reads it
    if (!r) return '';
    const res = r.result !== undefined ? r.result : r;
    if (typeof res === 'string') return res;
    const texts = [];
    const parts = (ps) => (ps || []).forEach((p) => { const t = p.text || (p.root && p.root.text); if (t) texts.push(t); });
    parts(res.parts);
    (res.artifacts || []).forEach((a) => parts(a.parts));
    if (res.status && res.status.message) parts(res.status.message.parts);
    if (texts.length) return texts.join('\n');
    if (r.queued || r.status === 'queued') return '(queued: the agent gets it when it next asks or has room)';
    if (r.error) return 'error: ' + (r.error.message || r.error);
    return '';
  }
  async function sendChat(ev) {
    ev.preventDefault();
    const input = $('chat-input'), text = input.value.trim(), id = S.selected;
    if (!text || !id) return;
    input.value = '';
    const mid = uuid();
    S.mine.add(mid);
    S.sending.set(id, (S.sending.get(id) || 0) + 1);
    const view = $('view');
    if (view.querySelector('p.muted')) view.replaceChildren();
    view.append(bubble('user', text, new Date().toISOString()));
    const pending = bubble('agent', '…', null);
    view.append(pending);
    view.scrollTop = view.scrollHeight;
    try {
      const r = await post(`/workspaces/${id}/a2a`, {
        jsonrpc: '2.0', id: mid, method: 'message/send',
        params: { message: { role: 'user', messageId: mid, parts: [{ kind: 'text', text }] } },
      });
      settle(bubble(r && r.error ? 'system' : 'agent', replyText(r) || '(no text in the reply)', new Date().toISOString()));
    } catch (e) {
      settle(bubble('system', 'not sent: ' + e.message, new Date().toISOString()));
    }
    function settle(b) {
      S.sending.set(id, S.sending.get(id) - 1);
      if (pending.isConnected) { pending.replaceWith(b); view.scrollTop = view.scrollHeight; }
      else loadTab(); // the view was redrawn meanwhile: the history has the exchange
    }
  }
  function table(rows, cols) {
    if (!rows.length) return [h('p', { class: 'muted', text: 'Nothing yet.' })];
    return [h('table', {}, ...rows.map((r) => h('tr', {}, ...cols.map(([cls, f]) => h('td', { class: cls, text: f(r) ?? '' })))))];
  }
  function activityView(rows) {
    return table(rows, [
      ['t', (r) => clock(r.created_at)], ['', (r) => r.activity_type], ['', (r) => r.method || ''],
      ['', (r) => r.summary || r.error_detail || ''], ['', (r) => r.status || ''],
    ]);
  }
  function delegationsView(rows) {
    return table(rows, [
      ['t', (r) => clock(r.created_at)], ['', (r) => r.status], ['', (r) => '→ ' + nameOf(r.target_id)],
      ['', (r) => r.summary || ''], ['', (r) => r.error || r.response_preview || ''],
    ]);
  }

  // ---- the inbox: approvals, user tasks, requests waiting for a person ----------------------------------------
  async function loadInbox() {
    try {
      const [approvals, tasks, requests] = await Promise.all([
        get('/approvals/pending?limit=500'), get('/user-tasks/pending?limit=500'), get('/requests/pending?limit=500')]);
      S.inbox = { approvals, tasks, requests };
      const n = approvals.length + tasks.length + requests.length;
      $('inbox-count').textContent = n ? `(${n})` : '';
      if (S.tab === 'inbox') loadTab();
    } catch (e) {
      if (!(e instanceof SignedOut) && S.tab === 'inbox') $('view').replaceChildren(h('p', { class: 'error', text: e.message }));
    }
  }
  function act(label, fn, primary) {
    return h('button', {
      class: primary ? 'primary' : '', text: label,
      onclick: async (ev) => {
        const item = ev.target.closest('.item');
        item.querySelectorAll('button').forEach((b) => { b.disabled = true; });
        try { await fn(item); await loadInbox(); } catch (e) {
          item.querySelector('.out').textContent = e.message;
          item.querySelectorAll('button').forEach((b) => { b.disabled = false; });
        }
      },
    });
  }
  function item(kind, title, detail, ws, acts) {
    return h('div', { class: 'item' },
      h('div', {}, h('span', { class: 'tag', text: kind }), h('span', { class: 'title', text: title })),
      detail ? h('div', { text: detail }) : null,
      h('div', { class: 'muted', text: ws ? 'from ' + ws : '' }),
      h('div', { class: 'acts' }, ...acts), h('div', { class: 'out error' }));
  }
  function inboxView(id) {
    if (!S.inbox) return [h('p', { class: 'muted', text: 'Loading…' })];
    const mine = (wsid) => !id || wsid === id;
    const out = [];
    for (const a of S.inbox.approvals.filter((x) => mine(x.workspace_id))) {
      const decide = (decision) => () => post(`/workspaces/${a.workspace_id}/approvals/${a.id}/decide`, { decision, decided_by: 'console' });
      out.push(item('approval', a.action, a.reason, a.workspace_name || nameOf(a.workspace_id),
        [act('Approve', decide('approved'), true), act('Deny', decide('denied'))]));
    }
    for (const t of S.inbox.tasks.filter((x) => mine(x.workspace_id))) {
      const resolve = (status) => () => post(`/workspaces/${t.workspace_id}/user-tasks/${t.id}/resolve`, { status, resolved_by: 'console' });
      out.push(item('task', t.title, t.detail, t.workspace_name || nameOf(t.workspace_id),
        [act('Done', resolve('done'), true), act('Dismiss', resolve('dismissed'))]));
    }
    for (const r of S.inbox.requests.filter((x) => mine(x.requester_id) || mine(x.recipient_id))) {
      const respond = (action) => () => post(`/requests/${r.id}/respond`, { action, responder_type: 'user', responder_id: 'admin' });
      const reply = async (el) => {
        const body = el.querySelector('input').value.trim();
        if (!body) throw new ApiError('write an answer first');
        await post(`/requests/${r.id}/messages`, { body, author_type: 'user', author_id: 'admin' });
      };
      out.push(item(r.kind + ' request', r.title, r.detail, r.workspace_name || nameOf(r.requester_id), [
        act(r.kind === 'approval' ? 'Approve' : 'Done', respond(r.kind === 'approval' ? 'approved' : 'done'), true),
        act('Reject', respond('rejected')),
        h('input', { placeholder: 'answer or ask for more' }), act('Reply', reply),
      ]));
    }
    return out.length ? out : [h('p', { class: 'muted', text: 'Nothing waits for a person.' })];
  }

  // ---- wiring -----------------------------------------------------------------------------------------------
  document.addEventListener('DOMContentLoaded', () => {
    $('signin').addEventListener('submit', (ev) => {
      ev.preventDefault();
      S.token = $('token').value.trim();
      $('token').value = '';
      sessionStorage.setItem('colony.token', S.token);
      start();
    });
    $('signout').addEventListener('click', () => signOut(''));
    $('tree').addEventListener('scroll', () => requestAnimationFrame(renderTree));
    // on press, not click: the rows are redrawn as events arrive, and a click needs press and release on one element
    $('tree').addEventListener('mousedown', (ev) => { if (ev.button === 0) onTreeClick(ev); });
    $('filter').addEventListener('input', () => later('filter', 120, flatten));
    $('tabs').addEventListener('click', (ev) => {
      const b = ev.target.closest('button');
      if (!b) return;
      S.tab = b.dataset.tab;
      S.userPickedInbox = S.tab === 'inbox';
      panelHead();
      loadTab();
    });
    $('chat-form').addEventListener('submit', sendChat);
    $('feed').addEventListener('click', (ev) => {
      const li = ev.target.closest('li');
      if (li && S.ws.has(li.dataset.id)) select(li.dataset.id);
    });
    window.addEventListener('resize', renderTree);
    window.colonyConsole = { state: S }; // for the browser tests (and the curious): what the page knows
    if (S.token) start(); else signOut('');
  });
})();
