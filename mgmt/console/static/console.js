// Junction web console: a single page over the management API, with no
// build step and no dependencies. Credentials are kept in sessionStorage
// (cleared when the tab closes or on log out) and sent as basic auth on
// each request; they never appear in a URL. Every DOM update goes through
// el() and text nodes, never HTML parsing, so names and payloads from the
// broker cannot inject markup.
'use strict';

// API lists every endpoint the console calls, as "METHOD /path" with
// {vhost} and {name} placeholders. The management tests request each one
// against a live broker, so keep every path the page uses in this table.
const API = {
  whoami: 'GET /api/whoami',
  overview: 'GET /api/overview',
  vhosts: 'GET /api/vhosts',
  queues: 'GET /api/queues',
  queuePut: 'PUT /api/queues/{vhost}/{name}',
  queueGet: 'POST /api/queues/{vhost}/{name}/get',
  queuePurge: 'DELETE /api/queues/{vhost}/{name}/contents',
  queueDelete: 'DELETE /api/queues/{vhost}/{name}',
  queueBindings: 'GET /api/queues/{vhost}/{name}/bindings',
  exchanges: 'GET /api/exchanges',
  exchangePut: 'PUT /api/exchanges/{vhost}/{name}',
  publish: 'POST /api/exchanges/{vhost}/{name}/publish',
  exchangeSourceBindings: 'GET /api/exchanges/{vhost}/{name}/bindings/source',
  exchangeDestBindings: 'GET /api/exchanges/{vhost}/{name}/bindings/destination',
  bindings: 'GET /api/bindings',
  bindQueue: 'POST /api/bindings/{vhost}/e/{source}/q/{dest}',
  bindExchange: 'POST /api/bindings/{vhost}/e/{source}/e/{dest}',
  unbindQueue: 'DELETE /api/bindings/{vhost}/e/{source}/q/{dest}/{props}',
  unbindExchange: 'DELETE /api/bindings/{vhost}/e/{source}/e/{dest}/{props}',
  exchangeDelete: 'DELETE /api/exchanges/{vhost}/{name}',
  connections: 'GET /api/connections',
  connectionClose: 'DELETE /api/connections/{name}',
  channels: 'GET /api/channels',
  consumers: 'GET /api/consumers',
  users: 'GET /api/users',
  userPut: 'PUT /api/users/{user}',
  permissions: 'GET /api/permissions',
  permissionPut: 'PUT /api/permissions/{vhost}/{user}',
  permissionDelete: 'DELETE /api/permissions/{vhost}/{user}',
  userDelete: 'DELETE /api/users/{user}',
  vhostPut: 'PUT /api/vhosts/{vhost}',
  vhostDelete: 'DELETE /api/vhosts/{vhost}',
  policies: 'GET /api/policies',
  policyPut: 'PUT /api/policies/{vhost}/{name}',
  policyDelete: 'DELETE /api/policies/{vhost}/{name}',
  faces: 'GET /api/junction/faces',
  mqttClients: 'GET /api/junction/mqtt/clients',
  sqsQueues: 'GET /api/junction/sqs/queues',
  snsTopics: 'GET /api/junction/sns/topics',
  snsSubscriptions: 'GET /api/junction/sns/subscriptions',
  kinesisStreams: 'GET /api/junction/kinesis/streams',
};

const POLL_MS = 5000;     // refresh period of the visible page
const HISTORY = 60;       // chart points kept (5 minutes at POLL_MS)
const AUTH_KEY = 'junction.auth';
const USER_KEY = 'junction.user';

const state = {
  auth: sessionStorage.getItem(AUTH_KEY),
  user: sessionStorage.getItem(USER_KEY),
  timer: null,
  page: null,
  gen: 0,                     // route generation: a poll of an older page stops
  prev: null,                 // last counters sample, for client-side rates
  series: {},                 // chart name -> {label -> [values]}
  times: [],
  selectedQueue: null,        // {vhost, name} on the queues page
  selectedExchange: null,     // {vhost, name} on the exchanges page
};

// ---- DOM helpers -----------------------------------------------------

function $(id) { return document.getElementById(id); }

// el builds an element: el('td', {class: 'num'}, 'text', childNode).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function fmtNum(n) {
  if (typeof n !== 'number' || !isFinite(n)) return n === undefined || n === null ? '' : String(n);
  if (Number.isInteger(n)) return n.toLocaleString('en');
  return n.toLocaleString('en', { maximumFractionDigits: 1 });
}

// table renders rows under columns [{label, get(row), num}]; onClick(row)
// makes rows clickable; key(row) marks the selected row.
function table(columns, rows, opts = {}) {
  if (!rows || rows.length === 0) return el('p', { class: 'empty' }, opts.empty || 'None.');
  const head = el('tr', {}, columns.map(c => el('th', { class: c.num ? 'num' : null }, c.label)));
  const body = rows.map(r => el('tr', {
    class: [opts.onClick ? 'clickable' : '', opts.selected && opts.selected(r) ? 'selected' : ''].join(' ').trim() || null,
    onclick: opts.onClick ? () => opts.onClick(r) : null,
  }, columns.map(c => {
    const v = c.get(r);
    return el('td', { class: c.num ? 'num' : null }, c.num ? fmtNum(v) : v);
  })));
  return el('table', { id: opts.id }, el('thead', {}, head), el('tbody', {}, body));
}

// replace puts node (or an array of nodes) in place of the children of
// the element with id.
function replace(id, node) {
  const old = $(id);
  if (old) old.replaceChildren(...[node].flat());
}

function setStatus(text, cls) {
  const s = $('status');
  s.textContent = text || '';
  s.className = 'status ' + (cls || '');
}

// ---- forms -------------------------------------------------------------

// fillSelect lists options (strings, or [value, label] pairs) in the select
// with id. It leaves an unchanged list alone (a user may be choosing) and
// keeps the chosen value when it is still listed.
function fillSelect(id, options) {
  const sel = $(id);
  if (!sel) return;
  const opts = options.map(o => Array.isArray(o) ? o : [o, o]);
  const same = sel.options.length === opts.length &&
    opts.every(([v, l], i) => sel.options[i].value === v && sel.options[i].textContent === l);
  if (same) return;
  const keep = sel.value;
  sel.replaceChildren(...opts.map(([v, l]) => el('option', { value: v }, l)));
  if (opts.some(([v]) => v === keep)) sel.value = keep;
}

// fillList puts suggestions into the datalist with id.
function fillList(id, values) {
  const list = $(id);
  if (list) list.replaceChildren(...[...new Set(values)].sort().map(v => el('option', { value: v })));
}

// fillVhosts lists the virtual hosts in the selects with these ids.
async function fillVhosts(...ids) {
  if (!ids.some(id => $(id))) return;
  const names = (await api('vhosts')).map(v => v.name);
  for (const id of ids) fillSelect(id, names);
}

// parseObject parses a form field holding a JSON object ('' is {}); what
// names the field in the error.
function parseObject(text, what) {
  const t = text.trim();
  if (!t) return {};
  let v;
  try { v = JSON.parse(t); } catch (e) { throw new Error(what + ' is not valid JSON'); }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(what + ' must be a JSON object');
  return v;
}

// onSubmit runs run() when the form is submitted: its text goes into
// result, or, when it throws, what + " failed: " and the reason (the API's
// own reason for a refused request).
function onSubmit(form, result, what, run) {
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    result.className = '';
    result.textContent = 'Working…';
    try {
      const text = await run();
      result.className = 'ok';
      result.textContent = text;
    } catch (e) {
      result.className = 'error';
      result.textContent = what + ' failed: ' + e.message;
    }
  });
  return form;
}

// field is a labelled input (or select, textarea) with an id.
function field(label, tag, attrs, ...children) {
  return el('label', {}, label, el(tag, attrs, ...children));
}

// options builds <option>s from strings or [value, label] pairs.
function options(list) {
  return list.map(o => Array.isArray(o) ? el('option', { value: o[0] }, o[1]) : el('option', { value: o }, o));
}

// ---- API -------------------------------------------------------------

// api calls API[key] with the path parameters and an optional JSON body.
async function api(key, params = {}, body) {
  const [method, tmpl] = API[key].split(' ');
  const path = tmpl.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(params[k]));
  const res = await fetch(path, {
    method,
    // credentials 'omit': no cookies and no browser basic-auth prompt on a
    // 401; the Authorization header below is the only credential sent.
    credentials: 'omit',
    cache: 'no-store',
    headers: Object.assign({ Authorization: 'Basic ' + state.auth },
      body === undefined ? {} : { 'Content-Type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch (e) { data = text; } }
  // A 401 for bad credentials ends the session; one for a missing tag or
  // permission (a monitoring user opening Users) is shown on the page.
  if (res.status === 401 && key !== 'whoami' && data && data.reason === 'Login failed') {
    logout('Your credentials are no longer accepted; log in again.');
  }
  if (!res.ok) {
    const why = data && typeof data === 'object' ? (data.reason || data.error) : data;
    throw new Error(why || (res.status + ' ' + res.statusText));
  }
  return data;
}

// ---- login -----------------------------------------------------------

async function login(ev) {
  ev.preventDefault();
  const name = $('username').value;
  const token = btoa(unescape(encodeURIComponent(name + ':' + $('password').value)));
  state.auth = token;
  $('login-error').textContent = '';
  try {
    const me = await api('whoami');
    sessionStorage.setItem(AUTH_KEY, token);
    sessionStorage.setItem(USER_KEY, me.name);
    state.user = me.name;
    $('password').value = '';
    if (!location.hash || location.hash === '#/login') location.hash = '#/overview';
    showApp();
  } catch (e) {
    state.auth = null;
    $('login-error').textContent = 'Login failed: ' + e.message;
  }
}

function logout(why) {
  sessionStorage.removeItem(AUTH_KEY);
  sessionStorage.removeItem(USER_KEY);
  state.auth = state.user = null;
  stopPolling();
  $('app-view').hidden = $('nav').hidden = $('who').hidden = true;
  $('login-view').hidden = false;
  $('login-error').textContent = typeof why === 'string' ? why : '';
  $('username').focus();
}

function showApp() {
  $('login-view').hidden = true;
  $('app-view').hidden = $('nav').hidden = $('who').hidden = false;
  $('who-name').textContent = state.user;
  route();
}

// ---- routing and polling ---------------------------------------------

const PAGES = {
  overview: { render: renderOverview, refresh: refreshOverview },
  queues: { render: renderQueues, refresh: refreshQueues },
  exchanges: { render: renderExchanges, refresh: refreshExchanges },
  bindings: { render: renderBindings, refresh: refreshBindings },
  connections: { render: renderConnections, refresh: refreshConnections },
  mqtt: { render: renderMQTT, refresh: refreshMQTT },
  aws: { render: renderAWS, refresh: refreshAWS },
  users: { render: renderUsers, refresh: refreshUsers },
  vhosts: { render: renderVhosts, refresh: refreshVhosts },
  policies: { render: renderPolicies, refresh: refreshPolicies },
};

function route() {
  if (!state.auth) return;
  const name = (location.hash.replace(/^#\/?/, '') || 'overview').split('/')[0];
  const page = PAGES[name] ? name : 'overview';
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.getAttribute('href') === '#/' + page);
  }
  state.page = page;
  state.gen++;
  setStatus('');
  $('page').dataset.refreshed = '';
  $('page').replaceChildren(PAGES[page].render());
  poll();
}

function stopPolling() {
  if (state.timer) clearTimeout(state.timer);
  state.timer = null;
}

// poll refreshes the visible page now and every POLL_MS; the overview's
// counters are sampled whatever the page, so the charts have history.
async function poll() {
  stopPolling();
  const page = state.page, gen = state.gen;
  try {
    await PAGES[page].refresh();
    if (page !== 'overview') await sample();
    if (state.gen === gen) {
      setStatus('Updated ' + new Date().toLocaleTimeString('en-GB'));
      $('page').dataset.refreshed = page; // for tests: the page has its data
    }
  } catch (e) {
    if (state.auth && state.gen === gen) setStatus('Refresh failed: ' + e.message, 'error');
  }
  if (state.auth && state.gen === gen) state.timer = setTimeout(poll, POLL_MS);
}

// ---- overview: tiles and charts ---------------------------------------

const CHARTS = {
  rates: {
    title: 'Message rates (msg/s)',
    colors: ['#18202f', '#1e8a4c', '#2a6fdb', '#d08a00', '#9b3fc1', '#e05d9b', '#0f9aa8', '#7a8699', '#8f5a2a', '#c0362c'],
  },
  depth: { title: 'Queue depth (messages)', colors: ['#2a6fdb', '#d08a00', '#1e8a4c', '#9b3fc1', '#0f9aa8'] },
  conns: { title: 'Connections per face', colors: ['#2a6fdb', '#1e8a4c'] },
};

function renderOverview() {
  return el('div', {},
    el('h1', {}, 'Overview'),
    el('div', { class: 'tiles', id: 'tiles' }),
    el('div', { class: 'row' }, Object.entries(CHARTS).map(([name, c]) => el('div', { class: 'card' },
      el('h2', {}, c.title),
      el('canvas', { class: 'chart', id: 'chart-' + name }),
      el('div', { class: 'legend', id: 'legend-' + name })))),
    el('h2', {}, 'Listeners'),
    el('div', { id: 'listeners' }));
}

function tile(label, n) {
  return el('div', { class: 'tile' }, el('div', { class: 'n' }, fmtNum(n)), el('div', { class: 'l' }, label));
}

// rate prefers the API's own rate (message_stats.<k>_details.rate) and
// otherwise divides the counter's growth since the last sample.
function rate(now, prev, dt, get, apiRate) {
  if (typeof apiRate === 'number') return apiRate;
  const a = get(now), b = prev ? get(prev) : undefined;
  if (typeof a !== 'number' || typeof b !== 'number' || dt <= 0) return null;
  return Math.max(0, (a - b) / dt);
}

// FACES are the faces whose publishes the overview charts, as
// the faces endpoint names them in "published".
const FACES = { amqp: 'AMQP in', mqtt: 'MQTT in', sqs: 'SQS in', sns: 'SNS in', kinesis: 'Kinesis in' };

function faceRates(now, prev, dt) {
  const out = {};
  for (const [face, label] of Object.entries(FACES)) {
    out[label] = rate(now, prev, dt, s => (s.faces.published || {})[face]);
  }
  return out;
}

// sample reads the overview and the faces' figures, appends a point to
// every chart series and returns what it read.
async function sample() {
  const [ov, faces] = await Promise.all([api('overview'), api('faces')]);
  const now = { t: Date.now() / 1000, ov, faces };
  const prev = state.prev;
  const dt = prev ? now.t - prev.t : 0;
  const ms = ov.message_stats || {};
  const detail = k => (ms[k + '_details'] || {}).rate;
  const mq = faces.mqtt || {};
  const points = {
    rates: Object.assign({
      'publish (all faces)': rate(now, prev, dt, s => (s.ov.message_stats || {}).publish, detail('publish')),
      'deliver/get': rate(now, prev, dt, s => (s.ov.message_stats || {}).deliver_get, detail('deliver_get')),
    }, faceRates(now, prev, dt), {
      'Kinesis records': rate(now, prev, dt, s => (s.faces.aws || {}).kinesis_records_appended),
      'MQTT out': rate(now, prev, dt, s => (s.faces.mqtt || {}).messages_out),
      'unroutable': rate(now, prev, dt, s => (s.ov.message_stats || {}).drop_unroutable, detail('drop_unroutable')),
    }),
    depth: {
      ready: (ov.queue_totals || {}).messages_ready,
      unacknowledged: (ov.queue_totals || {}).messages_unacknowledged,
      total: (ov.queue_totals || {}).messages,
      'SQS queues': (faces.aws || {}).sqs_messages,
      'Kinesis records': (faces.aws || {}).kinesis_records,
    },
    conns: {
      AMQP: (faces.amqp || {}).connections,
      MQTT: mq.connected,
    },
  };
  state.prev = now;
  state.times.push(now.t);
  if (state.times.length > HISTORY) state.times.shift();
  for (const [chart, pts] of Object.entries(points)) {
    const series = state.series[chart] || (state.series[chart] = {});
    for (const [label, v] of Object.entries(pts)) {
      const s = series[label] || (series[label] = []);
      s.push(typeof v === 'number' ? v : null);
      if (s.length > HISTORY) s.shift();
    }
  }
  return now;
}

async function refreshOverview() {
  const { ov, faces } = await sample();
  const qt = ov.queue_totals || {}, ot = ov.object_totals || {}, mq = faces.mqtt || {}, aws = faces.aws || {};
  replace('tiles', [
    tile('queues', ot.queues), tile('messages', qt.messages), tile('ready', qt.messages_ready),
    tile('unacknowledged', qt.messages_unacknowledged), tile('exchanges', ot.exchanges),
    tile('consumers', ot.consumers), tile('AMQP connections', (faces.amqp || {}).connections),
    tile('MQTT clients', mq.connected), tile('MQTT sessions', mq.sessions),
    tile('SQS queues', aws.sqs_queues), tile('SNS topics', aws.sns_topics),
    tile('Kinesis streams', aws.kinesis_streams)]);
  for (const name of Object.keys(CHARTS)) drawChart(name);
  replace('listeners', table([
    { label: 'Protocol', get: l => l.protocol },
    { label: 'Address', get: l => l.ip_address },
    { label: 'Port', get: l => l.port },
  ], (ov.listeners || []).concat((ov.contexts || []).map(c => ({ protocol: c.description, ip_address: '', port: Number(c.port) })))));
  $('who-name').textContent = state.user + ' · ' + (ov.product_name || 'Junction') + ' ' + (ov.product_version || '');
}

// drawChart draws the chart's series as lines on its canvas, scaled to
// the largest value, with a few gridlines and a legend of latest values.
function drawChart(name) {
  const canvas = $('chart-' + name);
  if (!canvas) return;
  const series = state.series[name] || {};
  const colors = CHARTS[name].colors;
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 300, h = canvas.clientHeight || 200;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, h);
  const labels = Object.keys(series);
  let max = 0;
  for (const l of labels) for (const v of series[l]) if (v !== null && v > max) max = v;
  max = niceMax(max);
  const left = 48, right = 8, top = 8, bottom = 18;
  const pw = w - left - right, ph = h - top - bottom;
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#667085';
  g.strokeStyle = '#e4e7ec';
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = top + ph - (ph * i) / 4;
    g.beginPath(); g.moveTo(left, y); g.lineTo(left + pw, y); g.stroke();
    g.fillText(((max * i) / 4).toLocaleString('en', { maximumFractionDigits: 2 }), 4, y + 4);
  }
  g.fillText('last ' + Math.round((HISTORY * POLL_MS) / 60000) + ' min', left, h - 4);
  g.textAlign = 'right';
  g.fillText('now', left + pw, h - 4);
  g.textAlign = 'left';
  const legend = [];
  labels.forEach((l, i) => {
    const vals = series[l];
    const color = colors[i % colors.length];
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.beginPath();
    let pen = false;
    vals.forEach((v, j) => {
      if (v === null) { pen = false; return; }
      const x = left + pw - ((vals.length - 1 - j) * pw) / (HISTORY - 1);
      const y = top + ph - (v / max) * ph;
      if (pen) g.lineTo(x, y); else g.moveTo(x, y);
      pen = true;
    });
    g.stroke();
    const last = vals.length ? vals[vals.length - 1] : null;
    const swatch = el('i');
    swatch.style.background = color; // CSSOM, which the CSP allows (style attributes it does not)
    legend.push(el('span', {}, swatch, l + ': ' + (last === null ? '–' : fmtNum(last))));
  });
  replace('legend-' + name, el('span', { class: 'legend' }, legend));
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// ---- queues: list, get messages, publish -------------------------------

function renderQueues() {
  return el('div', {},
    el('h1', {}, 'Queues'),
    el('p', { class: 'empty' }, 'Click a queue to get messages from it, publish to it, purge or delete it.'),
    el('div', { id: 'queues' }),
    el('div', { id: 'queue-detail' }),
    el('div', { class: 'card' }, el('h2', {}, 'Add a queue'), declareForm()));
}

// declareForm declares a queue (PUT, as RabbitMQ's "Add a new queue").
function declareForm() {
  const result = el('p', { id: 'declare-result', role: 'status' });
  const form = el('form', { id: 'declare-form', class: 'row' },
    el('label', {}, 'Virtual host', el('select', { id: 'declare-vhost' })),
    el('label', {}, 'Name', el('input', { id: 'declare-name', required: true })),
    el('label', {}, 'Type', el('select', { id: 'declare-type' },
      el('option', { value: 'classic' }, 'classic'), el('option', { value: 'stream' }, 'stream'))),
    el('label', {}, 'Durability', el('select', { id: 'declare-durable' },
      el('option', { value: 'true' }, 'durable'), el('option', { value: 'false' }, 'transient'))),
    field('Auto delete', 'select', { id: 'declare-autodelete' }, options([['false', 'no'], ['true', 'yes']])),
    el('label', {}, 'Arguments (JSON object)', el('input', { id: 'declare-args', placeholder: '{"x-max-length": 1000}' })),
    el('div', {}, el('button', { id: 'declare-submit', type: 'submit' }, 'Add queue'), result));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const name = $('declare-name').value.trim();
    let args = {};
    try { args = JSON.parse($('declare-args').value.trim() || '{}'); } catch (e) {
      result.className = 'error';
      result.textContent = 'Arguments are not valid JSON.';
      return;
    }
    try {
      await api('queuePut', { vhost: $('declare-vhost').value, name }, {
        durable: $('declare-durable').value === 'true', auto_delete: $('declare-autodelete').value === 'true',
        type: $('declare-type').value, arguments: args,
      });
      result.className = 'ok';
      result.textContent = 'Queue ' + name + ' declared.';
      refreshQueues().catch(() => {});
    } catch (e) {
      result.className = 'error';
      result.textContent = 'Declare failed: ' + e.message;
    }
  });
  return form;
}

async function refreshQueues() {
  const qs = await api('queues');
  const vs = $('declare-vhost');
  if (vs && vs.options.length === 0) {
    const vhosts = await api('vhosts');
    vs.replaceChildren(...vhosts.map(v => el('option', { value: v.name }, v.name)));
  }
  const sel = state.selectedQueue;
  replace('queues', table([
    { label: 'Virtual host', get: q => q.vhost },
    { label: 'Name', get: q => q.name },
    { label: 'Type', get: q => q.type },
    { label: 'Features', get: q => [q.durable ? 'D' : '', q.auto_delete ? 'AD' : '', q.exclusive ? 'Excl' : ''].filter(Boolean).join(' ') },
    { label: 'State', get: q => q.state },
    { label: 'Ready', get: q => q.messages_ready, num: true },
    { label: 'Unacked', get: q => q.messages_unacknowledged, num: true },
    { label: 'Total', get: q => q.messages, num: true },
    { label: 'Consumers', get: q => q.consumers, num: true },
    { label: 'Policy', get: q => q.policy || '' },
    { label: 'In/s', get: q => ((q.message_stats || {}).publish_details || {}).rate, num: true },
    { label: 'Out/s', get: q => ((q.message_stats || {}).deliver_get_details || {}).rate, num: true },
  ], qs, {
    id: 'queue-table',
    empty: 'No queues.',
    onClick: q => selectQueue(q),
    selected: q => sel && sel.vhost === q.vhost && sel.name === q.name,
  }));
  if (sel && $('queue-bindings') && qs.some(q => q.vhost === sel.vhost && q.name === sel.name)) {
    const [bs, xs] = await Promise.all([api('queueBindings', sel), api('exchanges')]);
    replace('queue-bindings', bindingTable(bs, 'queue-binding-table', 'qbind-list-result', () => refreshQueues().catch(() => {}), true));
    fillList('qbind-sources', xs.filter(x => x.vhost === sel.vhost && x.name).map(x => x.name));
  }
}

function selectQueue(q) {
  state.selectedQueue = { vhost: q.vhost, name: q.name };
  replace('queue-detail', el('div', { class: 'row' },
    el('div', { class: 'card' }, el('h2', {}, 'Get messages from ' + q.name), getForm(q)),
    el('div', { class: 'card' }, el('h2', {}, 'Publish to ' + q.name),
      publishForm({ vhost: q.vhost, exchange: '', routingKey: q.name, fixed: true })),
    el('div', { class: 'card' }, el('h2', {}, 'Purge or delete ' + q.name), manageButtons(q)),
    el('div', { class: 'card wide' }, el('h2', {}, 'Bindings of ' + q.name),
      el('p', { id: 'qbind-list-result', role: 'status' }),
      el('div', { id: 'queue-bindings' }),
      el('h3', {}, 'Bind an exchange to ' + q.name),
      bindingForm({ prefix: 'qbind', vhost: q.vhost, dest: q.name, kind: 'queue' }))));
  refreshQueues().catch(() => {});
}

// armed holds the two-step buttons clicked once, by key, with the time
// of that click: a table refresh that redraws a button keeps its state.
const armed = new Map();
const ARM_MS = 5000;

// twoStep is a button for a destructive action: the first click arms it
// (its label asks for a second click, for ARM_MS), the second runs run(),
// whose text (or error) goes into result; then after() runs. No modal
// dialog, so the page stays scriptable.
function twoStep(key, attrs, label, confirmLabel, result, run, after) {
  const isArmed = () => Date.now() - (armed.get(key) || 0) < ARM_MS;
  const b = el('button', Object.assign({ type: 'button', class: 'secondary' }, attrs), isArmed() ? confirmLabel : label);
  b.addEventListener('click', async ev => {
    ev.stopPropagation(); // not a click on the row under it
    if (!isArmed()) {
      armed.set(key, Date.now());
      b.textContent = confirmLabel;
      setTimeout(() => { if (!isArmed()) b.textContent = label; }, ARM_MS + 50);
      return;
    }
    armed.delete(key);
    b.textContent = label;
    try {
      const text = await run();
      result.className = 'ok';
      result.textContent = text;
    } catch (e) {
      result.className = 'error';
      result.textContent = e.message;
    }
    if (after) after();
  });
  return b;
}

// manageButtons purges or deletes the queue.
function manageButtons(q) {
  const result = el('p', { id: 'manage-result', role: 'status' });
  const again = () => refreshQueues().catch(() => {});
  return el('div', {},
    twoStep('purge ' + q.vhost + ' ' + q.name, { id: 'purge-queue' }, 'Purge messages', 'Click again to purge', result, async () => {
      await api('queuePurge', q);
      return 'Queue ' + q.name + ' purged.';
    }, again), ' ',
    twoStep('delete ' + q.vhost + ' ' + q.name, { id: 'delete-queue' }, 'Delete queue', 'Click again to delete', result, async () => {
      await api('queueDelete', q);
      state.selectedQueue = null;
      replace('queue-detail', el('p', { class: 'ok', id: 'manage-result' }, 'Queue ' + q.name + ' deleted.'));
      return 'Queue ' + q.name + ' deleted.';
    }, again),
    result);
}

function getForm(q) {
  const result = el('div', { id: 'get-result' });
  const form = el('form', { id: 'get-form' },
    el('label', {}, 'Messages', el('input', { id: 'get-count', type: 'number', min: 1, value: 1 })),
    el('label', {}, 'Ack mode', el('select', { id: 'get-ackmode' },
      el('option', { value: 'ack_requeue_true' }, 'Nack, requeue (leave in queue)'),
      el('option', { value: 'ack_requeue_false' }, 'Ack (remove from queue)'),
      el('option', { value: 'reject_requeue_true' }, 'Reject, requeue'),
      el('option', { value: 'reject_requeue_false' }, 'Reject, no requeue'))),
    el('label', {}, 'Encoding', el('select', { id: 'get-encoding' },
      el('option', { value: 'auto' }, 'Auto (string, or base64 if not UTF-8)'),
      el('option', { value: 'base64' }, 'base64'))),
    el('button', { id: 'get-submit', type: 'submit' }, 'Get messages'),
    result);
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    result.replaceChildren(el('p', { class: 'empty' }, 'Getting…'));
    try {
      const msgs = await api('queueGet', q, {
        count: Math.max(1, Number($('get-count').value) || 1),
        ackmode: $('get-ackmode').value,
        encoding: $('get-encoding').value,
        truncate: 50000,
      });
      result.replaceChildren(msgs.length === 0 ? el('p', { class: 'empty' }, 'Queue is empty.') : el('div', {}, msgs.map(showMessage)));
      refreshQueues().catch(() => {});
    } catch (e) {
      result.replaceChildren(el('p', { class: 'error' }, 'Get failed: ' + e.message));
    }
  });
  return form;
}

function showMessage(m, i) {
  const props = m.properties || {};
  return el('div', { class: 'msg get-message' },
    el('div', {}, el('strong', {}, 'Message ' + (i + 1)), ' ',
      el('span', { class: 'tag' }, 'exchange: ' + (m.exchange || '(default)')),
      el('span', { class: 'tag' }, 'routing key: ' + m.routing_key),
      m.redelivered ? el('span', { class: 'tag' }, 'redelivered') : null,
      el('span', { class: 'tag' }, m.payload_bytes + ' bytes, ' + m.payload_encoding),
      el('span', { class: 'tag' }, m.message_count + ' left')),
    Object.keys(props).length ? el('pre', { class: 'payload' }, JSON.stringify(props, null, 1)) : null,
    el('pre', { class: 'payload message-payload' }, m.payload));
}

// publishForm publishes to an exchange; with fixed it publishes to one
// queue through the default exchange.
function publishForm(d) {
  const result = el('p', { id: 'pub-result', role: 'status' });
  const vhostField = d.fixed ? null : el('label', {}, 'Virtual host', el('select', { id: 'pub-vhost', onchange: () => fillExchanges() }));
  const exchangeField = d.fixed ? null : el('label', {}, 'Exchange', el('select', { id: 'pub-exchange' }));
  const form = el('form', { id: 'pub-form' },
    vhostField, exchangeField,
    el('label', {}, 'Routing key', el('input', { id: 'pub-key', value: d.routingKey || '', readonly: d.fixed || null })),
    el('label', {}, 'Delivery mode', el('select', { id: 'pub-mode' },
      el('option', { value: '1' }, '1 – transient'), el('option', { value: '2' }, '2 – persistent'))),
    el('label', {}, 'Headers (JSON object)', el('input', { id: 'pub-headers', placeholder: '{"k": "v"}' })),
    el('label', {}, 'Payload', el('textarea', { id: 'pub-payload' })),
    el('button', { id: 'pub-submit', type: 'submit' }, 'Publish message'),
    result);
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const vhost = d.fixed ? d.vhost : $('pub-vhost').value;
    const exchange = d.fixed ? '' : $('pub-exchange').value;
    const props = { delivery_mode: Number($('pub-mode').value) };
    const hdrs = $('pub-headers').value.trim();
    if (hdrs) {
      try { props.headers = JSON.parse(hdrs); } catch (e) {
        result.className = 'error';
        result.textContent = 'Headers are not valid JSON.';
        return;
      }
    }
    result.className = '';
    result.textContent = 'Publishing…';
    try {
      const r = await api('publish', { vhost, name: exchange || 'amq.default' }, {
        routing_key: $('pub-key').value, payload: $('pub-payload').value, payload_encoding: 'string', properties: props,
      });
      result.className = r.routed ? 'ok' : 'error';
      result.textContent = r.routed ? 'Message published.' : 'Message published, but not routed to any queue.';
    } catch (e) {
      result.className = 'error';
      result.textContent = 'Publish failed: ' + e.message;
    }
  });
  return form;
}

// ---- exchanges and bindings --------------------------------------------

// EXCHANGE_TYPES are the exchange types the broker declares.
const EXCHANGE_TYPES = ['direct', 'fanout', 'topic', 'headers'];

function renderExchanges() {
  return el('div', {},
    el('h1', {}, 'Exchanges'),
    el('p', { class: 'empty' }, 'Click an exchange to see its bindings, bind it to a queue or an exchange, or delete it.'),
    el('p', { id: 'exchange-result', role: 'status' }),
    el('div', { id: 'exchanges' }),
    el('div', { id: 'exchange-detail' }),
    el('div', { class: 'row' },
      el('div', { class: 'card' }, el('h2', {}, 'Add an exchange'), exchangeForm()),
      el('div', { class: 'card' }, el('h2', {}, 'Publish a message'), publishForm({ routingKey: '' }))));
}

// exchangeForm declares an exchange (PUT, as RabbitMQ's "Add a new exchange").
function exchangeForm() {
  const result = el('p', { id: 'xdeclare-result', role: 'status' });
  const form = el('form', { id: 'xdeclare-form', class: 'row form-row' },
    field('Virtual host', 'select', { id: 'xdeclare-vhost' }),
    field('Name', 'input', { id: 'xdeclare-name', required: true }),
    field('Type', 'select', { id: 'xdeclare-type' }, options(EXCHANGE_TYPES)),
    field('Durability', 'select', { id: 'xdeclare-durable' }, options([['true', 'durable'], ['false', 'transient']])),
    field('Auto delete', 'select', { id: 'xdeclare-autodelete' }, options([['false', 'no'], ['true', 'yes']])),
    field('Internal', 'select', { id: 'xdeclare-internal' }, options([['false', 'no'], ['true', 'yes']])),
    field('Arguments (JSON object)', 'input', { id: 'xdeclare-args', placeholder: '{"alternate-exchange": "unrouted"}' }),
    el('div', {}, el('button', { id: 'xdeclare-submit', type: 'submit' }, 'Add exchange'), result));
  return onSubmit(form, result, 'Declare', async () => {
    const name = $('xdeclare-name').value;
    if (!name) throw new Error('the name is empty');
    const args = parseObject($('xdeclare-args').value, 'Arguments');
    await api('exchangePut', { vhost: $('xdeclare-vhost').value, name }, {
      type: $('xdeclare-type').value, durable: $('xdeclare-durable').value === 'true',
      auto_delete: $('xdeclare-autodelete').value === 'true', internal: $('xdeclare-internal').value === 'true',
      arguments: args,
    });
    refreshExchanges().catch(() => {});
    return 'Exchange ' + name + ' declared.';
  });
}

let knownExchanges = [];

// builtIn: the default exchange and the amq.* ones, which cannot be
// deleted or redeclared.
function builtIn(x) { return x.name === '' || x.name.startsWith('amq.'); }

async function refreshExchanges() {
  const xs = await api('exchanges');
  knownExchanges = xs;
  const sel = state.selectedExchange;
  if (sel && !xs.some(x => x.vhost === sel.vhost && x.name === sel.name)) {
    state.selectedExchange = null;
    replace('exchange-detail', []);
  }
  replace('exchanges', table([
    { label: 'Virtual host', get: x => x.vhost },
    { label: 'Name', get: x => x.name || '(AMQP default)' },
    { label: 'Type', get: x => x.type },
    { label: 'Features', get: x => [x.durable ? 'D' : '', x.auto_delete ? 'AD' : '', x.internal ? 'I' : ''].filter(Boolean).join(' ') },
    { label: 'Arguments', get: x => x.arguments && Object.keys(x.arguments).length ? JSON.stringify(x.arguments) : '' },
    { label: 'Policy', get: x => x.policy || '' },
    { label: 'In/s', get: x => ((x.message_stats || {}).publish_in_details || {}).rate, num: true },
    { label: 'Out/s', get: x => ((x.message_stats || {}).publish_out_details || {}).rate, num: true },
    { label: '', get: x => builtIn(x) ? '' : twoStep('delete exchange ' + x.vhost + ' ' + x.name,
      { class: 'secondary delete-exchange', 'data-vhost': x.vhost, 'data-name': x.name }, 'Delete', 'Click again to delete',
      $('exchange-result'), async () => {
        await api('exchangeDelete', x);
        return 'Exchange ' + x.name + ' deleted.';
      }, () => refreshExchanges().catch(() => {})) },
  ], xs, {
    id: 'exchange-table',
    empty: 'No exchanges.',
    onClick: x => selectExchange(x),
    selected: x => sel && sel.vhost === x.vhost && sel.name === x.name,
  }));
  const vhosts = [...new Set(xs.map(x => x.vhost))].sort();
  fillSelect('xdeclare-vhost', vhosts);
  if ($('pub-vhost')) {
    fillSelect('pub-vhost', vhosts);
    fillExchanges();
  }
  if (state.selectedExchange) await refreshExchangeDetail();
}

// fillExchanges lists the chosen vhost's exchanges in the publish form.
function fillExchanges() {
  if (!$('pub-exchange')) return;
  const vhost = $('pub-vhost').value;
  fillSelect('pub-exchange', knownExchanges.filter(x => x.vhost === vhost && !x.internal)
    .map(x => [x.name, x.name || '(AMQP default)']));
}

// pathName is an exchange's name in an API path (amq.default for "").
function pathName(name) { return name || 'amq.default'; }

function selectExchange(x) {
  state.selectedExchange = { vhost: x.vhost, name: x.name };
  const label = x.name || '(AMQP default)';
  replace('exchange-detail', el('div', { class: 'card' },
    el('h2', {}, 'Bindings of exchange ' + label),
    el('p', { id: 'xbind-list-result', role: 'status' }),
    el('h3', {}, 'This exchange routes to'),
    el('div', { id: 'exchange-bindings-source' }),
    el('h3', {}, 'Routed to this exchange from'),
    el('div', { id: 'exchange-bindings-dest' }),
    x.name === '' ? el('p', { class: 'empty' }, 'The default exchange routes to every queue by its name; it takes no other bindings.')
      : el('div', {}, el('h3', {}, 'Add a binding from ' + label), bindingForm({ prefix: 'xbind', vhost: x.vhost, source: x.name, row: true }))));
  refreshExchanges().catch(() => {});
}

async function refreshExchangeDetail() {
  const sel = state.selectedExchange;
  if (!sel || !$('exchange-bindings-source')) return;
  const p = { vhost: sel.vhost, name: pathName(sel.name) };
  const [src, dst] = await Promise.all([api('exchangeSourceBindings', p), api('exchangeDestBindings', p)]);
  const again = () => refreshExchanges().catch(() => {});
  replace('exchange-bindings-source', bindingTable(src, 'exchange-source-table', 'xbind-list-result', again, true));
  replace('exchange-bindings-dest', bindingTable(dst, 'exchange-dest-table', 'xbind-list-result', again, true));
  fillList('xbind-dests', ($('xbind-dtype') || {}).value === 'exchange'
    ? knownExchanges.filter(x => x.vhost === sel.vhost && x.name).map(x => x.name)
    : (await api('queues')).filter(q => q.vhost === sel.vhost).map(q => q.name));
}

// bindingTable lists bindings with a button that removes each one (the
// default exchange's implicit bindings have none); the outcome goes into
// the element with resultId, then after() runs.
function bindingTable(bs, id, resultId, after, oneVhost) {
  return table([
    oneVhost ? null : { label: 'Virtual host', get: b => b.vhost },
    { label: 'Source', get: b => b.source || '(AMQP default)' },
    { label: 'Destination', get: b => b.destination },
    { label: 'Kind', get: b => b.destination_type },
    { label: 'Routing key', get: b => b.routing_key },
    { label: 'Arguments', get: b => b.arguments && Object.keys(b.arguments).length ? JSON.stringify(b.arguments) : '' },
    { label: '', get: b => b.source === '' ? '' : twoStep(
      ['unbind', b.vhost, b.source, b.destination_type, b.destination, b.properties_key].join('\u0000'),
      { class: 'secondary unbind', 'data-vhost': b.vhost, 'data-source': b.source, 'data-dest': b.destination,
        'data-kind': b.destination_type, 'data-key': b.routing_key }, 'Unbind', 'Click again to unbind',
      $(resultId), async () => {
        await api(b.destination_type === 'exchange' ? 'unbindExchange' : 'unbindQueue',
          { vhost: b.vhost, source: b.source, dest: b.destination, props: b.properties_key });
        return 'Unbound ' + b.source + ' → ' + b.destination + ' (' + (b.routing_key || 'no routing key') + ').';
      }, after) },
  ].filter(Boolean), bs, { id, empty: 'No bindings.' });
}

// bindingForm binds an exchange to a queue or an exchange (POST, as
// RabbitMQ's "Add binding"). d fixes some of vhost, source, dest and
// kind ('queue' or 'exchange'); the form asks for the rest. Its element
// ids start with d.prefix.
function bindingForm(d) {
  const id = s => d.prefix + '-' + s;
  const result = el('p', { id: id('result'), role: 'status' });
  const form = el('form', { id: id('form'), class: d.row ? 'row form-row' : null },
    d.vhost === undefined ? field('Virtual host', 'select', { id: id('vhost'), onchange: () => refreshNow() }) : null,
    d.source === undefined ? field('From exchange', 'input', { id: id('source'), list: id('sources'), required: true }) : null,
    d.source === undefined ? el('datalist', { id: id('sources') }) : null,
    d.kind === undefined ? field('To', 'select', { id: id('dtype'), onchange: () => refreshNow() },
      options([['queue', 'queue'], ['exchange', 'exchange']])) : null,
    d.dest === undefined ? field(d.kind === undefined ? 'Destination name' : 'To ' + d.kind, 'input',
      { id: id('dest'), list: id('dests'), required: true }) : null,
    d.dest === undefined ? el('datalist', { id: id('dests') }) : null,
    field('Routing key', 'input', { id: id('key') }),
    field('Arguments (JSON object)', 'input', { id: id('args'), placeholder: '{"x-match": "all"}' }),
    el('div', {}, el('button', { id: id('submit'), type: 'submit' }, 'Bind'), result));
  return onSubmit(form, result, 'Bind', async () => {
    const vhost = d.vhost !== undefined ? d.vhost : $(id('vhost')).value;
    const source = d.source !== undefined ? d.source : $(id('source')).value;
    const kind = d.kind !== undefined ? d.kind : $(id('dtype')).value;
    const dest = d.dest !== undefined ? d.dest : $(id('dest')).value;
    if (!source) throw new Error('the source exchange is empty');
    if (!dest) throw new Error('the destination is empty');
    const key = $(id('key')).value;
    const args = parseObject($(id('args')).value, 'Arguments');
    await api(kind === 'exchange' ? 'bindExchange' : 'bindQueue', { vhost, source, dest }, { routing_key: key, arguments: args });
    refreshNow();
    return 'Bound ' + source + ' → ' + kind + ' ' + dest + (key ? ' with routing key ' + key : '') + '.';
  });
}

// refreshNow refreshes the visible page at once (after a change).
function refreshNow() {
  const page = state.page;
  if (page) PAGES[page].refresh().catch(() => {});
}

function renderBindings() {
  return el('div', {},
    el('h1', {}, 'Bindings'),
    el('p', { id: 'binding-result', role: 'status' }),
    el('div', { id: 'bindings' }),
    el('div', { class: 'card' }, el('h2', {}, 'Add a binding'), bindingForm({ prefix: 'bind', row: true })));
}

async function refreshBindings() {
  const [bs, xs, qs] = await Promise.all([api('bindings'), api('exchanges'), api('queues')]);
  replace('bindings', bindingTable(bs, 'binding-table', 'binding-result', () => refreshBindings().catch(() => {})));
  await fillVhosts('bind-vhost');
  const vhost = ($('bind-vhost') || {}).value;
  fillList('bind-sources', xs.filter(x => x.vhost === vhost && x.name).map(x => x.name));
  fillList('bind-dests', ($('bind-dtype') || {}).value === 'exchange'
    ? xs.filter(x => x.vhost === vhost && x.name).map(x => x.name)
    : qs.filter(q => q.vhost === vhost).map(q => q.name));
}

// ---- connections, channels, consumers ----------------------------------

function renderConnections() {
  return el('div', {},
    el('h1', {}, 'Connections'),
    el('p', { id: 'close-result', role: 'status' }),
    el('div', { id: 'connections' }),
    el('h2', {}, 'Channels'), el('div', { id: 'channels' }),
    el('h2', {}, 'Consumers'), el('div', { id: 'consumers' }));
}

async function refreshConnections() {
  const [cs, chs, cons] = await Promise.all([api('connections'), api('channels'), api('consumers')]);
  replace('connections', table([
    { label: 'Name', get: c => c.name },
    { label: 'Protocol', get: c => c.protocol },
    { label: 'User', get: c => c.user },
    { label: 'Virtual host', get: c => c.vhost },
    { label: 'Client', get: c => ((c.client_properties || {}).product || '') + ' ' + ((c.client_properties || {}).version || '') },
    { label: 'State', get: c => c.state },
    { label: 'Channels', get: c => c.channels, num: true },
    { label: '', get: c => twoStep('close ' + c.name, { class: 'secondary close-connection', 'data-name': c.name }, 'Close', 'Click again to close',
      $('close-result'), async () => {
        await api('connectionClose', { name: c.name });
        return 'Connection ' + c.name + ' closed.';
      }, () => refreshConnections().catch(() => {})) },
  ], cs, { id: 'connection-table', empty: 'No AMQP connections.' }));
  replace('channels', table([
    { label: 'Channel', get: c => c.name },
    { label: 'User', get: c => c.user },
    { label: 'Virtual host', get: c => c.vhost },
    { label: 'Mode', get: c => c.confirm ? 'confirm' : (c.transactional ? 'tx' : '') },
    { label: 'Prefetch', get: c => c.prefetch_count, num: true },
    { label: 'Unacked', get: c => c.messages_unacknowledged, num: true },
    { label: 'Consumers', get: c => c.consumer_count, num: true },
  ], chs, { empty: 'No channels.' }));
  replace('consumers', table([
    { label: 'Queue', get: c => (c.queue || {}).name },
    { label: 'Virtual host', get: c => (c.queue || {}).vhost },
    { label: 'Tag', get: c => c.consumer_tag },
    { label: 'Channel', get: c => (c.channel_details || {}).name },
    { label: 'Ack', get: c => c.ack_required ? 'manual' : 'auto' },
    { label: 'Prefetch', get: c => c.prefetch_count, num: true },
  ], cons, { empty: 'No consumers.' }));
}

// ---- faces: MQTT and AWS -----------------------------------------------

function renderMQTT() {
  return el('div', {},
    el('h1', {}, 'MQTT clients and sessions'),
    el('div', { class: 'tiles', id: 'mqtt-tiles' }),
    el('div', { id: 'mqtt-clients' }));
}

async function refreshMQTT() {
  const [cs, faces] = await Promise.all([api('mqttClients'), api('faces')]);
  const m = faces.mqtt || {};
  replace('mqtt-tiles', [tile('connected', m.connected), tile('sessions', m.sessions),
    tile('subscriptions', m.subscriptions), tile('retained messages', m.retained),
    tile('messages received', m.messages_in), tile('messages sent', m.messages_out)]);
  replace('mqtt-clients', table([
    { label: 'Client id', get: c => c.client_id },
    { label: 'Virtual host', get: c => c.vhost },
    { label: 'User', get: c => c.user },
    { label: 'Connected', get: c => c.connected ? 'yes' : 'no (session kept)' },
    { label: 'Remote', get: c => c.remote },
    { label: 'MQTT', get: c => c.protocol_version === 5 ? '5' : (c.protocol_version === 4 ? '3.1.1' : '3.1') },
    { label: 'Clean', get: c => c.clean ? 'yes' : 'no' },
    { label: 'Subscriptions', get: c => (c.subscriptions || []).map(s => s.filter + ' (QoS ' + s.qos + ')').join(', ') },
    { label: 'In flight', get: c => c.inflight, num: true },
  ], cs, { id: 'mqtt-table', empty: 'No MQTT sessions.' }));
}

function renderAWS() {
  return el('div', {},
    el('h1', {}, 'SQS queues'),
    el('p', { class: 'empty' }, 'Queues created through SQS. Every queue on the Queues page is reachable over SQS too.'),
    el('div', { id: 'sqs-queues' }),
    el('h2', {}, 'SNS topics'), el('div', { id: 'sns-topics' }),
    el('h2', {}, 'SNS subscriptions'), el('div', { id: 'sns-subs' }),
    el('h2', {}, 'Kinesis streams'), el('div', { id: 'kinesis-streams' }));
}

async function refreshAWS() {
  const [qs, ts, ss, ks] = await Promise.all([api('sqsQueues'), api('snsTopics'), api('snsSubscriptions'), api('kinesisStreams')]);
  replace('sqs-queues', table([
    { label: 'Queue URL path', get: q => '/' + q.account + '/' + q.name },
    { label: 'Virtual host', get: q => q.vhost },
    { label: 'FIFO', get: q => q.fifo ? 'yes' : '' },
    { label: 'Visible', get: q => q.messages_ready, num: true },
    { label: 'In flight', get: q => q.messages_unacknowledged, num: true },
    { label: 'Visibility timeout (s)', get: q => (q.attributes || {}).VisibilityTimeout || '' },
    { label: 'Dead-letter target', get: q => q.dead_letter_target || '' },
  ], qs, { id: 'sqs-table', empty: 'No SQS queues.' }));
  replace('sns-topics', table([
    { label: 'Topic ARN', get: t => t.arn },
    { label: 'Virtual host', get: t => t.vhost },
    { label: 'Subscriptions', get: t => t.subscriptions, num: true },
  ], ts, { empty: 'No SNS topics.' }));
  replace('sns-subs', table([
    { label: 'Topic ARN', get: s => s.topic_arn },
    { label: 'Protocol', get: s => s.protocol },
    { label: 'Endpoint', get: s => s.endpoint },
    { label: 'Status', get: s => s.pending ? 'pending confirmation' : 'confirmed' },
  ], ss, { empty: 'No SNS subscriptions.' }));
  replace('kinesis-streams', table([
    { label: 'Stream ARN', get: k => k.arn },
    { label: 'Virtual host', get: k => k.vhost },
    { label: 'Mode', get: k => k.mode },
    { label: 'Open shards', get: k => k.open_shards, num: true },
    { label: 'All shards', get: k => k.shards, num: true },
    { label: 'Retention (h)', get: k => k.retention_hours, num: true },
    { label: 'Records', get: k => k.records, num: true },
    { label: 'Consumers', get: k => k.consumers, num: true },
  ], ks, { empty: 'No Kinesis streams.' }));
}

// ---- users, permissions, virtual hosts and policies ---------------------

// tagList is a user's tags as a list (the API gives a list or "a,b").
function tagList(u) {
  return (Array.isArray(u.tags) ? u.tags : String(u.tags || '').split(',')).map(t => t.trim()).filter(Boolean);
}

function renderUsers() {
  return el('div', {},
    el('h1', {}, 'Users'),
    el('p', { id: 'user-result', role: 'status' }),
    el('div', { id: 'users' }),
    el('div', { class: 'card' }, el('h2', {}, 'Add or update a user'), userForm()),
    el('h2', {}, 'Permissions'),
    el('p', { id: 'permission-result', role: 'status' }),
    el('div', { id: 'permissions' }),
    el('div', { class: 'card' }, el('h2', {}, 'Set permissions'), permissionForm()));
}

// userForm adds a user, or sets the password and tags of one (PUT).
function userForm() {
  const result = el('p', { id: 'uform-result', role: 'status' });
  const form = el('form', { id: 'uform', class: 'row' },
    field('Username', 'input', { id: 'uform-name', required: true, autocomplete: 'off' }),
    field('Password', 'input', { id: 'uform-password', type: 'password', autocomplete: 'new-password' }),
    field('Tags (comma-separated)', 'input', { id: 'uform-tags', list: 'uform-taglist', placeholder: 'management' }),
    el('datalist', { id: 'uform-taglist' }, options(['administrator', 'monitoring', 'policymaker', 'management', 'impersonator'])),
    el('div', {}, el('button', { id: 'uform-submit', type: 'submit' }, 'Save user'), result));
  return onSubmit(form, result, 'Saving the user', async () => {
    const name = $('uform-name').value;
    if (!name) throw new Error('the username is empty');
    const body = { tags: $('uform-tags').value.split(',').map(t => t.trim()).filter(Boolean).join(',') };
    const pw = $('uform-password').value;
    if (pw) body.password = pw;
    await api('userPut', { user: name }, body);
    $('uform-password').value = '';
    refreshNow();
    return 'User ' + name + ' saved.';
  });
}

// permissionForm sets a user's configure, write and read patterns in a
// vhost (PUT).
function permissionForm() {
  const result = el('p', { id: 'pform-result', role: 'status' });
  const form = el('form', { id: 'pform', class: 'row' },
    field('User', 'select', { id: 'pform-user' }),
    field('Virtual host', 'select', { id: 'pform-vhost' }),
    field('Configure regexp', 'input', { id: 'pform-configure', value: '.*' }),
    field('Write regexp', 'input', { id: 'pform-write', value: '.*' }),
    field('Read regexp', 'input', { id: 'pform-read', value: '.*' }),
    el('div', {}, el('button', { id: 'pform-submit', type: 'submit' }, 'Set permissions'), result));
  return onSubmit(form, result, 'Setting permissions', async () => {
    const user = $('pform-user').value, vhost = $('pform-vhost').value;
    await api('permissionPut', { vhost, user }, {
      configure: $('pform-configure').value, write: $('pform-write').value, read: $('pform-read').value,
    });
    refreshNow();
    return 'Permissions of ' + user + ' in ' + vhost + ' set.';
  });
}

async function refreshUsers() {
  const [us, ps] = await Promise.all([api('users'), api('permissions')]);
  const again = () => refreshUsers().catch(() => {});
  replace('users', table([
    { label: 'Name', get: u => u.name },
    { label: 'Tags', get: u => tagList(u).map(t => el('span', { class: 'tag' }, t)) },
    { label: 'Virtual hosts', get: u => ps.filter(p => p.user === u.name).map(p => p.vhost).join(', ') },
    { label: '', get: u => u.name === state.user ? el('span', { class: 'empty' }, 'you') : twoStep('delete user ' + u.name,
      { class: 'secondary delete-user', 'data-name': u.name }, 'Delete', 'Click again to delete', $('user-result'), async () => {
        await api('userDelete', { user: u.name });
        return 'User ' + u.name + ' deleted.';
      }, again) },
  ], us, { id: 'user-table', empty: 'No users.' }));
  replace('permissions', table([
    { label: 'User', get: p => p.user },
    { label: 'Virtual host', get: p => p.vhost },
    { label: 'Configure', get: p => p.configure },
    { label: 'Write', get: p => p.write },
    { label: 'Read', get: p => p.read },
    { label: '', get: p => twoStep('clear permissions ' + p.vhost + '\u0000' + p.user,
      { class: 'secondary clear-permission', 'data-user': p.user, 'data-vhost': p.vhost }, 'Clear', 'Click again to clear',
      $('permission-result'), async () => {
        await api('permissionDelete', { vhost: p.vhost, user: p.user });
        return 'Permissions of ' + p.user + ' in ' + p.vhost + ' cleared.';
      }, again) },
  ], ps, { id: 'permission-table', empty: 'No permissions.' }));
  fillSelect('pform-user', us.map(u => u.name));
  await fillVhosts('pform-vhost');
}

function renderVhosts() {
  return el('div', {},
    el('h1', {}, 'Virtual hosts'),
    el('p', { id: 'vhost-result', role: 'status' }),
    el('div', { id: 'vhosts' }),
    el('div', { class: 'card' }, el('h2', {}, 'Add a virtual host'), vhostForm()));
}

// vhostForm adds a virtual host, or sets its description (PUT).
function vhostForm() {
  const result = el('p', { id: 'vform-result', role: 'status' });
  const form = el('form', { id: 'vform', class: 'row' },
    field('Name', 'input', { id: 'vform-name', required: true }),
    field('Description', 'input', { id: 'vform-description' }),
    el('div', {}, el('button', { id: 'vform-submit', type: 'submit' }, 'Add virtual host'), result));
  return onSubmit(form, result, 'Adding the virtual host', async () => {
    const name = $('vform-name').value;
    if (!name) throw new Error('the name is empty');
    await api('vhostPut', { vhost: name }, { description: $('vform-description').value });
    refreshNow();
    return 'Virtual host ' + name + ' added.';
  });
}

async function refreshVhosts() {
  const vs = await api('vhosts');
  replace('vhosts', table([
    { label: 'Name', get: v => v.name },
    { label: 'Description', get: v => v.description },
    { label: 'Messages', get: v => v.messages, num: true },
    { label: 'Ready', get: v => v.messages_ready, num: true },
    { label: 'Unacked', get: v => v.messages_unacknowledged, num: true },
    { label: '', get: v => twoStep('delete vhost ' + v.name,
      { class: 'secondary delete-vhost', 'data-name': v.name }, 'Delete', 'Click again to delete (and all it holds)',
      $('vhost-result'), async () => {
        await api('vhostDelete', { vhost: v.name });
        return 'Virtual host ' + v.name + ' deleted.';
      }, () => refreshVhosts().catch(() => {})) },
  ], vs, { id: 'vhost-table', empty: 'No virtual hosts.' }));
}

// APPLY_TO are the policy targets, as RabbitMQ names them.
const APPLY_TO = [['all', 'queues and exchanges'], ['queues', 'queues'], ['classic_queues', 'classic queues'],
  ['quorum_queues', 'quorum queues'], ['streams', 'streams'], ['exchanges', 'exchanges']];

function renderPolicies() {
  return el('div', {},
    el('h1', {}, 'Policies'),
    el('p', { id: 'policy-result', role: 'status' }),
    el('div', { id: 'policies' }),
    el('div', { class: 'card' }, el('h2', {}, 'Add or update a policy'), policyForm()));
}

// policyForm adds or replaces a policy (PUT).
function policyForm() {
  const result = el('p', { id: 'polform-result', role: 'status' });
  const form = el('form', { id: 'polform' },
    el('div', { class: 'row' },
      field('Virtual host', 'select', { id: 'polform-vhost' }),
      field('Name', 'input', { id: 'polform-name', required: true }),
      field('Pattern (regexp)', 'input', { id: 'polform-pattern', required: true, placeholder: '^orders\\.' }),
      field('Apply to', 'select', { id: 'polform-applyto' }, options(APPLY_TO)),
      field('Priority', 'input', { id: 'polform-priority', type: 'number', value: 0 })),
    field('Definition (JSON object)', 'textarea', { id: 'polform-definition', placeholder: '{"max-length": 1000, "overflow": "reject-publish"}' }),
    el('button', { id: 'polform-submit', type: 'submit' }, 'Save policy'),
    result);
  return onSubmit(form, result, 'Saving the policy', async () => {
    const name = $('polform-name').value, vhost = $('polform-vhost').value;
    if (!name) throw new Error('the name is empty');
    const definition = parseObject($('polform-definition').value, 'The definition');
    if (Object.keys(definition).length === 0) throw new Error('the definition is empty');
    await api('policyPut', { vhost, name }, {
      pattern: $('polform-pattern').value, 'apply-to': $('polform-applyto').value,
      priority: Number($('polform-priority').value) || 0, definition,
    });
    refreshNow();
    return 'Policy ' + name + ' saved.';
  });
}

async function refreshPolicies() {
  const ps = await api('policies');
  replace('policies', table([
    { label: 'Virtual host', get: p => p.vhost },
    { label: 'Name', get: p => p.name },
    { label: 'Pattern', get: p => p.pattern },
    { label: 'Apply to', get: p => p['apply-to'] },
    { label: 'Priority', get: p => p.priority, num: true },
    { label: 'Definition', get: p => JSON.stringify(p.definition || {}) },
    { label: '', get: p => twoStep('delete policy ' + p.vhost + '\u0000' + p.name,
      { class: 'secondary delete-policy', 'data-vhost': p.vhost, 'data-name': p.name }, 'Delete', 'Click again to delete',
      $('policy-result'), async () => {
        await api('policyDelete', { vhost: p.vhost, name: p.name });
        return 'Policy ' + p.name + ' deleted.';
      }, () => refreshPolicies().catch(() => {})) },
  ], ps, { id: 'policy-table', empty: 'No policies.' }));
  await fillVhosts('polform-vhost');
}

// ---- start -----------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', () => logout(''));
  window.addEventListener('hashchange', route);
  window.addEventListener('resize', () => { for (const n of Object.keys(CHARTS)) drawChart(n); });
  if (state.auth) showApp(); else logout('');
});
