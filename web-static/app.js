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

// Terminal job statuses: no cancel button for them.
const JOB_DONE = new Set(['COMPLETED', 'CANCELED', 'DELETION_IN_PROGRESS']);
// The job whose executions are shown, or ''.
let shownJob = '';

function jobRow(j) {
  const c = j.counts || {};
  const total = j.target_count || 0;
  const finished = (c.succeeded || 0) + (c.failed || 0) + (c.timed_out || 0) +
    (c.rejected || 0) + (c.removed || 0) + (c.canceled || 0);
  const tr = document.createElement('tr');
  const name = document.createElement('td');
  const open = document.createElement('button');
  open.type = 'button';
  open.className = 'link';
  open.textContent = j.job_id;
  open.setAttribute('aria-label', `Show executions of ${j.job_id}`);
  open.addEventListener('click', () => loadExecutions(j.job_id));
  name.append(open);
  const progress = document.createElement('td');
  const bar = document.createElement('progress');
  bar.max = Math.max(total, 1);
  bar.value = finished;
  bar.setAttribute('aria-label', `${j.job_id}: ${finished} of ${total} finished`);
  progress.append(bar, ` ${finished}/${total}`);
  const actions = document.createElement('td');
  if (!JOB_DONE.has(j.status)) {
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.textContent = 'Cancel';
    cancel.setAttribute('aria-label', `Cancel ${j.job_id}`);
    cancel.addEventListener('click', () => cancelJob(j.job_id));
    actions.append(cancel);
  }
  tr.append(name, cell(j.status), progress, cell(c.succeeded || 0),
    cell((c.failed || 0) + (c.timed_out || 0) + (c.rejected || 0)), cell(c.in_progress || 0),
    cell(c.queued || 0), cell(j.created_at), actions);
  return tr;
}

async function loadJobs() {
  const mine = session;
  try {
    const page = await api('/api/v1/jobs?limit=20');
    if (mine !== session) return;
    $('jobs').replaceChildren(...page.items.map(jobRow));
    $('jobs-error').textContent = '';
  } catch (e) {
    if (mine !== session) return;
    $('jobs').replaceChildren();
    $('jobs-error').textContent = e.message;
  }
}

async function loadExecutions(jobId) {
  const mine = session;
  shownJob = jobId;
  try {
    const page = await api(`/api/v1/jobs/${encodeURIComponent(jobId)}/executions?limit=100`);
    if (mine !== session || shownJob !== jobId) return;
    $('executions-h').textContent = `Executions of ${jobId}`;
    $('executions').replaceChildren(...page.items.map((x) => {
      const tr = document.createElement('tr');
      tr.append(cell(x.thing), cell(x.status), cell(x.execution_number),
        cell(x.status_details ? JSON.stringify(x.status_details) : ''), cell(x.updated_at));
      return tr;
    }));
    $('executions-box').hidden = false;
  } catch (e) {
    if (mine === session) $('jobs-error').textContent = e.message;
  }
}

async function cancelJob(jobId) {
  if (!window.confirm(`Cancel job ${jobId}? Queued executions are canceled; running ones finish.`))
    return;
  try {
    const res = await fetch(`/api/v1/jobs/${encodeURIComponent(jobId)}/cancel`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token()}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ comment: 'canceled from the dashboard' }),
    });
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      throw new Error(`${res.status}: ${body && body.error ? body.error.message : res.statusText}`);
    }
  } catch (e) {
    $('jobs-error').textContent = e.message;
  }
  await loadJobs();
  if (shownJob === jobId) await loadExecutions(jobId);
}

async function loadReleases() {
  const mine = session;
  try {
    const page = await api('/api/v1/firmware/releases?limit=50');
    if (mine !== session) return;
    $('releases').replaceChildren(...page.items.map((r) => {
      const tr = document.createElement('tr');
      tr.append(cell(r.product), cell(r.firmware_version), cell(r.security_version),
        cell((r.hardware_types || []).join(', ')), cell(r.state), cell(r.download_count));
      return tr;
    }));
  } catch (e) {
    if (mine === session) $('releases').replaceChildren();
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
    await Promise.all([loadThings(true), loadGroups(), loadJobs(), loadReleases()]);
  } catch (e) {
    if (mine !== session) return;
    $('whoami').textContent = token() ? `token rejected (${e.message})` : 'no token';
    clearThings();
    $('groups').replaceChildren();
    $('jobs').replaceChildren();
    $('releases').replaceChildren();
    $('executions-box').hidden = true;
    shownJob = '';
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
// Jobs progress live: refresh the table (and the executions shown) every 5 s when signed in.
setInterval(() => {
  if (!token()) return;
  loadJobs();
  if (shownJob) loadExecutions(shownJob);
}, 5000);
refreshAuth();
