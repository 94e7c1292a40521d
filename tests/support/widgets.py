"""Pages built of the widgets real sites use, for the integration and
end-to-end tests of issue 17: a jQuery UI autocomplete (jQuery and jQuery UI
as shipped on the npm registry, under tests/fixtures/widgets with their
licenses), custom dropdowns made of `<div>`s that only listeners make
clickable, menus with ARIA roles on the container alone, and native date and
time fields. Scripts are referenced under `/fixtures/widgets/`, which the test
site serves (and the integration tests copy next to their pages)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "widgets"
JQUERY = "/fixtures/widgets/jquery-3.7.1.min.js"
JQUERY_UI = "/fixtures/widgets/jquery-ui-1.14.1.min.js"
JQUERY_UI_CSS = "/fixtures/widgets/jquery-ui-1.14.1.min.css"
REACT = "/fixtures/widgets/react-18.3.1.production.min.js"
REACT_DOM = "/fixtures/widgets/react-dom-18.3.1.production.min.js"
LANGUAGES = ["Jade", "Java", "Julia", "Python", "Ruby"]  # typing "j" suggests the first three

AUTOCOMPLETE = f"""<!doctype html><html><head><title>Languages</title>
<link rel=stylesheet href="{JQUERY_UI_CSS}"><script src="{JQUERY}"></script><script src="{JQUERY_UI}"></script>
</head><body><h1>Favourite language</h1>
<label for=lang>Language</label> <input id=lang name=lang placeholder="Start typing a language">
<p id=picked>Nothing picked</p>
<script>
$("#lang").autocomplete({{source: {LANGUAGES!r}, select: (e, ui) => $("#picked").text("Picked " + ui.item.value)}});
</script></body></html>"""

# Listeners only: no role, no tabindex, no cursor style, no href. The size menu has a listener on
# each option; the colour menu one listener on its container (delegation).
DROPDOWNS = """<!doctype html><html><head><title>Options</title>
<style>.menu{border:1px solid #999;width:200px}.menu div{padding:4px}</style></head><body>
<h1>Your order</h1>
<div id=size><div class=current>Choose a size</div>
  <div class=menu style="display:none"><div>Small</div><div>Medium</div><div>Large</div></div></div>
<div id=colour><div class=current>Choose a colour</div>
  <div class=menu style="display:none"><div>Crimson</div><div>Olive</div><div>Navy</div></div></div>
<p id=chosen>Nothing chosen</p>
<script>
const pick = (name, box, text) => {
  box.querySelector('.current').textContent = text;
  box.querySelector('.menu').style.display = 'none';
  document.getElementById('chosen').textContent = name + ': ' + text;
};
for (const id of ['size', 'colour']) {
  const box = document.getElementById(id), menu = box.querySelector('.menu');
  box.querySelector('.current').addEventListener('click', () => { menu.style.display = 'block'; });
}
const size = document.getElementById('size');
for (const opt of size.querySelectorAll('.menu div')) opt.addEventListener('click', () => pick('Size', size, opt.textContent));
const colour = document.getElementById('colour');
colour.querySelector('.menu').addEventListener('click', (e) => {
  const opt = e.target.closest('.menu > div');
  if (opt) pick('Colour', colour, opt.textContent);
});
</script></body></html>"""

# ARIA roles on the containers only, their items plain elements; an `onclick` set by script; a
# wrapper with a listener around real buttons and a cursor:pointer span (they are what is listed).
ROLES = """<!doctype html><html><head><title>Menus</title></head><body>
<div role=listbox aria-label=Fruit id=fruit><div>Apple</div><div>Banana</div><div>Cherry</div></div>
<ul role=menu id=edit><li>Copy</li><li>Paste</li><li></li><li>Delete</li></ul>
<span id=prop>Property handler</span>
<div id=wrap><button>Save draft</button><button>Publish</button><span style="cursor:pointer">Preview</span></div>
<p id=log>none</p>
<script>
const log = (t) => { document.getElementById('log').textContent = t; };
document.getElementById('fruit').addEventListener('click', (e) => log('fruit ' + e.target.textContent));
document.getElementById('edit').addEventListener('click', (e) => log('edit ' + e.target.textContent));
document.getElementById('prop').onclick = () => log('property');
document.getElementById('wrap').addEventListener('click', (e) => log('wrap ' + e.target.textContent));
</script></body></html>"""

# React 18 listens at its root for the whole app: the options' handlers are props only. The second
# root renders text alone, and is no clickable element for all its root listeners.
REACT_PICKER = f"""<!doctype html><html><head><title>Shipping</title>
<script src="{REACT}"></script><script src="{REACT_DOM}"></script></head><body>
<h1>Shipping</h1><div id=root></div><div id=notes></div>
<script>
const h = React.createElement;
function Picker() {{
  const [open, setOpen] = React.useState(false);
  const [value, setValue] = React.useState('');
  const choose = (v) => {{ setValue(v); setOpen(false); }};
  return h('div', {{className: 'picker'}},
    h('div', {{className: 'current', onClick: () => setOpen(!open)}}, value || 'Choose a carrier'),
    open ? h('div', {{className: 'menu'}}, ['Post', 'Courier', 'Pick-up point'].map(
      (v) => h('div', {{key: v, onClick: () => choose(v)}}, v))) : null,
    h('p', {{id: 'carrier'}}, value ? 'Carrier: ' + value : 'No carrier'));
}}
ReactDOM.createRoot(document.getElementById('root')).render(h(Picker));
ReactDOM.createRoot(document.getElementById('notes')).render(h('p', null, 'Delivery takes two days.'));
</script></body></html>"""

DATES = """<!doctype html><html><head><title>Booking</title></head><body><h1>Book a room</h1>
<form method=post action=/echo-upload>
<label>Arrival date <input type=date name=arrival required></label>
<label>Arrival time <input type=time name=at required></label>
<label>Pick-up <input type=datetime-local name=pickup required></label>
<button type=submit>Book it</button></form></body></html>"""

# --- issue 25: the agent's hands and eyes ------------------------------------------------------

SUGGEST_WORDS = ["Jade", "Java", "JavaScript", "Julia", "Python", "PyPy", "Ruby"]

# Hands: an HTML5 sortable list (draggable items, dragstart/dragover/drop), a slider whose knob
# follows mousedown / mousemove / mouseup only (no keys), a menu three levels deep (the second
# level opens by CSS :hover, the third by a script 120 ms after mouseenter, as hover-intent menus
# do) and a terminal that reads keydown events, not a field's value.
HANDS = """<!doctype html><html><head><title>Hands</title><style>
#sortable li{padding:6px;margin:2px;background:#eee;width:160px;list-style:none}
#track{position:relative;width:300px;height:10px;background:#ddd;margin:18px 0}
.knob{position:absolute;left:0;top:-6px;width:20px;height:22px;background:#333}
nav ul{list-style:none;margin:0;padding:0}nav li{position:relative;width:110px;padding:4px;background:#f4f4f4}
nav li ul{display:none;position:absolute;left:110px;top:0}nav .top > li:hover > ul{display:block}
nav .deep.open{display:block}
#term{font-family:monospace;background:#111;color:#0f0;padding:6px;width:400px}
</style></head><body>
<ul id=sortable><li draggable=true>Alpha</li><li draggable=true>Bravo</li><li draggable=true>Charlie</li><li draggable=true>Delta</li></ul>
<p id=order>Order: Alpha, Bravo, Charlie, Delta</p>
<div id=track><div class=knob></div></div><p id=level>Level 0</p>
<nav><ul class=top><li><a href="#ola">Ola</a><ul><li><a href="#pia">Pia</a></li>
  <li id=tracey><a href="#tracey">Tracey</a><ul class=deep><li><a href="#ursa">Ursa</a></li><li><a href="#vera">Vera</a></li></ul></li>
  </ul></li><li><a href="#nina">Nina</a></li></ul></nav>
<p id=picked>Nothing picked</p>
<div id=term tabindex=0>user$ <span id=line></span>&#9608;</div><pre id=out></pre>
<script>
const list = document.getElementById('sortable');
let dragged = null;
list.addEventListener('dragstart', (e) => { dragged = e.target; e.dataTransfer.setData('text/plain', ''); });
list.addEventListener('dragover', (e) => e.preventDefault());
list.addEventListener('drop', (e) => {
  e.preventDefault();
  const onto = e.target.closest('li');
  if (dragged && onto && onto !== dragged) list.insertBefore(dragged, onto);
  document.getElementById('order').textContent = 'Order: ' + [...list.children].map((li) => li.textContent).join(', ');
});
const knob = document.querySelector('.knob');
let grab = null;
knob.addEventListener('mousedown', (e) => { grab = {x: e.clientX, left: knob.offsetLeft}; e.preventDefault(); });
document.addEventListener('mousemove', (e) => {
  if (!grab) return;
  const left = Math.max(0, Math.min(280, grab.left + e.clientX - grab.x));
  knob.style.left = left + 'px';
  document.getElementById('level').textContent = 'Level ' + Math.round(left / 280 * 100);
});
document.addEventListener('mouseup', () => { grab = null; });
const tracey = document.getElementById('tracey'), deep = tracey.querySelector('.deep');
let timer = 0;
tracey.addEventListener('mouseenter', () => { timer = setTimeout(() => deep.classList.add('open'), 120); });
tracey.addEventListener('mouseleave', () => { clearTimeout(timer); deep.classList.remove('open'); });
document.querySelector('nav').addEventListener('click', (e) => {
  const a = e.target.closest('a');
  if (a && a.closest('.deep')) document.getElementById('picked').textContent = 'Picked Ola > Tracey > ' + a.textContent;
});
const term = document.getElementById('term'), line = document.getElementById('line');
term.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') { document.getElementById('out').textContent += 'ran: ' + line.textContent + '\\n'; line.textContent = ''; }
  else if (e.key === 'Backspace') line.textContent = line.textContent.slice(0, -1);
  else if (e.key.length === 1) line.textContent += e.key;
  e.preventDefault();
});
</script></body></html>"""

COUNTRIES = [
    "Western Sahara", "Gibraltar", "Panama", "Russian Federation", "Sao Tome and Principe", "Albania",
    "Andorra", "Armenia", "Austria", "Belarus", "Belgium", "Bosnia and Herzegovina", "Bulgaria", "Croatia",
    "Cyprus", "Czechia", "Denmark", "Estonia", "Finland", "France", "Georgia", "Germany", "Greece", "Hungary",
    "Iceland", "Ireland", "Italy", "Kosovo", "Latvia", "Liechtenstein", "Lithuania", "Luxembourg", "Malta",
    "Moldova", "Monaco", "Montenegro", "Netherlands", "North Macedonia", "Norway", "Poland", "Portugal",
    "Romania", "San Marino", "Serbia", "Slovakia", "Slovenia", "Spain", "Sweden", "Switzerland", "Ukraine",
]  # fmt: skip
LAST_WORD = "zephyr"
LONG_TEXT = " ".join(["Sed at varius ullamcorper suspendisse nec auctor volutpat vel sagittis tortor."] * 8) + (
    f" The last word is {LAST_WORD}"
)
SWATCHES = {"#e53935": "red", "#43a047": "green", "#1e88e5": "blue", "#fdd835": "yellow", "#8e24aa": "purple"}

# Eyes: controls without text (a feed's icons drawn by CSS backgrounds with a listener each or a
# jQuery handler delegated from the document, a
# toolbar of an <img> without alt and an <svg><title>, an icon menu whose items differ only by
# class, colour swatches behind one delegated listener), an SVG pie chart whose slices are the
# targets, a group of checkboxes labelled four ways, a long textarea, a long multiple select and a
# multi-selectable ARIA listbox.
EYES = f"""<!doctype html><html><head><title>Eyes</title><script src="{JQUERY}"></script><style>
.feed span{{display:inline-block;width:16px;height:16px;margin:2px;background:url("/icons/reply.svg")}}
.feed .like{{background-image:url("/icons/heart.svg")}}.feed .more{{background-image:url("/icons/dots.svg")}}
#swatches span{{display:inline-block;width:18px;height:18px;margin:2px}}
.icon{{display:inline-block;width:16px;height:16px;background:#ccc}}
</style></head><body>
<div class=feed><b>Nannette</b> @vitae 16h ago <p>Venenatis. Vel, aenean sit.</p>
  <span class=reply></span><span class=like></span><span class=more></span></div>
<ul role=listbox aria-multiselectable=true aria-label=Fruit id=fruit>
  <li role=option aria-selected=false>Mango</li><li role=option aria-selected=false>Kiwi</li>
  <li role=option aria-selected=false>Plum</li></ul>
<div id=toolbar><button id=trash><img src="/icons/trash-can.png" width=16 height=16></button>
  <button id=star><svg width=16 height=16><title>Star this mail</title><circle cx=8 cy=8 r=6 /></svg></button></div>
<ul role=menu id=icons><li><span class="icon icon-cloud"></span></li><li><span class="icon icon-sun"></span></li>
  <li><span class="icon icon-moon"></span></li></ul>
<div id=swatches>{"".join(f'<span class=swatch style="background:{c}"></span>' for c in SWATCHES)}</div>
<svg id=pie width=120 height=120 viewBox="0 0 120 120">
  <path d="M60 60 L60 0 A60 60 0 0 1 117 78 Z" fill="#e53935"><title>Apples 40%</title></path>
  <path d="M60 60 L117 78 A60 60 0 0 1 10 93 Z" fill="#43a047"><title>Bananas 35%</title></path>
  <path d="M60 60 L10 93 A60 60 0 0 1 60 0 Z" fill="#1e88e5"><title>Cherries 25%</title></path></svg>
<p id=log>Nothing clicked</p>
<div role=group aria-label=Categories tabindex=0>
  <input type=checkbox id=c1 value=1 checked><label for=c1>Field Reports</label>
  <label><input type=checkbox value=1> Hardware</label>
  <input type=checkbox value=1 aria-labelledby=l3><span id=l3>Releases</span>
  <input type=checkbox value=1> Uncategorized
</div>
<textarea id=story rows=2 cols=60>{LONG_TEXT}</textarea>
<label for=countries>Countries</label>
<select id=countries name=countries multiple size=4>{"".join(f"<option>{c}</option>" for c in COUNTRIES)}</select>
<p id=chosen>Chosen: none</p>
<script>
const log = (t) => {{
  const el = document.getElementById('log');
  el.textContent = (el.textContent === 'Nothing clicked' ? 'Clicked: ' : el.textContent + '; ') + t;
}};
for (const s of document.querySelectorAll('.feed .reply, .feed .like')) s.addEventListener('click', () => log('feed ' + s.className));
$(document).on('click', '.more', () => log('feed more'));
for (const o of document.querySelectorAll('#fruit li')) o.addEventListener('click', () => {{
  o.setAttribute('aria-selected', String(o.getAttribute('aria-selected') !== 'true'));
}});
document.getElementById('trash').addEventListener('click', () => log('toolbar trash'));
document.getElementById('star').addEventListener('click', () => log('toolbar star'));
document.getElementById('icons').addEventListener('click', (e) => {{
  const li = e.target.closest('li'); if (li) log('menu ' + li.firstElementChild.className);
}});
document.getElementById('swatches').addEventListener('click', (e) => {{
  if (e.target.classList.contains('swatch')) log('colour ' + e.target.style.backgroundColor);
}});
for (const p of document.querySelectorAll('#pie path')) p.addEventListener('click', () => log('slice ' + p.textContent));
const countries = document.getElementById('countries');
countries.addEventListener('change', () => {{
  const names = [...countries.selectedOptions].map((o) => o.text);
  document.getElementById('chosen').textContent = 'Chosen: ' + (names.join(' and ') || 'none');
}});
</script></body></html>"""

# An autocomplete that asks a server: "Searching..." at once, the answer after a debounce and a
# slow request (the site's /suggest), its options then drawn as a listbox.
SEARCH = """<!doctype html><html><head><title>Search</title></head><body>
<label for=q>Language</label> <input id=q autocomplete=off placeholder="Search a language">
<div id=status></div><ul id=options role=listbox></ul><p id=picked>Nothing picked</p>
<script>
const q = document.getElementById('q'), options = document.getElementById('options');
let timer = 0;
q.addEventListener('input', () => {
  clearTimeout(timer);
  options.innerHTML = '';
  timer = setTimeout(async () => {
    document.getElementById('status').textContent = 'Searching...';
    const words = await (await fetch('/suggest?ms=500&q=' + encodeURIComponent(q.value))).json();
    document.getElementById('status').textContent = words.length + ' found';
    options.innerHTML = words.map((w) => '<li role=option>' + w + '</li>').join('');
  }, 150);
});
options.addEventListener('click', (e) => {
  if (e.target.localName === 'li') { q.value = e.target.textContent; options.innerHTML = '';
    document.getElementById('picked').textContent = 'Picked ' + q.value; }
});
</script></body></html>"""
