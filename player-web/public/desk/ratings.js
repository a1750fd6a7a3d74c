// Ratings: the public listings carry each event's average and count; the desk lists the rated events, best
// first, and shows the average beside each event and recording.
import { $, el } from '../dom.js';
import { t } from '../i18n.js';
import { api, fmt } from './common.js';

export const ratings = new Map();  // event id → {average, count}

export function ratingText(r) {
  return r && r.count ? t('desk.rating', { avg: fmt.number(r.average, 1), n: fmt.number(r.count) }) : '';
}

/** Every page of a public listing (`when` = live, upcoming or archive). */
export async function publicListing(when) {
  const out = [];
  for (let page = 1; page <= 50; page++) {
    const j = await api('GET', `/api/public/events?when=${when}&page=${page}`);
    out.push(...j.events);
    if (!j.events.length || out.length >= j.total) break;
  }
  return out;
}

export function renderRatings(list) {
  const rated = list.filter((e) => e.rating && e.rating.count)
    .sort((a, b) => b.rating.average - a.rating.average || b.rating.count - a.rating.count);
  $('ratings').replaceChildren(...(rated.length
    ? rated.map((e) => el('li', { id: `rating-${e.id}` }, el('span', { class: 'title' }, e.title), ' — ',
      el('span', { class: 'stars-avg' }, ratingText(e.rating))))
    : [el('li', { class: 'quiet empty' }, t('desk.ratings.none'))]));
}
