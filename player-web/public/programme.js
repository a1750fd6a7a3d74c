// The programme guide (the watch page is watch.js): live now, coming up, the archive; a category filter
// and a search that apply to all three. Plain DOM, text only (never innerHTML with server data); every
// string from i18n.js; dates and times in the viewer's own time zone.
import { el } from './dom.js';
import { fetchJson } from './api.js';
import { t, date, number, apply, onChange, strings } from './i18n.js';

const SECTIONS = ['live', 'upcoming', 'archive'];
const REFRESH_MS = 30000;
const LIVE_REFRESH_MS = 10000;  // "Live now": viewer counts, and the poster frame (the server makes one every 10 s)
const data = {};      // section → {events, total, key}
let filter = { category: '', q: '' };

function dateTime(iso) {
  return date(iso, { weekday: 'long', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit' });
}

function clock(iso) {
  return date(iso, { hour: '2-digit', minute: '2-digit' });
}

function countdown(iso) {
  const min = Math.ceil((new Date(iso).getTime() - Date.now()) / 60000);
  if (min <= 0) return t('guide.starts.now');
  if (min < 60) return t('guide.in.min', { m: min });
  if (min < 48 * 60) return t('guide.in.h', { h: Math.floor(min / 60), m: min % 60 });
  return t('guide.in.d', { d: Math.round(min / 1440) });
}

function duration(s) {
  const m = Math.max(1, Math.round(s / 60));
  return m >= 60 ? t('guide.duration', { h: Math.floor(m / 60), m: m % 60 }) : t('guide.duration.min', { m });
}

// The event's picture: a live poster frame (reloaded with the listing), a recording's poster, or — when
// there is none yet or it fails to load — a quiet placeholder of the same size. Decorative: the title says it.
function placeholder() { return el('div', { class: 'poster placeholder', 'aria-hidden': 'true' }, '▶'); }
function poster(e, section) {
  if (!e.poster) return placeholder();
  const live = section === 'live';
  const img = el('img', { class: 'poster', alt: '', width: 320, height: 180, decoding: 'async' });
  if (live) img.dataset.live = e.poster;
  img.addEventListener('error', () => img.replaceWith(placeholder()), { once: true });
  img.src = live ? `${e.poster}?v=${posterVersion}` : e.poster;
  return img;
}
let posterVersion = Date.now();
function refreshPosters() {
  posterVersion = Date.now();
  for (const img of document.querySelectorAll('#live img.poster[data-live]')) img.src = `${img.dataset.live}?v=${posterVersion}`;
}

function item(e, section) {
  const title = el('a', { class: 'title', href: e.watch_url }, e.title);
  const meta = el('p', { class: 'meta' }, `${t(`cat.${e.category}`)} · ${e.studio.name}`);
  const when = el('p', { class: 'when' },
    el('time', { dateTime: e.starts_at }, dateTime(e.starts_at)), `–${clock(e.ends_at)}`);
  const li = el('li', { class: 'event' }, title, meta, when);
  if (e.description) li.append(el('p', { class: 'description' }, e.description));
  if (section === 'live') {
    const intermission = e.state === 'intermission';
    li.prepend(el('p', { class: `badge${intermission ? ' quiet' : ''}` },
      t(intermission ? 'guide.intermission' : 'guide.live.badge')));
    li.prepend(poster(e, section));
    li.append(el('p', { class: 'viewers' }, t('guide.viewers', { n: number(e.viewers || 0) })));
  } else if (section === 'archive') {
    li.prepend(poster(e, section));
    const facts = [];
    if (e.duration_s) facts.push(el('span', { class: 'duration' }, t('guide.record.length', { d: duration(e.duration_s) })));
    if (e.rating && e.rating.count) {
      facts.push(el('span', { class: 'stars-avg' }, t('guide.rating', {
        avg: number(e.rating.average, { maximumFractionDigits: 1, minimumFractionDigits: 1 }),
        n: number(e.rating.count) })));
    }
    if (facts.length) li.append(el('p', { class: 'record-facts' }, ...facts.flatMap((f, i) => (i ? [' · ', f] : [f]))));
  } else if (section === 'upcoming') {
    when.append(' ', el('span', { class: 'countdown', 'data-starts': e.starts_at }, `(${countdown(e.starts_at)})`));
    li.append(el('p', {}, el('a', { class: 'ics button-link', href: e.ics_url, download: `event-${e.id}.ics` },
      t('guide.ics'))));
  }
  return li;
}

function render(section) {
  const ul = document.getElementById(section);
  const d = data[section];
  if (!d) return;
  if (d.error) {
    ul.replaceChildren(el('li', { class: 'empty' }, t('load.error')));
    return;
  }
  const items = d.events.map((e) => item(e, section));
  if (!items.length) {
    items.push(el('li', { class: 'empty' }, t(filter.category || filter.q ? 'guide.empty.filtered' : 'guide.empty')));
  } else if (d.total > d.events.length) {
    items.push(el('li', { class: 'empty' }, t('guide.more', { shown: d.events.length, total: d.total })));
  }
  // A refresh keeps the keyboard focus on the same link (found again by its address and kind).
  const f = document.activeElement;
  const keep = f && ul.contains(f) && f.getAttribute('href') ? `a.${f.classList[0]}[href="${f.getAttribute('href')}"]` : null;
  ul.replaceChildren(...items);
  if (keep && ul.querySelector(keep)) ul.querySelector(keep).focus();
}

async function load(section) {
  const params = new URLSearchParams({ when: section });
  if (filter.category) params.set('category', filter.category);
  if (filter.q) params.set('q', filter.q);
  let next;
  try {
    // no-cache: a reload shows what is on now (the API lets edge caches keep it for 5 s).
    const j = await fetchJson(`/api/public/events?${params}`, { cache: 'no-cache' });
    next = { events: j.events, total: j.total };
  } catch {
    next = { error: true };
  }
  // Redraw only when something changed: a refresh must not take the keyboard focus away.
  next.key = JSON.stringify(next) + JSON.stringify(filter);
  if (data[section] && data[section].key === next.key) return;
  data[section] = next;
  render(section);
}

function loadAll() { return Promise.all(SECTIONS.map(load)); }

function tickCountdowns() {
  for (const s of document.querySelectorAll('.countdown')) s.textContent = `(${countdown(s.dataset.starts)})`;
}

function fillCategories() {
  const select = document.getElementById('category');
  const cats = Object.keys(strings.ru).filter((k) => k.startsWith('cat.')).map((k) => k.slice(4));
  select.replaceChildren(el('option', { value: '' }, t('guide.category.all')),
    ...cats.map((c) => el('option', { value: c }, t(`cat.${c}`))));
  select.value = filter.category;
}

function readFilterFromUrl() {
  const p = new URLSearchParams(location.search);
  filter = { category: p.get('category') || '', q: (p.get('q') || '').slice(0, 200) };
  document.getElementById('q').value = filter.q;
}

function applyFilter() {
  filter = { category: document.getElementById('category').value, q: document.getElementById('q').value.trim() };
  const p = new URLSearchParams();
  if (filter.category) p.set('category', filter.category);
  if (filter.q) p.set('q', filter.q);
  history.replaceState(null, '', p.toString() ? `?${p}` : location.pathname);
  const status = document.getElementById('status');
  status.textContent = t('loading');
  loadAll().then(() => { status.textContent = ''; });
}

apply();
readFilterFromUrl();
fillCategories();
document.getElementById('filter').addEventListener('submit', (ev) => { ev.preventDefault(); applyFilter(); });
document.getElementById('category').addEventListener('change', applyFilter);
onChange(() => {
  document.title = t('guide.title');
  fillCategories();
  SECTIONS.forEach(render);
});
loadAll();
setInterval(() => { loadAll(); tickCountdowns(); }, REFRESH_MS);
setInterval(() => load('live').then(refreshPosters), LIVE_REFRESH_MS);
