// The moderation log: who did what, when (newest first), in words; and slow mode's labels, which it shares
// with the slow-mode choice.
import { $, el } from '../dom.js';
import { t, own } from '../i18n.js';
import { state, fmt } from './common.js';

// Slow mode in words: off, the choices' own labels, else "one comment per N s".
export function slowLabel(s) {
  if (!s) return t('desk.mod.slow.off');
  return [10, 30, 60, 300].includes(s) ? t(`desk.mod.slow.${s}`) : t('desk.mod.slow.n', { s });
}

export const LOG_SHOWN = 30;
const log = { entries: [], shown: '' };

function eventTitle(id) {
  const e = state.events.find((x) => x.id === id) || state.recordings.list.find((x) => x.id === id);
  return e ? e.title : t('desk.mod.scope.event', { id });
}

function logTarget(entry) {
  const target = entry.target || '';
  let m;
  if ((m = target.match(/^comment (\d+)$/))) return t('desk.log.comment', { id: m[1] });
  if (entry.action === 'slow_mode' && (m = target.match(/^(\d+) s$/))) return slowLabel(Number(m[1]));
  if ((m = target.match(/^viewer (.+)$/))) return t('desk.mod.viewer', { id: m[1] });
  if ((m = target.match(/^address (.+)$/))) return t('desk.mod.address', { address: m[1] });
  if ((m = target.match(/^([^:]+): (\d+) word/))) return t('desk.log.words', { lang: m[1], n: m[2] });
  return target;
}

/** The log as the server sent it: drawn again only when it changed. */
export function showLog(entries) {
  const key = JSON.stringify(entries);
  if (key === log.shown) return;
  log.shown = key;
  log.entries = entries;
  renderLog();
}

export function renderLog() {
  const items = log.entries.map((entry) => {
    const action = own(`desk.log.${entry.action}`) ? t(`desk.log.${entry.action}`) : entry.action;
    return el('li', { class: `log-${entry.action}`, 'data-action': entry.action },
      el('time', { dateTime: entry.at }, fmt.dateTime(entry.at)), ' · ', el('span', { class: 'curator' }, entry.curator),
      ` ${action}: ${logTarget(entry)}`,
      entry.event_id === null ? null : ` · ${t('desk.log.event', { title: eventTitle(entry.event_id) })}`);
  });
  $('mod-log').replaceChildren(...(items.length ? items : [el('li', { class: 'quiet empty' }, t('desk.mod.log.none'))]));
}
