"""A map of stored vectors as one self-contained HTML page: a canvas, its points as inline JSON, and inline
JavaScript that shows a point's image, id and label on hover. Nothing is fetched from anywhere."""

from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path

import numpy as np

from embedkit.drawing.maps import MapPoints, group_colours, title

DATA_ELEMENT = "map-data"
"""The id of the <script type="application/json"> element that holds the points."""


def image_uri(image) -> str:
    """A small PIL image as an inline data: URI (JPEG)."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def page_data(vector_map: MapPoints, images: int | None = None) -> dict:
    """What the page draws: coordinates scaled to 0..1, each point's group, id, label and image (an index into
    `images`, -1 for none); the first `images` of the map's thumbnails (None: all)."""
    xy = vector_map.xy
    low, span = xy.min(axis=0), np.ptp(xy, axis=0)
    scaled = (xy - low) / np.where(span > 0, span, 1.0)
    label_names = sorted(set(vector_map.labels))
    label_index = {name: i for i, name in enumerate(label_names)}
    uris, image_of = [], [-1] * len(vector_map.ids)
    for position in list(vector_map.thumbnails)[:images]:
        image_of[position] = len(uris)
        uris.append(image_uri(vector_map.thumbnails[position]))
    counts = np.bincount(vector_map.group_of, minlength=len(vector_map.groups))
    colours = group_colours(vector_map.groups)
    return {
        "colour": vector_map.colour,
        "groups": [{"name": name, "count": int(count), "colour": _hex(colour)}
                   for name, count, colour in zip(vector_map.groups, counts, colours)],
        "x": np.round(scaled[:, 0], 4).tolist(),
        "y": np.round(scaled[:, 1], 4).tolist(),
        "group": vector_map.group_of.tolist(),
        "id": list(vector_map.ids),
        "label_names": label_names,
        "label": [label_index[name] for name in vector_map.labels],
        "image": image_of,
        "images": uris,
    }


def save_html(vector_map: MapPoints, path: str | Path, *, images: int | None = None) -> Path:
    """Write the map as one HTML file with everything inline, its first `images` thumbnails (None: all) as data:
    URIs."""
    shown = len(vector_map.thumbnails) if images is None else min(images, len(vector_map.thumbnails))
    note = (f"Hover a point for its id and label; {shown:,} of them (ringed) show their image. "
            f"Click a legend entry to hide or show its points.")
    # every "<" escaped: a name holding </script> or <!-- cannot end the data element early
    data = json.dumps(page_data(vector_map, shown), separators=(",", ":")).replace("<", "\\u003c")
    values = {"TITLE": html.escape(title(vector_map)), "NOTE": html.escape(note), "ELEMENT": DATA_ELEMENT, "DATA": data}
    page = re.sub(r"\$(TITLE|NOTE|ELEMENT|DATA)", lambda match: values[match.group(1)], _PAGE)
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path


def _hex(colour: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(channel * 255):02x}" for channel in colour[:3])


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>$TITLE</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 16px; margin: 0 0 4px; } p { margin: 0 0 8px; color: #555; }
#wrap { display: flex; gap: 16px; align-items: flex-start; }
canvas { border: 1px solid #ddd; cursor: crosshair; }
#legend { list-style: none; margin: 0; padding: 0; max-height: 760px; overflow-y: auto; min-width: 160px; }
#legend li { cursor: pointer; padding: 1px 4px; white-space: nowrap; }
#legend li.off { opacity: 0.35; }
#legend span { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 6px; }
#tip { position: fixed; display: none; background: #fff; border: 1px solid #888; padding: 6px;
       pointer-events: none; box-shadow: 0 2px 6px rgba(0,0,0,.25); max-width: 260px; }
#tip img { display: block; width: 96px; image-rendering: pixelated; margin-bottom: 4px; }
</style></head>
<body>
<h1>$TITLE</h1><p>$NOTE</p>
<div id="wrap"><canvas id="map" width="900" height="760"></canvas><ul id="legend"></ul></div>
<div id="tip"><img id="tip-image" alt=""><div id="tip-text"></div></div>
<script type="application/json" id="$ELEMENT">$DATA</script>
<script>
(function () {
  const data = JSON.parse(document.getElementById("$ELEMENT").textContent);
  const canvas = document.getElementById("map"), context = canvas.getContext("2d");
  const tip = document.getElementById("tip"), tipImage = document.getElementById("tip-image");
  const tipText = document.getElementById("tip-text"), legend = document.getElementById("legend");
  const n = data.id.length, margin = 12, hidden = new Set();
  const radius = Math.max(1.5, Math.min(6, 240 / Math.sqrt(n + 1)));
  const ratio = window.devicePixelRatio || 1, width = canvas.width, height = canvas.height;
  canvas.width = width * ratio; canvas.height = height * ratio;
  canvas.style.width = width + "px"; canvas.style.height = height + "px";
  context.scale(ratio, ratio);
  const px = i => margin + data.x[i] * (width - 2 * margin);
  const py = i => height - margin - data.y[i] * (height - 2 * margin);
  // the dots with an image last, on top: hover picks them first, and they are not hidden under the others
  const order = [...Array(n).keys()].sort((a, b) => (data.image[a] >= 0) - (data.image[b] >= 0));
  function draw() {
    context.clearRect(0, 0, width, height);
    for (const i of order) {
      if (hidden.has(data.group[i])) continue;
      context.globalAlpha = 0.8;
      context.fillStyle = data.groups[data.group[i]].colour;
      context.beginPath(); context.arc(px(i), py(i), radius, 0, 2 * Math.PI); context.fill();
      if (data.image[i] >= 0) {
        context.globalAlpha = 1; context.strokeStyle = "#333"; context.lineWidth = 1; context.stroke();
      }
    }
  }
  data.groups.forEach(function (group, index) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.style.background = group.colour;
    item.appendChild(swatch);
    item.appendChild(document.createTextNode(group.name + " (" + group.count + ")"));
    item.addEventListener("click", function () {
      if (hidden.has(index)) { hidden.delete(index); item.className = ""; }
      else { hidden.add(index); item.className = "off"; }
      draw();
    });
    legend.appendChild(item);
  });
  canvas.addEventListener("mousemove", function (event) {
    const box = canvas.getBoundingClientRect(), x = event.clientX - box.left, y = event.clientY - box.top;
    // the nearest dot within reach that has an image; only where none has, the nearest dot
    const reach = Math.max(8, radius + 2) ** 2;
    let best = -1, nearest = reach, bestImage = -1, nearestImage = reach;
    for (let i = 0; i < n; i++) {
      if (hidden.has(data.group[i])) continue;
      const d = (px(i) - x) ** 2 + (py(i) - y) ** 2;
      if (d < nearest) { nearest = d; best = i; }
      if (data.image[i] >= 0 && d < nearestImage) { nearestImage = d; bestImage = i; }
    }
    if (bestImage >= 0) best = bestImage;
    if (best < 0) { tip.style.display = "none"; return; }
    const image = data.image[best];
    tipImage.style.display = image >= 0 ? "block" : "none";
    if (image >= 0) tipImage.src = data.images[image];
    const label = data.label_names[data.label[best]], group = data.groups[data.group[best]].name;
    tipText.textContent = data.id[best] + " \\u2014 " + label
      + (data.colour === "label" ? "" : " (" + data.colour + " " + group + ")");
    tip.style.left = (event.clientX + 14) + "px"; tip.style.top = (event.clientY + 14) + "px";
    tip.style.display = "block";
  });
  canvas.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  draw();
})();
</script>
</body></html>
"""
