// The chat page: pick a name and a room, then talk. Uses the client library
// served at /lib/ (client/rooms.js); no build step.

import { RoomsClient } from '/lib/rooms.js';

const $ = (sel) => document.querySelector(sel);

let rc = null;
let room = '';
let name = '';
let count = 0;
// Members we know of: connection id -> name. The server has no member list
// snapshot; we learn the others from presence events and from messages.
const members = new Map();

function setStatus(state, text) {
  const el = $('#status');
  el.dataset.state = state;
  el.textContent = text;
  const open = state === 'connected';
  $('#text').disabled = !open;
  $('#send').disabled = !open;
}

function renderMembers() {
  const list = $('#members');
  list.replaceChildren();
  const sorted = [...members.entries()].sort((a, b) => a[1].localeCompare(b[1]));
  for (const [client, user] of sorted) {
    const li = document.createElement('li');
    li.textContent = user || '(anonymous)';
    if (client === rc?.client) {
      li.classList.add('me');
      li.textContent += ' (you)';
    }
    list.append(li);
  }
  $('#count').textContent = String(count);
  const others = count - members.size;
  $('#others').hidden = others <= 0;
  $('#others').textContent = others === 1 ? 'and 1 other' : `and ${others} others`;
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

  rc.on('welcome', ({ client, reconnected }) => {
    // A new connection has a new id; whom we knew is no longer sure.
    members.clear();
    members.set(client, name);
    setStatus('connected', `Connected as ${name}`);
    if (reconnected) addLine('note', '', 'Reconnected.');
    renderMembers();
  });
  rc.on('joined', (j) => {
    if (j.room !== room) return;
    count = j.members;
    renderMembers();
  });
  rc.on('left', (l) => {
    if (l.room === room && l.id === undefined) addLine('note', '', 'The server removed you from the room.');
  });
  rc.on('presence', (p) => {
    if (p.room !== room) return;
    count = p.members;
    const who = p.user || '(anonymous)';
    if (p.event === 'join') {
      members.set(p.client, p.user);
      addLine('note', '', `${who} joined`);
    } else {
      members.delete(p.client);
      addLine('note', '', `${who} left`);
    }
    renderMembers();
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
    const who = data.name || members.get(m.from) || m.from;
    if (!members.has(m.from)) {
      members.set(m.from, who);
      renderMembers();
    }
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
  members.clear();
  count = 0;
  $('#chat').hidden = true;
  $('#join-form').hidden = false;
  setStatus('idle', 'Not connected');
});

setStatus('idle', 'Not connected');
