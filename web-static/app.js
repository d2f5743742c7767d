// Bellwether dashboard: a thin client of the /api/v1 REST API (see api/openapi.yaml).
const $ = (id) => document.getElementById(id);
// The listing shown: the query it was submitted with and the cursor of its next page. Every new
// listing bumps `listing`, so a late reply for an older one is dropped instead of mixed in.
let query = '';
let cursor = null;
let listing = 0;
// Bumped on every sign-in attempt: replies made with an earlier token are dropped.
let session = 0;

function token() {
  return localStorage.getItem('bw_token') || '';
}

async function api(path) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
  // A proxy in front may answer with HTML: fall back to the status text then.
  const body = res.status === 204 ? null : await res.json().catch(() => null);
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

function clearThings() {
  listing += 1;
  cursor = null;
  $('things').replaceChildren();
  $('more').hidden = true;
  $('error').textContent = '';
}

// loadThings(true) starts a new listing from the Query field; loadThings(false) appends the
// next page of the current one.
async function loadThings(reset) {
  if (reset) {
    clearThings();
    query = $('query').value.trim();
  }
  const mine = listing;
  const params = new URLSearchParams({ limit: '50' });
  if (query) params.set('query', query);
  if (cursor) params.set('cursor', cursor);
  $('more').hidden = true; // one page request at a time
  $('error').textContent = '';
  try {
    const page = await api(`/api/v1/things?${params}`);
    if (mine !== listing) return;
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
    if (mine !== listing) return;
    $('error').textContent = e.message;
    $('more').hidden = !cursor; // a failed "Load more" can be retried
  }
}

async function loadGroups() {
  const mine = session;
  try {
    const page = await api('/api/v1/groups?limit=100');
    if (mine !== session) return;
    $('groups').replaceChildren(...page.items.map((g) => {
      const li = document.createElement('li');
      li.textContent = `${g.name} (${g.type}${g.query ? `: ${g.query}` : ''})`;
      return li;
    }));
  } catch (e) {
    if (mine === session) $('groups').replaceChildren();
  }
}

async function refreshAuth() {
  session += 1;
  const mine = session;
  try {
    const me = await api('/api/v1/whoami');
    if (mine !== session) return;
    $('whoami').textContent = `signed in as ${me.name} (${me.role})`;
    await Promise.all([loadThings(true), loadGroups()]);
  } catch (e) {
    if (mine !== session) return;
    $('whoami').textContent = token() ? `token rejected (${e.message})` : 'no token';
    clearThings();
    $('groups').replaceChildren();
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
