// The chat page: pick a name and a room, then talk. Uses the client library
// served at /lib/ (client/rooms.js); no build step.

import { RoomsClient } from '/lib/rooms.js';

const $ = (sel) => document.querySelector(sel);

let rc = null;
let room = '';
let name = '';
// Who is there comes from the client's roster of the room: everyone, from
// `joined`, in a room of up to 100; in a bigger one, the counts and a
// first page of members, kept up to date by the batched presence.
const SHOWN = 50; // people listed at most; the rest are counted
let renderQueued = false;

function setStatus(state, text) {
  const el = $('#status');
  el.dataset.state = state;
  el.textContent = text;
  const open = state === 'connected';
  $('#text').disabled = !open;
  $('#send').disabled = !open;
}

// renderMembers lists the people present, one entry per user however many
// tabs they have open, at most SHOWN of them, and counts the others.
function renderMembers() {
  renderQueued = false;
  const r = rc?.roster(room);
  const people = (r?.people ?? []).map((p) => ({
    user: p.user || '(anonymous)', tabs: p.clients.length, me: p.clients.includes(rc.client),
  }));
  if (rc?.client && r && !people.some((p) => p.me)) people.push({ user: name, tabs: 1, me: true });
  people.sort((a, b) => (b.me - a.me) || a.user.localeCompare(b.user));
  const list = $('#members');
  list.replaceChildren();
  for (const p of people.slice(0, SHOWN)) {
    const li = document.createElement('li');
    li.textContent = p.user;
    if (p.me) {
      li.classList.add('me');
      li.textContent += ' (you)';
    }
    if (p.tabs > 1) {
      const tabs = document.createElement('small');
      tabs.textContent = ` ${p.tabs} tabs`;
      li.append(tabs);
    }
    list.append(li);
  }
  const users = r?.users ?? 0;
  $('#count').textContent = String(users);
  const others = users - Math.min(people.length, SHOWN);
  $('#others').hidden = others <= 0;
  $('#others').textContent = others === 1 ? 'and 1 other' : `and ${others.toLocaleString()} others`;
}

// In a big room many changes come at once: draw once per frame.
function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(renderMembers);
}

function userOf(client) {
  return rc?.roster(room)?.clients.find((m) => m.client === client)?.user;
}

function addLine(kind, who, text) {
  const li = document.createElement('li');
  li.className = kind;
  if (who) {
    const b = document.createElement('b');
    b.textContent = who;
    li.append(b, ' ');
  }
  const span = document.createElement('span');
  span.textContent = text;
  li.append(span);
  const list = $('#messages');
  list.append(li);
  list.scrollTop = list.scrollHeight;
}

// The text of a server message: its `text` field, a string as is, other
// JSON as JSON.
function messageText(data) {
  if (data && typeof data === 'object' && typeof data.text === 'string') return data.text;
  return typeof data === 'string' ? data : JSON.stringify(data);
}

// Why the server closed for good (the close codes after which the client
// does not reconnect); '' when the page closed the connection itself.
function closeExplanation(code, reason) {
  switch (code) {
    case 1000: return reason;
    case 4000: return 'you were disconnected by the operator';
    case 4003: return `the server refused the room (${reason})`;
    case 4008: return 'too many refused messages';
    default: return reason ? `${reason} (code ${code})` : `code ${code}`;
  }
}

function start() {
  const url = new URL('/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('name', name);
  rc = new RoomsClient(url);

  rc.on('welcome', ({ reconnected }) => {
    setStatus('connected', `Connected as ${name}`);
    if (reconnected) addLine('note', '', 'Reconnected.');
    renderMembers();
  });
  rc.on('joined', (j) => {
    if (j.room !== room) return;
    // A big room lists no one in `joined`: ask for a first page.
    if (!j.clients) rc.members(room, { limit: SHOWN }).catch(() => {});
    renderMembers();
  });
  rc.on('roster', (r) => {
    if (r.room === room) queueRender();
  });
  rc.on('left', (l) => {
    if (l.room === room && l.id === undefined) addLine('note', '', 'The server removed you from the room.');
  });
  rc.on('presence', (p) => {
    // A person arriving or leaving (not another tab of theirs); in a big
    // room's batches, nobody by name: the count says it.
    if (p.room !== room || p.batched) return;
    const who = p.user || '(anonymous)';
    const tabs = p.user === undefined ? 0 : rc.connectionsOf(room, p.user);
    if (p.event === 'join' && tabs <= 1) addLine('note', '', `${who} joined`);
    if (p.event === 'leave' && tabs === 0) addLine('note', '', `${who} left`);
  });
  rc.on('message', (m) => {
    if (m.room !== room) return;
    if (!m.from) {
      // Published by the server (admin API, `caddy rooms publish`,
      // rooms_publish): no sender, so no user name to show.
      addLine('server', 'Server', messageText(m.data));
      return;
    }
    const data = m.data && typeof m.data === 'object' ? m.data : { text: String(m.data) };
    const who = data.name || userOf(m.from) || m.from;
    addLine(m.from === rc.client ? 'mine' : 'theirs', who, String(data.text ?? ''));
  });
  rc.on('disconnected', ({ code, reason, willRetry }) => {
    if (willRetry) return; // `reconnecting` says the rest
    const why = closeExplanation(code, reason);
    setStatus('closed', why ? `Disconnected: ${why}` : 'Disconnected');
    if (why) addLine('error', '', `Disconnected: ${why}. Not reconnecting; reload the page to join again.`);
  });
  rc.on('reconnecting', ({ attempt, delay }) => {
    if (attempt === 1) addLine('note', '', 'Connection lost. Reconnecting…');
    setStatus('reconnecting', `Connection lost: reconnecting (attempt ${attempt}, in ${(delay / 1000).toFixed(1)} s)…`);
  });
  rc.on('error', (e) => addLine('error', '', `Server error: ${e.message || e.code}`));

  setStatus('connecting', 'Connecting…');
  rc.join(room).catch((err) => {
    addLine('error', '', `Could not join ${room}: ${err.message}`);
  });
}

$('#join-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  name = $('#name').value.trim();
  room = $('#room').value.trim();
  if (!name || !room) return;
  $('#join-form').hidden = true;
  $('#chat').hidden = false;
  $('#room-title').textContent = `# ${room}`;
  $('#messages').replaceChildren();
  start();
  $('#text').focus();
});

$('#send-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = $('#text');
  const text = input.value.trim();
  if (!text || !rc) return;
  input.value = '';
  try {
    await rc.publish(room, { text, name });
  } catch (err) {
    addLine('error', '', `Not sent (${err.code}): ${text}`);
  }
});

$('#leave').addEventListener('click', () => {
  rc?.close();
  rc = null;
  $('#chat').hidden = true;
  $('#join-form').hidden = false;
  setStatus('idle', 'Not connected');
});

setStatus('idle', 'Not connected');
