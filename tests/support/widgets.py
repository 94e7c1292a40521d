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
