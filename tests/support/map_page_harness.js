// Runs a map page's inline script against a stub DOM, hovers the first point that has an image (or the point at
// position HOVER, when given), and prints what the tooltip shows as JSON.
// Usage: node map_page_harness.js PAGE.html DATA_ELEMENT_ID [HOVER]
const fs = require("fs");
const page = fs.readFileSync(process.argv[2], "utf8"), dataId = process.argv[3];
const data = page.match(new RegExp(`<script type="application/json" id="${dataId}">([\\s\\S]*?)</script>`))[1];
const code = page.match(/<script>\n([\s\S]*?)<\/script>/)[1];
const elements = {}, listeners = {};
const context = new Proxy({}, { get: (t, k) => (k in t ? t[k] : () => {}), set: (t, k, v) => ((t[k] = v), true) });
function element(id) {
  return (elements[id] = elements[id] || {
    id, style: {}, textContent: id === dataId ? data : "", children: [], width: 900, height: 760, className: "",
    getContext: () => context,
    getBoundingClientRect: () => ({ left: 0, top: 0 }),
    addEventListener: (type, listener) => { listeners[id + ":" + type] = listener; },
    appendChild(child) { this.children.push(child); },
  });
}
global.window = { devicePixelRatio: 1 };
global.document = {
  getElementById: element,
  createElement: tag => ({ tag, style: {}, children: [], appendChild(c) { this.children.push(c); },
                           addEventListener() {} }),
  createTextNode: text => ({ text }),
};
new Function(code)();
const parsed = JSON.parse(data), canvas = elements.map;
const i = process.argv[4] === undefined ? parsed.image.findIndex(v => v >= 0) : Number(process.argv[4]), margin = 12;
const x = margin + parsed.x[i] * (canvas.width - 2 * margin), y = canvas.height - margin - parsed.y[i] * (canvas.height - 2 * margin);
listeners["map:mousemove"]({ clientX: x, clientY: y });
console.log(JSON.stringify({ legend: elements.legend.children.length, display: elements.tip.style.display,
                             src: elements["tip-image"].src || "", text: elements["tip-text"].textContent }));
