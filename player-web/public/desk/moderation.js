// Moderation: pick an event (a live one first); its comments, newest first (questions marked, "mark answered"),
// each with hide/show and "ban here" / "ban everywhere"; the bans with "lift the ban"; slow mode.
import { $, el } from '../dom.js';
import { t } from '../i18n.js';
import { state, api, ApiError, serverText, notice, confirmDialog, fmt, clock, keepFocus } from './common.js';
import { LOG_SHOWN, showLog, slowLabel } from './modlog.js';

export const mod = { eventId: null, comments: [], bans: [], round: 0, shown: '', chosen: false, slow: null, slowFor: null };

export function fillModerationSelect() {
  const sel = $('mod-event');
  const keep = sel.value;
  const order = { live: 0, intermission: 1, scheduled: 2, ended: 3, archived: 3, cancelled: 4 };
  const events = [...state.events, ...state.recordings.list.filter((r) => !state.events.some((e) => e.id === r.id))]
    .filter((e) => e.state !== 'cancelled')
    .sort((a, b) => (order[a.state] ?? 5) - (order[b.state] ?? 5) || new Date(b.starts_at) - new Date(a.starts_at));
  sel.replaceChildren(...events.map((e) => el('option', { value: String(e.id) },
    `${e.title} · ${fmt.dateTime(e.starts_at)} · ${t(`state.${e.state}`)}`)));
  // The curator's choice stays; until there is one, the first live event (the list starts with them).
  if (mod.chosen && keep && events.some((e) => String(e.id) === keep)) sel.value = keep;
  const id = Number(sel.value) || null;
  if (id !== mod.eventId) {
    mod.eventId = id;
    mod.comments = [];
    $('mod-comments').replaceChildren();
    moderation();
  }
}

function bannedHow(viewerId) {
  const b = mod.bans.filter((x) => x.viewer_id === viewerId && (x.event_id === null || x.event_id === mod.eventId));
  if (b.some((x) => x.event_id === null)) return 'everywhere';
  return b.length ? 'event' : '';
}

function commentItem(c) {
  const hidden = c.status !== 'visible';
  const when = c.media_ms === null || c.media_ms === undefined ? fmt.time(c.at) : `${fmt.time(c.at)} (${clock(c.media_ms)})`;
  const who = `${c.nick}: ${c.text}`;
  const banned = bannedHow(c.viewer_id);
  const question = c.question ? (c.answered ? 'answered' : 'open') : '';
  const li = el('li', { id: `mod-comment-${c.id}`, class: `mod-comment status-${c.status}${question ? ` question q-${question}` : ''}`,
    'data-status': c.status, ...(question ? { 'data-question': question } : {}) },
    el('p', { class: 'meta' }, question ? el('span', { class: 'q-badge' }, t(`desk.mod.q.${question}`)) : null,
      el('span', { class: 'nick' }, c.nick), ` · ${when}`,
      hidden ? el('span', { class: 'badge' }, ` · ${t(`desk.mod.status.${c.status}`)}`) : null,
      banned ? el('span', { class: 'badge' }, ` · ${t(`desk.mod.banned.${banned}`)}`) : null),
    el('p', { class: 'text' }, c.text));
  const actions = el('div', { class: 'actions' },
    el('button', { type: 'button', class: hidden ? '' : 'danger', 'data-action': hidden ? 'unhide' : 'hide',
      'aria-label': `${t(hidden ? 'desk.mod.unhide' : 'desk.mod.hide')}: ${who}`,
      onclick: () => setCommentStatus(c, hidden ? 'unhide' : 'hide') }, t(hidden ? 'desk.mod.unhide' : 'desk.mod.hide')));
  if (question === 'open') {
    actions.prepend(el('button', { type: 'button', 'data-action': 'answered',
      'aria-label': `${t('desk.mod.answered')}: ${who}`, onclick: () => setCommentStatus(c, 'answered') },
    t('desk.mod.answered')));
  }
  if (!banned) {
    actions.append(
      el('button', { type: 'button', class: 'danger', 'data-action': 'ban-event',
        'aria-label': `${t('desk.mod.ban.event')}: ${c.nick}`, onclick: () => ban(c, mod.eventId) }, t('desk.mod.ban.event')),
      el('button', { type: 'button', class: 'danger', 'data-action': 'ban-all',
        'aria-label': `${t('desk.mod.ban.all')}: ${c.nick}`, onclick: () => ban(c, null) }, t('desk.mod.ban.all')));
  }
  li.append(actions);
  return li;
}

export function renderModeration() {
  const host = $('mod-comments');
  keepFocus(host, () => host.replaceChildren(...(mod.comments.length ? mod.comments.map(commentItem)
    : [el('li', { class: 'quiet empty' }, t(mod.eventId ? 'desk.mod.none' : 'desk.mod.no.event'))])));
  const bans = $('mod-bans');
  keepFocus(bans, () => bans.replaceChildren(...(mod.bans.length ? mod.bans.map((b) => {
    const scope = b.event_id === null ? t('desk.mod.scope.all') : t('desk.mod.scope.event', { id: b.event_id });
    const what = b.viewer_id ? t('desk.mod.viewer', { id: b.viewer_id }) : t('desk.mod.address', { address: b.address });
    return el('li', { id: `ban-${b.id}` }, `${what} · ${scope} · ${b.created_by} `,
      el('button', { type: 'button', 'data-action': 'unban', 'aria-label': `${t('desk.mod.unban')}: ${what}`,
        onclick: () => unban(b) }, t('desk.mod.unban')));
  }) : [el('li', { class: 'quiet empty' }, t('desk.mod.bans.none'))])));
}

// Slow mode as the server has it; the choice follows it when another event is picked (not while the
// curator may be choosing).
export function showSlow(id, seconds) {
  mod.slow = seconds;
  if (id && mod.slowFor !== id) {
    mod.slowFor = id;
    const sel = $('mod-slow');
    if ([...sel.options].some((o) => o.value === String(seconds))) sel.value = String(seconds);
  }
  const text = id && seconds !== null ? t('desk.mod.slow.now', { label: slowLabel(seconds) }) : '';
  if ($('mod-slow-now').textContent !== text) $('mod-slow-now').textContent = text;
}

export async function moderation() {
  if (!state.me) return;
  const round = ++mod.round;  // only the latest round's answer is shown (an action starts a new one)
  try {
    const id = mod.eventId;
    const [comments, bans, slow, log] = await Promise.all([
      id ? api('GET', `/api/events/${id}/comments`) : { comments: [] },
      api('GET', '/api/audience/bans'),
      id ? api('GET', `/api/events/${id}/slow-mode`) : { slow_mode_s: null },
      api('GET', `/api/audience/log?limit=${LOG_SHOWN}`)]);
    if (round !== mod.round || id !== mod.eventId) return;
    showSlow(id, slow.slow_mode_s);
    showLog(log.log);
    const key = JSON.stringify([id, comments.comments, bans.bans]);
    if (key !== mod.shown) {  // unchanged lists are left alone (the focus, a screen reader's place)
      mod.shown = key;
      mod.comments = comments.comments.slice().reverse();  // the newest first
      mod.bans = bans.bans;
      renderModeration();
    }
    $('mod-updated').textContent = t('desk.monitor.updated', { time: fmt.now() });
  } catch {
    /* the next round shows it; a 401 has shown the login */
  }
}

async function modAction(fn, done) {
  try {
    await fn();
    await moderation();
    notice(done);
  } catch (err) {
    if (err instanceof ApiError) notice(serverText(err.error));
    else throw err;
  }
}

function setCommentStatus(c, action) {
  return modAction(() => api('POST', `/api/events/${c.event_id}/comments/${c.id}/${action}`),
    t(`desk.mod.${action}.done`, { nick: c.nick }));
}

async function ban(c, eventId) {
  const key = eventId ? 'desk.mod.ban.event.confirm' : 'desk.mod.ban.all.confirm';
  if (!(await confirmDialog(t(key, { nick: c.nick })))) return;
  const body = { viewer_id: c.viewer_id };
  if (eventId) body.event_id = eventId;
  await modAction(() => api('POST', '/api/audience/bans', body), t('desk.mod.banned.done', { nick: c.nick }));
}

function unban(b) {
  return modAction(() => api('DELETE', `/api/audience/bans/${b.id}`), t('desk.mod.unbanned'));
}

$('mod-event').addEventListener('change', () => { mod.chosen = true; fillModerationSelect(); });
$('mod-slow-set').addEventListener('click', async () => {
  if (!mod.eventId) return;
  const seconds = Number($('mod-slow').value);
  try {
    await api('POST', `/api/events/${mod.eventId}/slow-mode`, { seconds });
    notice(seconds ? t('desk.mod.slow.on', { label: $('mod-slow').selectedOptions[0].textContent }) : t('desk.mod.slow.offed'));
    moderation();
  } catch (err) {
    if (err instanceof ApiError) notice(serverText(err.error));
  }
});
