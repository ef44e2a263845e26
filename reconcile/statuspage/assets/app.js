// edge status page: refreshes the server-rendered page from /ui/api/ in place. Data from
// the config repo is hostile: it only ever goes into textContent and attributes, never
// into innerHTML.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const svgNS = 'http://www.w3.org/2000/svg';

  // el builds an element: attrs are set as attributes, kids are nodes or text.
  function el(tag, attrs, ...kids) {
    const e = tag.startsWith('svg:') ? document.createElementNS(svgNS, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined && v !== false) e.setAttribute(k, String(v));
    }
    for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  }
  function fill(parent, nodes) { parent.replaceChildren(...nodes); }

  const short = (c) => (c || '').slice(0, 12);
  const zero = (t) => !t || t.startsWith('0001-');
  const clock = (t) => zero(t) ? '—' : new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  function ago(now, t) {
    const s = (new Date(now) - new Date(t)) / 1000;
    if (s < 60) return Math.floor(s) + 's ago';
    if (s < 3600) return Math.floor(s / 60) + 'm ago';
    if (s < 172800) return Math.floor(s / 3600) + 'h ago';
    return Math.floor(s / 86400) + 'd ago';
  }
  const when = (now, t) => zero(t) ? '—' : clock(t) + ' (' + ago(now, t) + ')';
  function expiry(now, t) {
    if (zero(t)) return '—';
    const days = Math.trunc((new Date(t) - new Date(now)) / 86400000);
    return t.slice(0, 10) + (days < 0 || new Date(t) < new Date(now) ? ' (expired ' + (-days) + ' days ago)' : ' (in ' + days + ' days)');
  }
  // issueText says where a site's issued certificate stands, as render.go's issueText.
  function issueText(i) {
    switch (i.state) {
      case 'issued': return 'issued by ' + i.issuer + (zero(i.renewAt) ? '' : ', renews ' + clock(i.renewAt));
      case 'failed': return 'failed (' + i.issuer + ')' + (i.reason ? ': ' + i.reason : '') +
        (zero(i.nextAttempt) ? '' : '; next attempt ' + clock(i.nextAttempt));
    }
    return i.state + ' from ' + i.issuer;
  }
  // safeLink keeps only http(s) links (the server makes no others).
  const safeLink = (u) => /^https?:\/\//i.test(u || '') ? u : null;

  // The site table's query, as in the page's URL.
  const defaults = { q: '', state: '', sort: 'name', order: '', expires: '-1', offset: '0', limit: '50' };
  let query = readQuery(location.search);
  function readQuery(search) {
    const p = new URLSearchParams(search);
    const q = {};
    for (const k of Object.keys(defaults)) q[k] = p.get(k) ?? defaults[k];
    return q;
  }
  function queryString(q) {
    const p = new URLSearchParams();
    for (const k of Object.keys(defaults)) if (q[k] !== defaults[k] && q[k] !== '') p.set(k, q[k]);
    return '?' + p.toString();
  }

  async function getJSON(path) {
    const r = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    if (!r.ok) { const e = new Error(path + ': ' + r.status); e.status = r.status; throw e; }
    return r.json();
  }

  function renderSummary(s) {
    $('updated').textContent = clock(s.now);
    $('updated').setAttribute('datetime', s.now);
    $('serving-commit').textContent = s.serving.commit || 'none yet';
    $('serving-since').textContent = when(s.now, s.serving.since);
    $('serving-generation').textContent = s.serving.generation;
    $('serving-signer').textContent = s.serving.signer || '—';
    const lp = s.lastPoll;
    fill($('last-poll'), [el('span', { class: 'outcome ' + lp.outcome }, lp.outcome || 'not yet'), ' ' + when(s.now, lp.at) + (lp.error ? ' — ' + lp.error : '')]);
    const pers = s.serving.persisted;
    $('persisted').hidden = !pers;
    $('persisted').textContent = pers ? 'Serving the revision kept in the state directory: ' + pers.reason : '';
    $('state-error').hidden = !s.stateError;
    $('state-error').textContent = s.stateError ? 'State directory: ' + s.stateError : '';
    $('site-counts').textContent = `${s.counts.total} total · ${s.counts.serving} serving · ${s.counts.stale} stale · ${s.counts.failed} failed`;
    renderRejected(s.rejected);
    renderHistory(s.history);
    renderExpiry(s.expiry);
  }

  function renderRejected(rej) {
    $('rejected').hidden = !rej;
    if (!rej) return;
    $('rejected-commit').textContent = rej.commit;
    $('rejected-at').textContent = clock(rej.at);
    $('rejected-error').textContent = rej.error || '';
    fill($('diagnostics'), (rej.diagnostics || []).map((d) => {
      const pos = d.file + ':' + d.line + ':' + d.col;
      const link = safeLink(d.link);
      return el('li', { class: 'diag' },
        el('span', { class: 'pos' }, link ? el('a', { href: link, rel: 'noreferrer noopener' }, pos) : pos), ' ',
        el('span', { class: 'sev ' + d.severity }, d.severity), ' ',
        el('span', { class: 'msg' }, d.message));
    }));
  }

  function renderHistory(h) {
    $('history-count').textContent = '(last ' + h.length + ')';
    fill($('history-rows'), h.map((r) => el('tr', { class: r.outcome },
      el('td', {}, clock(r.start), ...(r.repeats ? [' ', el('span', { class: 'muted' }, '(+' + r.repeats + ' until ' + clock(r.last) + ')')] : [])),
      el('td', {}, el('code', {}, short(r.commit))),
      el('td', {}, el('span', { class: 'outcome ' + r.outcome }, r.outcome), ...(r.restored ? [' ', el('span', { class: 'muted' }, 'restored')] : [])),
      el('td', { class: 'num' }, r.durationSeconds.toFixed(3) + 's'),
      el('td', { class: 'num' }, r.added), el('td', { class: 'num' }, r.changed),
      el('td', { class: 'num' }, r.removed), el('td', { class: 'num' }, r.failed),
      el('td', { class: 'err' }, r.error || ''))));
  }

  function renderExpiry(buckets) {
    const max = Math.max(0, ...buckets.map((b) => b.count));
    const bar = (n) => max ? Math.floor(n * 400 / max) : 0;
    fill($('expiry-chart'), buckets.map((b, i) => {
      const parts = [el('svg:text', { x: 0, y: 16 }, b.label), el('svg:rect', { x: 100, y: 4, height: 16, width: bar(b.count) }),
        el('svg:text', { class: 'count', x: 106 + bar(b.count), y: 16 }, b.count)];
      const g = el('svg:g', { class: 'bucket' + (i === 0 ? ' expired' : ''), transform: `translate(0 ${24 * i})` });
      if (b.toDays >= 0) {
        g.append(el('svg:a', { 'data-nav': '', href: queryString({ ...query, expires: String(b.toDays), offset: '0' }) }, ...parts));
      } else {
        g.append(...parts);
      }
      return g;
    }));
  }

  function renderSites(page, now) {
    const q = page.query;
    fill($('site-rows'), page.sites.map((s) => el('tr', { 'data-site': s.name, class: s.state },
      el('td', {}, el('span', { class: 'name', title: s.file }, s.name), ...(s.error ? [el('div', { class: 'err' }, s.error)] : [])),
      el('td', {}, el('span', { class: 'state ' + s.state }, s.state)),
      el('td', {}, s.hosts.join(', ')),
      el('td', {}, el('code', {}, short(s.revision))),
      el('td', {}, s.passthrough ? 'passthrough' : expiry(now, s.notAfter),
        ...(s.issue ? [el('div', { class: 'issue ' + s.issue.state }, issueText(s.issue))] : [])),
      el('td', {}, s.keyVersion ? 'v' + s.keyVersion : (s.passthrough ? '—' : '')),
      el('td', { class: 'num' }, s.requests),
      el('td', { class: 'num' }, (100 * s.errorRate).toFixed(1) + '%'))));
    const shown = page.sites.length;
    $('site-range').textContent = page.matched === 0 ? 'no site matches'
      : `${q.offset + 1}–${q.offset + shown} of ` + (page.matched === page.total ? `${page.matched} sites` : `${page.matched} matching of ${page.total} sites`);
    const prev = $('site-prev'), next = $('site-next');
    prev.hidden = q.offset === 0;
    prev.setAttribute('href', queryString({ ...query, offset: String(Math.max(q.offset - q.limit, 0)) }));
    next.hidden = q.offset + q.limit >= page.matched;
    next.setAttribute('href', queryString({ ...query, offset: String(q.offset + q.limit) }));
    for (const a of document.querySelectorAll('#site-table a[data-sort]')) {
      const key = a.dataset.sort;
      const first = key === 'requests' || key === 'errors' ? 'desc' : 'asc';
      const order = q.sort !== key ? first : q.order === 'asc' ? 'desc' : 'asc';
      a.setAttribute('href', queryString({ ...query, sort: key, order: order, offset: '0' }));
      a.classList.toggle('sorted', q.sort === key);
      a.classList.toggle('desc', q.sort === key && q.order === 'desc');
    }
    $('expires-filter').hidden = q.expires < 0;
    $('expires-days').textContent = q.expires;
    const form = $('site-form');
    if (document.activeElement !== form.elements.q) form.elements.q.value = q.q;
    form.elements.state.value = q.state;
    form.elements.sort.value = q.sort;
    form.elements.order.value = q.order;
    form.elements.expires.value = q.expires;
  }

  function renderUpstreams(r) {
    $('upstream-summary').textContent = r.total === 0 ? 'no proxied routes'
      : `${r.unhealthy} of ${r.matched} routes unhealthy` + (r.matched > r.routes.length ? ` (showing ${r.routes.length})` : '');
    fill($('upstream-rows'), r.routes.map((rt) => el('tr', { class: rt.healthy ? 'healthy' : 'unhealthy' },
      el('td', {}, rt.site), el('td', {}, el('code', {}, rt.path)),
      el('td', {}, ...rt.upstreams.flatMap((u) => [el('span', {
        class: 'up st-' + u.state,
        title: `failures ${u.failures}, in flight ${u.inFlight}` + (u.healthChecked ? ', health-checked' : '') + (u.weight ? `, weight ${u.weight}` : ''),
      }, u.url + ' ' + u.state), ' '])))));
  }

  function renderFleet(f) {
    $('fleet-converged').textContent = f.converged ? 'converged' : 'not converged';
    fill($('fleet-commits'), (f.commits || []).map((c) => el('tr', {}, el('td', {}, el('code', {}, short(c.commit))), el('td', { class: 'num' }, c.agents))));
    fill($('fleet-agents'), (f.agents || []).map((a) => el('tr', { class: a.state || '' },
      el('td', {}, a.addr), el('td', {}, el('code', {}, short(a.commit))), el('td', {}, a.state || ''), el('td', { class: 'err' }, a.error || ''))));
  }

  let timer = null;
  let refreshMs = Number(document.body.dataset.refresh) || 5000;
  let generation = 0; // answers to an older query are dropped
  async function refresh() {
    clearTimeout(timer);
    const mine = ++generation;
    try {
      const [s, sites, ups] = await Promise.all([getJSON('/ui/api/summary'), getJSON('/ui/api/sites' + queryString(query)),
        getJSON('/ui/api/upstreams?q=' + encodeURIComponent(query.q))]);
      if (mine !== generation) return;
      refreshMs = s.refreshMs || refreshMs;
      renderSummary(s);
      renderSites(sites, s.now);
      renderUpstreams(ups);
      $('live').textContent = '(live, every ' + refreshMs / 1000 + 's)';
      $('live').classList.remove('warn');
    } catch (e) {
      $('live').textContent = '(not updating: ' + e.message + ')';
      $('live').classList.add('warn');
    }
    try {
      renderFleet(await getJSON('/ui/api/fleet'));
      $('fleet').hidden = false;
    } catch (e) {
      $('fleet').hidden = true; // 404: no fleet configured
    }
    if (mine === generation) timer = setTimeout(refresh, refreshMs);
  }

  // navigate shows the site table for search (a "?..." string) without reloading.
  function navigate(search) {
    query = readQuery(search);
    history.replaceState(null, '', queryString(query));
    refresh();
  }

  document.addEventListener('click', (ev) => {
    const a = ev.target.closest('a[data-nav]');
    if (!a || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    ev.preventDefault();
    const href = a.getAttribute('href') || a.getAttributeNS('http://www.w3.org/1999/xlink', 'href');
    navigate(new URL(href, location.href).search);
  });
  const form = $('site-form');
  function fromForm() {
    const p = new URLSearchParams(new FormData(form));
    p.set('offset', '0');
    p.set('limit', query.limit);
    navigate('?' + p.toString());
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); fromForm(); });
  form.addEventListener('change', (ev) => { if (ev.target.name !== 'q') fromForm(); });
  let typing = null;
  form.elements.q.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(fromForm, 250); });

  timer = setTimeout(refresh, 0);
})();
