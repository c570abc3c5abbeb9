// Turnpike live dashboard: reads the server-sent events of ./events (one sample per second, see
// dev.turnpike.metrics.Dashboard) and draws them. Plain JavaScript and canvas, nothing loaded from elsewhere.
'use strict';

const WINDOW = 300;          // seconds kept and charted
const MIN_SPAN = 60;         // seconds the charts span at least (a server just started has little history)
const AVERAGE_OVER = 10;     // seconds the route table averages over
let samples = [];            // oldest first
let clusters = [];
let selected = null;         // "site\u0000route" whose latency is charted, or null for all routes

const $ = (id) => document.getElementById(id);
const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const key = (r) => r.site + '\u0000' + r.route;
const label = (r) => (r.site ? r.site + ' / ' : '') + (r.route || '(no route)');

function connect() {
  const events = new EventSource('events' + location.search);
  events.addEventListener('history', (e) => {
    const h = JSON.parse(e.data);
    samples = h.samples.slice(-WINDOW);
    clusters = h.clusters;
    live(true);
    render();
  });
  events.addEventListener('sample', (e) => {
    const s = JSON.parse(e.data);
    samples.push(s.sample);
    if (samples.length > WINDOW) samples.shift();
    clusters = s.clusters;
    live(true);
    render();
  });
  events.onerror = () => live(false);   // EventSource reconnects by itself
}

function live(ok) {
  const el = $('status');
  el.textContent = ok ? 'live' : 'reconnecting…';
  el.className = 'status ' + (ok ? 'live' : 'connecting');
}

function fmt(n, digits) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (n >= 1000) return Math.round(n).toLocaleString('en');
  return n.toFixed(digits === undefined ? (n < 10 ? 1 : 0) : digits);
}

function pct(part, whole) {
  return whole > 0 ? (100 * part / whole).toFixed(part > 0 && part / whole < 0.001 ? 2 : 1) + '%' : '–';
}

function render() {
  const last = samples[samples.length - 1];
  if (!last) return;
  $('total-rps').textContent = fmt(last.rps, 0);
  $('total-5xx').textContent = fmt(last.e5, 0);
  $('total-4xx').textContent = fmt(last.e4, 0);
  $('total-latency').textContent = last.rps > 0
    ? fmt(last.p50, 1) + ' / ' + fmt(last.p95, 1) + ' / ' + fmt(last.p99, 1) + ' ms' : '–';
  $('connections').textContent = fmt(last.connections, 0);
  renderRoutes();
  renderCharts();
  renderClusters();
}

function renderRoutes() {
  const recent = samples.slice(-AVERAGE_OVER);
  const byRoute = new Map();
  for (const s of recent) {
    for (const r of s.routes) {
      const k = key(r);
      const agg = byRoute.get(k) || { site: r.site, route: r.route, count: 0, e4: 0, e5: 0, latest: null };
      agg.count += r.rps; agg.e4 += r.e4; agg.e5 += r.e5; agg.latest = r;
      byRoute.set(k, agg);
    }
  }
  const rows = [...byRoute.values()].sort((a, b) => b.count - a.count || label(a).localeCompare(label(b)));
  const body = document.querySelector('#routes tbody');
  body.replaceChildren();
  for (const r of rows) {
    const tr = document.createElement('tr');
    tr.dataset.route = r.site + '/' + r.route;
    if (selected === key(r)) tr.classList.add('selected');
    const cell = (text, cls) => {
      const td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      tr.appendChild(td);
      return td;
    };
    cell(r.site || '–', 'site');
    cell(r.route || '(no route)', 'route');
    cell(fmt(r.count / Math.max(1, recent.length)), 'num rps');
    const trend = cell('', 'trend');
    const canvas = document.createElement('canvas');
    canvas.width = 120; canvas.height = 24; canvas.style.width = '120px'; canvas.style.height = '24px';
    trend.appendChild(canvas);
    cell(fmt(r.latest.p50, 1), 'num p50');
    cell(fmt(r.latest.p95, 1), 'num p95');
    cell(fmt(r.latest.p99, 1), 'num p99');
    cell(pct(r.e4, r.count), 'num e4' + (r.e4 > 0 ? ' warn' : ''));
    cell(pct(r.e5, r.count), 'num e5' + (r.e5 > 0 ? ' bad' : ''));
    tr.addEventListener('click', () => {
      selected = selected === key(r) ? null : key(r);
      render();
    });
    body.appendChild(tr);
    sparkline(canvas, series((s) => routeIn(s, r)?.rps ?? 0));
  }
  $('no-routes').hidden = rows.length > 0;
}

function routeIn(sample, r) {
  return sample.routes.find((x) => x.site === r.site && x.route === r.route);
}

function series(pick) {
  return samples.map((s) => ({ t: s.t, v: pick(s) }));
}

function renderCharts() {
  drawChart($('rps-chart'), [
    { color: css('--rps'), points: series((s) => s.rps) },
    { color: css('--e4'), points: series((s) => s.e4) },
    { color: css('--e5'), points: series((s) => s.e5) },
  ], '');
  let of = 'all routes';
  let latency = (s) => s;
  if (selected !== null) {
    const [site, route] = selected.split('\u0000');
    of = label({ site, route });
    latency = (s) => routeIn(s, { site, route });
  }
  $('latency-of').textContent = of;
  const pick = (field) => series((s) => { const x = latency(s); return x && x.rps > 0 ? x[field] : null; });
  drawChart($('latency-chart'), [
    { color: css('--p50'), points: pick('p50') },
    { color: css('--p95'), points: pick('p95') },
    { color: css('--p99'), points: pick('p99') },
  ], ' ms');
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function drawChart(canvas, lines, unit) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight || 180;
  canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, h);
  const left = 48, right = 8, top = 8, bottom = 20;
  const now = samples.length ? samples[samples.length - 1].t : Date.now();
  const span = Math.min(WINDOW, Math.max(MIN_SPAN, samples.length ? (now - samples[0].t) / 1000 : 0));
  const from = now - span * 1000;
  let max = 0;
  for (const l of lines) for (const p of l.points) if (p.v !== null && p.v > max) max = p.v;
  max = niceMax(max);
  const x = (t) => left + (w - left - right) * (t - from) / (now - from);
  const y = (v) => top + (h - top - bottom) * (1 - v / max);
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = css('--muted'); g.strokeStyle = css('--line'); g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = max * i / 4, yy = Math.round(y(v)) + 0.5;
    g.beginPath(); g.moveTo(left, yy); g.lineTo(w - right, yy); g.stroke();
    g.textAlign = 'right'; g.fillText(fmt(v) + unit, left - 6, yy + 4);
  }
  g.textAlign = 'center';
  const step = span > 120 ? 60 : span > 60 ? 30 : 15;
  for (let s = 0; s <= span; s += step) {
    const text = s === 0 ? 'now' : '-' + (s % 60 === 0 ? s / 60 + 'm' : s + 's');
    g.textAlign = s === 0 ? 'right' : 'center';
    g.fillText(text, x(now - s * 1000), h - 4);
  }
  for (const l of lines) {
    g.strokeStyle = l.color; g.lineWidth = 1.6; g.beginPath();
    let pen = false;
    for (const p of l.points) {
      if (p.v === null || p.t < from) { pen = false; continue; }
      if (pen) g.lineTo(x(p.t), y(p.v)); else g.moveTo(x(p.t), y(p.v));
      pen = true;
    }
    g.stroke();
  }
}

function sparkline(canvas, points) {
  const g = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height;
  let max = 1;
  for (const p of points) if (p.v > max) max = p.v;
  g.strokeStyle = css('--rps'); g.lineWidth = 1; g.beginPath();
  const n = Math.max(MIN_SPAN, points.length);
  points.forEach((p, i) => {
    const xx = w * (i + n - points.length) / (n - 1), yy = h - 2 - (h - 4) * p.v / max;
    if (i === 0) g.moveTo(xx, yy); else g.lineTo(xx, yy);
  });
  g.stroke();
}

function since(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min';
  return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
}

function renderClusters() {
  const root = $('clusters');
  root.replaceChildren();
  for (const c of clusters) {
    const box = document.createElement('div');
    box.className = 'cluster';
    box.dataset.cluster = c.name;
    const title = document.createElement('h3');
    const up = c.endpoints.filter((e) => e.state === 'up').length;
    title.textContent = c.name + ' — ' + up + '/' + c.endpoints.length + ' up';
    const meta = document.createElement('div');
    meta.className = 'meta';
    meta.textContent = c.policy + (c.activeChecks ? ' · active health checks' : '')
      + (c.outlierDetection ? ' · outlier detection' : '');
    box.append(title, meta);
    for (const e of c.endpoints) {
      const row = document.createElement('div');
      row.className = 'endpoint';
      row.dataset.endpoint = c.name + '/' + e.address;
      row.dataset.state = e.state;
      const dot = document.createElement('span');
      dot.className = 'dot';
      const text = document.createElement('div');
      const addr = document.createElement('div');
      addr.className = 'addr';
      addr.textContent = e.address + (e.backup ? ' (backup)' : '');
      const state = document.createElement('div');
      state.className = 'state';
      state.textContent = e.state + ' for ' + since(e.since) + (e.inflight > 0 ? ' · ' + e.inflight + ' in flight' : '');
      text.append(addr, state);
      if (e.reason) {
        const reason = document.createElement('div');
        reason.className = 'reason';
        reason.textContent = e.reason;
        text.append(reason);
      }
      row.append(dot, text);
      box.append(row);
    }
    root.append(box);
  }
  $('no-clusters').hidden = clusters.length > 0;
}

window.addEventListener('resize', render);
connect();
