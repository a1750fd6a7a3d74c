// The programme guide (the watch page is watch.js): plain DOM, text only (never innerHTML with server data).
'use strict';

function when(e) {
  const opts = { weekday: 'long', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit' };
  return new Date(e.starts_at).toLocaleString('ru-RU', opts);
}

function item(e) {
  const li = document.createElement('li');
  const a = document.createElement('a');
  a.className = 'title';
  a.href = e.watch_url;
  a.textContent = e.title;
  const meta = document.createElement('div');
  meta.textContent = `${when(e)} · ${e.studio.name}`;
  li.append(a, meta);
  return li;
}

async function fill(listId, whenParam) {
  const ul = document.getElementById(listId);
  try {
    const r = await fetch(`/api/public/events?when=${whenParam}`);
    const data = await r.json();
    ul.replaceChildren(...data.events.map(item));
    if (!data.events.length) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = 'Пока ничего нет.';
      ul.append(li);
    }
  } catch (err) {
    ul.textContent = 'Не удалось загрузить программу. Обновите страницу.';
  }
}

fill('live', 'live');
fill('upcoming', 'upcoming');
fill('archive', 'archive');
