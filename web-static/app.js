// Bellwether dashboard: a thin client of the /api/v1 REST API (see api/openapi.yaml).
const $ = (id) => document.getElementById(id);
let cursor = null;

function token() {
  return localStorage.getItem('bw_token') || '';
}

async function api(path) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
  const body = res.status === 204 ? null : await res.json();
  if (!res.ok) {
    const e = body && body.error ? body.error : { message: res.statusText };
    throw new Error(`${res.status}: ${e.message}`);
  }
  return body;
}

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text == null ? '' : String(text);
  return td;
}

async function loadThings(reset) {
  $('error').textContent = '';
  if (reset) {
    cursor = null;
    $('things').replaceChildren();
  }
  const params = new URLSearchParams({ limit: '50' });
  const q = $('query').value.trim();
  if (q) params.set('query', q);
  if (cursor) params.set('cursor', cursor);
  try {
    const page = await api(`/api/v1/things?${params}`);
    for (const t of page.items) {
      const tr = document.createElement('tr');
      tr.append(cell(t.name), cell(t.hardware_type), cell(t.firmware_version),
        cell(Object.entries(t.attributes).map(([k, v]) => `${k}=${v}`).join(', ')),
        cell(t.updated_at));
      $('things').append(tr);
    }
    cursor = page.next_cursor || null;
    $('more').hidden = !cursor;
  } catch (e) {
    $('error').textContent = e.message;
  }
}

async function loadGroups() {
  try {
    const page = await api('/api/v1/groups?limit=100');
    $('groups').replaceChildren(...page.items.map((g) => {
      const li = document.createElement('li');
      li.textContent = `${g.name} (${g.type}${g.query ? `: ${g.query}` : ''})`;
      return li;
    }));
  } catch (e) {
    $('groups').replaceChildren();
  }
}

async function refreshAuth() {
  try {
    const me = await api('/api/v1/whoami');
    $('whoami').textContent = `signed in as ${me.name} (${me.role})`;
    await Promise.all([loadThings(true), loadGroups()]);
  } catch (e) {
    $('whoami').textContent = token() ? `token rejected (${e.message})` : 'no token';
  }
}

async function refreshReady() {
  try {
    const res = await fetch('/readyz');
    const body = await res.json();
    $('ready').textContent = res.ok ? 'ready' : `not ready: ${JSON.stringify(body.checks)}`;
    $('ready').className = res.ok ? 'ok' : 'fail';
  } catch (e) {
    $('ready').textContent = 'unreachable';
    $('ready').className = 'fail';
  }
}

$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  localStorage.setItem('bw_token', $('token').value.trim());
  $('token').value = '';
  refreshAuth();
});
$('filter-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  loadThings(true);
});
$('more').addEventListener('click', () => loadThings(false));

refreshReady();
setInterval(refreshReady, 5000);
refreshAuth();
