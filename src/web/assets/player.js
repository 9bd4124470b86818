// trio-present web view: slide navigation with the presenter's keys, the player of recorded
// runs (export) and the follower of the presenter's event stream (live view). No network
// access besides that stream (the page's CSP forbids any other), no dependencies.
(function () {
  'use strict';
  var body = document.body;
  var slides = Array.prototype.slice.call(document.querySelectorAll('section.slide'));
  var total = slides.length;
  var runsEl = document.getElementById('runs');
  var RUNS = runsEl ? JSON.parse(runsEl.textContent || '{}') : {};
  var events = body.getAttribute('data-events');
  var params = new URLSearchParams(location.search);
  var autoplay = params.has('autoplay');
  var cur = 0;
  var typed = '';
  var panels = {};
  var loaded = false;
  window.addEventListener('load', function () { loaded = true; });

  function panel(n) {
    if (panels[n]) return panels[n];
    var el = document.querySelector('.run[data-slide="' + n + '"]');
    if (!el) return null;
    var p = {
      el: el,
      out: el.querySelector('.out'),
      tree: el.querySelector('.tree'),
      timeline: el.querySelector('.timeline'),
      status: el.querySelector('.run-status'),
      timer: null,
      start: 0
    };
    panels[n] = p;
    return p;
  }

  function fromHash() {
    var m = /^#(\d+)/.exec(location.hash);
    return m ? parseInt(m[1], 10) : 1;
  }

  function setText(id, text) {
    var el = document.getElementById(id);
    if (el) el.textContent = text;
  }

  function show(n) {
    n = Math.max(1, Math.min(total, n | 0));
    var changed = n !== cur;
    cur = n;
    slides.forEach(function (s, i) { s.classList.toggle('current', i === n - 1); });
    setText('pos', n + ' / ' + total);
    if (location.hash !== '#' + n) history.replaceState(null, '', '#' + n);
    if (changed && autoplay && loaded && RUNS[n] && !events) play(n);
  }

  function go(n) { show(n); }

  function clear(p) {
    if (p.timer) clearTimeout(p.timer);
    p.timer = null;
    p.out.textContent = '';
    p.tree.textContent = '';
    p.timeline.textContent = '';
    p.status.className = 'run-status';
  }

  function lineEl(l, shown) {
    // l = [t, kind, colour, tag, text]
    var div = document.createElement('div');
    div.className = 'line k-' + l[1];
    div.setAttribute('data-t', String(Math.round(l[0] * 1000)));
    div.setAttribute('data-shown', String(Math.round(shown)));
    var t = document.createElement('span');
    t.className = 'lt';
    t.textContent = l[0].toFixed(2);
    var tag = document.createElement('span');
    tag.className = 'tag' + (l[2] >= 0 ? ' tc' + l[2] : '');
    tag.textContent = l[3];
    var x = document.createElement('span');
    x.className = 'lx';
    x.textContent = l[4];
    div.appendChild(t);
    div.appendChild(tag);
    div.appendChild(x);
    return div;
  }

  function append(p, lines, shownFor) {
    var follow = p.out.scrollTop + p.out.clientHeight >= p.out.scrollHeight - 4;
    var frag = document.createDocumentFragment();
    for (var i = 0; i < lines.length; i++) frag.appendChild(lineEl(lines[i], shownFor(lines[i])));
    p.out.appendChild(frag);
    if (follow) p.out.scrollTop = p.out.scrollHeight;
  }

  function finish(p, rec) {
    p.timeline.innerHTML = rec.timeline || '';
    var word = rec.status.split(':')[0];
    p.status.className = 'run-status ' + word;
    p.status.textContent = (word === 'ok' ? '✔ done' : rec.status) + ' · ' + rec.duration.toFixed(2) + ' s';
    p.el.setAttribute('data-state', 'done');
  }

  function header(rec) {
    var s = '⟲ recorded ' + rec.date;
    if (rec.python) s += ' (Python ' + rec.python + ', trio ' + rec.trio + ')';
    if (rec.older) s += ' · ⚠ the slide\'s code changed since';
    if (rec.truncated || rec.dropped) s += ' · output cut';
    return s;
  }

  // Plays slide n's recording: each line appears at its recorded time (data-shown says when it
  // did, in ms since the start, so a test can compare), tree snapshots likewise, the timeline
  // at the end.
  function play(n) {
    var rec = RUNS[n];
    var p = panel(n);
    if (!rec || !p) return;
    clear(p);
    p.el.setAttribute('data-state', 'playing');
    var start = 0;
    var li = 0;
    var ti = 0;
    function step() {
      var now = performance.now() - start;
      var batch = [];
      while (li < rec.lines.length && rec.lines[li][0] * 1000 <= now) batch.push(rec.lines[li++]);
      if (batch.length) append(p, batch, function () { return now; });
      while (ti < rec.tree.length && rec.tree[ti][0] * 1000 <= now) p.tree.innerHTML = rec.tree[ti++][1];
      if (li >= rec.lines.length && ti >= rec.tree.length) {
        p.timer = null;
        finish(p, rec);
        return;
      }
      p.status.textContent = header(rec) + ' · ' + (now / 1000).toFixed(1) + ' s';
      var next = Math.min(
        li < rec.lines.length ? rec.lines[li][0] * 1000 : Infinity,
        ti < rec.tree.length ? rec.tree[ti][0] * 1000 : Infinity);
      p.timer = setTimeout(step, Math.max(0, Math.min(next - now, 100)));
    }
    p.status.textContent = header(rec);
    // The clock starts once the cleared panel is laid out, so the first lines are not late.
    p.timer = setTimeout(function () {
      start = performance.now();
      step();
    }, 0);
  }

  // For print (a handout), every recorded run is shown whole.
  function fillAll() {
    Object.keys(RUNS).forEach(function (n) {
      var p = panel(n);
      var rec = RUNS[n];
      if (!p || p.el.getAttribute('data-state') === 'done') return;
      clear(p);
      append(p, rec.lines, function (l) { return l[0] * 1000; });
      if (rec.tree.length) p.tree.innerHTML = rec.tree[rec.tree.length - 1][1];
      finish(p, rec);
    });
  }
  window.addEventListener('beforeprint', fillAll);

  Array.prototype.forEach.call(document.querySelectorAll('.run .play'), function (b) {
    b.addEventListener('click', function () {
      play(parseInt(b.closest('.run').getAttribute('data-slide'), 10));
    });
  });

  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    var k = e.key;
    var handled = true;
    if (/^[0-9]$/.test(k)) {
      if (typed.length < 6) typed += k;
    } else if (k === 'Enter') {
      if (typed) go(parseInt(typed, 10)); else if (RUNS[cur] && !events) play(cur);
      typed = '';
    } else {
      typed = '';
      if (k === 'ArrowRight' || k === ' ' || k === 'PageDown' || k === 'l' || k === 'n') go(cur + 1);
      else if (k === 'ArrowLeft' || k === 'Backspace' || k === 'PageUp' || k === 'h' || k === 'p') go(cur - 1);
      else if (k === 'Home' || k === 'g') go(1);
      else if (k === 'End' || k === 'G') go(total);
      else if ((k === 'r' || k === 'R') && !events) play(cur);
      else if (k !== 'Escape') handled = false;
    }
    setText('typed', typed ? 'go to ' + typed + '⏎' : '');
    if (handled) e.preventDefault();
  });
  window.addEventListener('hashchange', function () { show(fromHash()); });

  // The live view: the presenter's slide and runs, as server-sent events. The server resends
  // the whole state after a reconnect, so every handler just sets what it is told.
  function follow() {
    var live = document.getElementById('live');
    var es = new EventSource(events);
    var data = function (e) { return JSON.parse(e.data); };
    es.onopen = function () { live.textContent = '● live: following the speaker'; body.setAttribute('data-live', 'open'); };
    es.onerror = function () { live.textContent = '○ reconnecting…'; body.setAttribute('data-live', 'lost'); };
    es.addEventListener('slide', function (e) { show(data(e).n); });
    // The speaker's deck file changed: load the page of the new deck.
    es.addEventListener('reload', function () { es.close(); location.reload(); });
    es.addEventListener('run', function (e) {
      var d = data(e);
      var p = panel(d.slide);
      if (!p) return;
      clear(p);
      p.start = performance.now() - d.at * 1000;
      p.el.setAttribute('data-state', 'running');
      p.el.setAttribute('data-run', String(d.id));
      p.status.textContent = d.replay ? '⟲ replay of the run recorded ' + d.replay : '● running';
    });
    es.addEventListener('lines', function (e) {
      var d = data(e);
      var p = panel(d.slide);
      if (!p) return;
      var now = performance.now() - p.start;
      append(p, d.lines, function () { return now; });
    });
    es.addEventListener('skip', function (e) {
      var d = data(e);
      var p = panel(d.slide);
      if (p) append(p, [[d.t, 'i', -1, '·', '… ' + d.n + ' lines skipped (this screen fell behind)']], function () { return 0; });
    });
    es.addEventListener('tree', function (e) {
      var d = data(e);
      var p = panel(d.slide);
      if (p) p.tree.innerHTML = d.html;
    });
    es.addEventListener('end', function (e) {
      var d = data(e);
      var p = panel(d.slide);
      if (p) finish(p, d);
    });
  }

  if (autoplay) {
    // Autoplay waits for the page to be loaded and laid out, like a click would.
    var wanted = fromHash();
    show(wanted);
    window.addEventListener('load', function () { if (RUNS[cur]) play(cur); });
  } else {
    show(fromHash());
  }
  if (events) follow();
})();
