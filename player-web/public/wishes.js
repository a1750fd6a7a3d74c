// The residents' wishes page (/wishes): suggest an event or a topic, vote for others' (one vote per viewer:
// the server's sreda_viewer cookie), read the curators' replies and the event that answers a wish. Plain DOM,
// text only (never innerHTML with server data); every string from i18n.js.
import { $, el } from './dom.js';
import { fetchJson } from './api.js';
import { t, number, apply, onChange, strings } from './i18n.js';

let sort = 'top';
let page = 1;
let last = null;  // the last page the server sent

function categories() {
  const select = $('wish-category');
  const value = select.value;
  const cats = Object.keys(strings.ru).filter((k) => k.startsWith('cat.')).map((k) => k.slice(4));
  select.replaceChildren(...cats.map((c) => el('option', { value: c }, t(`cat.${c}`))));
  if (value) select.value = value;
}

/** The words for a refused request: the field's own, else the code's, else the server's message. */
function errorText(e) {
  const codes = { wish_limit: 'wishes.error.limit', wishes_full: 'wishes.error.full', banned: 'wishes.error.banned',
    rate_limited: 'wishes.error.busy', busy: 'wishes.error.busy', network: 'load.error' };
  return codes[e.error.code] ? t(codes[e.error.code]) : e.error.message;
}

function wishItem(w) {
  // The button says what it does; the wish's text describes it (a screen reader hears which wish).
  const vote = el('button', { type: 'button', class: 'vote', 'aria-pressed': String(w.voted),
    'aria-describedby': `wish-${w.id}-text` }, t(w.voted ? 'wishes.voted' : 'wishes.vote'));
  vote.dataset.id = w.id;
  vote.addEventListener('click', () => castVote(w, vote));
  const li = el('li', { class: 'event wish' },
    el('p', { class: 'title', id: `wish-${w.id}-text` }, w.text),
    el('p', { class: 'meta' }, `${t(`cat.${w.category}`)} · `,
      el('span', { class: 'votes' }, t('wishes.votes', { n: number(w.votes) }))),
    el('p', {}, vote));
  if (w.reply) li.append(el('p', { class: 'reply' }, t('wishes.reply', { reply: w.reply })));
  if (w.event_id) {
    li.append(el('p', { class: 'scheduled' }, `${t('wishes.scheduled')} `,
      el('a', { href: `/watch/${w.event_id}`, class: 'event-link' }, t('wishes.scheduled.event', { id: w.event_id }))));
    // The event's title, when the programme has it (the link works without).
    fetchJson(`/api/public/events/${w.event_id}`).then((e) => {
      const a = li.querySelector('a.event-link');
      if (a && e && e.title) a.textContent = e.title;
    }).catch(() => {});
  }
  return li;
}

async function castVote(w, button) {
  button.disabled = true;
  try {
    const r = await fetchJson(`/api/public/wishes/${w.id}/vote`, { method: 'POST' });
    w.voted = true;
    w.votes = r.votes;
    const li = button.closest('li');
    li.querySelector('.votes').textContent = t('wishes.votes', { n: number(r.votes) });
    button.setAttribute('aria-pressed', 'true');
    button.textContent = t('wishes.voted');
  } catch (e) {
    $('list-status').textContent = errorText(e);
  }
  button.disabled = false;
  button.focus();
}

function render() {
  for (const s of ['top', 'new']) $(`sort-${s}`).setAttribute('aria-pressed', String(s === sort));
  if (!last) return;
  const items = last.items.map(wishItem);
  $('wishes').replaceChildren(...(items.length ? items : [el('li', { class: 'empty' }, t('wishes.empty'))]));
  const pages = Math.max(1, Math.ceil(last.total / last.page_size));
  $('page').textContent = t('wishes.page', { page: number(last.page), pages: number(pages) });
  $('prev').disabled = last.page <= 1;
  $('next').disabled = last.page >= pages;
}

async function load() {
  try {
    last = await fetchJson(`/api/public/wishes?sort=${sort}&page=${page}`, { cache: 'no-store' });
    $('list-status').textContent = '';
  } catch (e) {
    $('list-status').textContent = errorText(e);
  }
  render();
}

function showFieldErrors(fields) {
  for (const f of ['text', 'category']) {
    const msg = fields.includes(f) ? t(`wishes.error.${f}`) : '';
    $(`wish-${f}-error`).textContent = msg;
    $(`wish-${f}`).setAttribute('aria-invalid', String(Boolean(msg)));
  }
}

async function suggest(ev) {
  ev.preventDefault();
  const text = $('wish-text').value.trim();
  const status = $('suggest-status');
  const local = [];
  if ([...text].length < 3 || [...text].length > 300) local.push('text');
  showFieldErrors(local);
  if (local.length) {
    $('wish-text').focus();
    return;
  }
  status.textContent = t('loading');
  try {
    const w = await fetchJson('/api/public/wishes', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text, category: $('wish-category').value }) });
    $('wish-text').value = '';
    status.textContent = t(w.status === 'held' ? 'wishes.held' : 'wishes.sent');
    sort = 'new';
    page = 1;
    await load();
  } catch (e) {
    const fields = (e.error.fields || []).map((f) => f.field);
    showFieldErrors(fields);
    status.textContent = fields.length ? '' : errorText(e);
  }
}

apply();
categories();
$('suggest').addEventListener('submit', suggest);
for (const s of ['top', 'new']) $(`sort-${s}`).addEventListener('click', () => { sort = s; page = 1; load(); });
$('prev').addEventListener('click', () => { page = Math.max(1, page - 1); load(); });
$('next').addEventListener('click', () => { page += 1; load(); });
onChange(() => {
  document.title = t('wishes.title');
  categories();
  render();
});
document.title = t('wishes.title');
load();
