// The week at a glance, per studio: seven days from today, each day's events with their times and state.
import { $, el } from '../dom.js';
import { t } from '../i18n.js';
import { state, fmt } from './common.js';

export function renderWeek() {
  const start = new Date();
  start.setHours(0, 0, 0, 0);
  const days = Array.from({ length: 7 }, (_, i) => new Date(start.getFullYear(), start.getMonth(), start.getDate() + i));
  const blocks = state.studios.map((s) => {
    const mine = state.events.filter((e) => e.studio_id === s.id);
    const cols = days.map((d, i) => {
      const from = d.getTime();
      const to = i + 1 < days.length ? days[i + 1].getTime() : from + 86400000;
      const todays = mine.filter((e) => new Date(e.starts_at).getTime() < to && new Date(e.ends_at).getTime() > from);
      return el('li', { class: 'day' },
        el('p', { class: 'day-name' }, fmt.day(d)),
        todays.length
          ? el('ul', {}, ...todays.map((e) => el('li', { class: `slot state-${e.state}` },
            `${fmt.time(e.starts_at)}–${fmt.time(e.ends_at)} ${e.title}`,
            e.state !== 'scheduled' ? ` (${t(`state.${e.state}`)})` : '')))
          : el('p', { class: 'quiet' }, t('desk.week.empty')));
    });
    return el('section', { class: 'week-studio', 'aria-labelledby': `week-${s.id}-h` },
      el('h3', { id: `week-${s.id}-h` }, s.name), el('ol', { class: 'week' }, ...cols));
  });
  $('week').replaceChildren(...(blocks.length ? blocks : [el('p', { class: 'quiet' }, t('desk.studio.none'))]));
}
