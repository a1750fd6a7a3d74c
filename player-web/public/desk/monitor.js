// The live monitor: each live event's state, protocol, bitrate, frame rate, video and audio, reconnects and
// dropped frames, and the refusals of the last 10 minutes by cause, in words; "end the broadcast".
import { $, el } from '../dom.js';
import { t } from '../i18n.js';
import { state, api, confirmThen, fmt } from './common.js';
import { loadEvents } from './events.js';
import { loadRecordings } from './archive.js';
import { showRelayStatus, relaysLine, refreshPulls } from './relays.js';

const monitorCards = new Map();  // event id → {card, values}

/** Drops every card (another language: the next round builds them again). */
export function clearMonitor() {
  for (const m of monitorCards.values()) m.card.remove();
  monitorCards.clear();
  $('monitor').replaceChildren();
}

const MONITOR_ROWS = [
  ['state', (f) => t(`state.${f.state}`) || f.state],
  ['protocol', (f) => f.publisher && f.publisher.protocol.toUpperCase()],
  ['from', (f) => f.publisher && f.publisher.remote_address],
  ['uptime', (f) => f.publisher && t('desk.seconds', { v: fmt.number(f.publisher.uptime_s) })],
  ['bitrate', (f) => f.publisher && t('desk.kbps', { v: fmt.number(f.publisher.bitrate_kbps) })],
  ['fps', (f) => f.publisher && fmt.number(f.publisher.frame_rate, 1)],
  ['video', (f) => {
    const v = f.publisher && f.publisher.media && f.publisher.media.video;
    return v && `${v.codec}${v.profile ? ` ${v.profile}` : ''}, ${v.width}×${v.height}`;
  }],
  ['audio', (f) => {
    const a = f.publisher && f.publisher.media && f.publisher.media.audio;
    return a && `${a.codec}, ${fmt.number(a.sample_rate)} Hz, ${a.channels} ch`;
  }],
  ['reconnects', (f) => fmt.number(f.reconnects ?? 0)],
  ['relays', (f) => relaysLine(f)],
  ['dropped', (f) => f.publisher && fmt.number(f.publisher.dropped)],
  ['late', (f) => f.publisher && fmt.number(f.publisher.late_frames)],
  ['refusals', (f) => f.audience_refusals && causesText(f.audience_refusals.counts, 'desk.refusal')],
  // The server's own refusals (every event's card shows the same): its web port, the studios' ports.
  ['web_refusals', (f) => f.server_refusals && causesText(f.server_refusals.http, 'desk.http_refusal')],
  ['ingest_refusals', (f) => f.server_refusals && causesText(Object.fromEntries(
    Object.entries(f.server_refusals.ingest || {}).flatMap(([protocol, reasons]) =>
      Object.entries(reasons).map(([reason, n]) => [`${protocol}\u0000${reason}`, n]))), 'desk.ingest_refusal')],
];

/** Refusals by cause ("too fast 3 · banned 1"), the most frequent first; known causes in words (`prefix`.cause).
 *  An ingest cause is "protocol\0reason": shown as "RTMP: wrong stream key 2". */
function causesText(counts, prefix) {
  if (!counts) return null;
  const causes = Object.entries(counts).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  if (!causes.length) return t('desk.monitor.refusals.none');
  return causes.map(([key, n]) => {
    const [protocol, cause] = key.includes('\u0000') ? key.split('\u0000') : ['', key];
    const words = t(`${prefix}.${cause}`);
    const text = words && words !== `${prefix}.${cause}` ? words : cause;
    return `${protocol ? `${protocol.toUpperCase()}: ` : ''}${text} ${fmt.number(n)}`;
  }).join(' · ');
}

function monitorCard(e) {
  const values = {};
  const dl = el('dl', { class: 'facts' });
  for (const [name] of MONITOR_ROWS) {
    values[name] = el('dd', { 'data-fact': name }, '—');
    dl.append(el('div', {}, el('dt', {}, t(`desk.monitor.${name}`, { min: 10 })), values[name]));
  }
  const card = el('article', { class: 'card live', id: `monitor-${e.id}`, 'aria-labelledby': `monitor-${e.id}-h` },
    el('h3', { id: `monitor-${e.id}-h` }, `${e.title} · ${e.studio.name}`),
    values.nopub = el('p', { class: 'banner', hidden: true }, t('desk.monitor.nopub')),
    dl,
    el('div', { class: 'actions' }, el('button', { type: 'button', class: 'danger', onclick: () => endEvent(e) },
      t('desk.monitor.end'))));
  return { card, values };
}

function endEvent(e) {
  return confirmThen(t('desk.monitor.end.confirm', { title: e.title }), async () => {
    await api('POST', `/api/events/${e.id}/end`);
    await loadEvents();
    monitor();
  });
}

const awaitArchive = new Map();  // event id → until when to look for its recording
let monitoring = false;
export async function monitor() {
  if (monitoring || !state.me) return;
  monitoring = true;
  try {
    const live = (await api('GET', '/api/events?when=live')).events;
    const facts = await Promise.all(live.map((e) => api('GET', `/api/events/${e.id}/live`).catch(() => null)));
    const host = $('monitor');
    for (const [id, m] of monitorCards) {
      if (!live.some((e) => e.id === id)) { m.card.remove(); monitorCards.delete(id); }
    }
    live.forEach((e, i) => {
      if (!monitorCards.has(e.id)) {
        const m = monitorCard(e);
        monitorCards.set(e.id, m);
        host.append(m.card);
      }
      const m = monitorCards.get(e.id);
      const f = facts[i] || { state: e.state, publisher: null };
      if (facts[i]) showRelayStatus(e.id, f);
      m.card.dataset.state = f.state;
      m.values.nopub.hidden = !!f.publisher;
      for (const [name, value] of MONITOR_ROWS) {
        const v = value(f);
        m.values[name].textContent = v === null || v === undefined || v === '' ? '—' : v;
      }
    });
    let empty = host.querySelector('.empty');
    if (!live.length && !empty) host.append(el('p', { class: 'quiet empty' }, t('desk.monitor.none')));
    else if (live.length && empty) empty.remove();
    $('monitor-updated').textContent = t('desk.monitor.updated', { time: fmt.now() });
    // A studio that just went live (or ended) changes the event list as well.
    const states = live.map((e) => `${e.id}:${e.state}`).join();
    if (monitor.lastStates !== undefined && monitor.lastStates !== states) {
      loadEvents().catch(() => {});
      // An event that left the air is archived a moment later: look for its recording for a minute.
      for (const id of monitor.lastLive || []) if (!live.some((e) => e.id === id)) awaitArchive.set(id, Date.now() + 60000);
    }
    monitor.lastStates = states;
    monitor.lastLive = live.map((e) => e.id);
    for (const [id, until] of awaitArchive) {
      if (state.recordings.list.some((e) => e.id === id) || Date.now() > until) awaitArchive.delete(id);
    }
    if (awaitArchive.size) loadRecordings().catch(() => {});
    await refreshPulls();
  } catch {
    /* shown by the next successful round; a 401 has shown the login */
  } finally {
    monitoring = false;
  }
}
