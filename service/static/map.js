// tryggplan: the map of places (Leaflet, vendored under /static/vendor/leaflet/). Used by the dashboard
// and the reporters' form.
//
// * tiles from the configured URL (/ui/config.json, TRYGGPLAN_TILE_URL; OpenStreetMap's by default);
//   when none load (offline, blocked, or no URL), the places stay on a plain outline: each town's
//   outline and each walking area's, drawn from the places themselves;
// * places coloured by their level within their own town (town_level of the GeoJSON);
// * labels placed greedily around their circle (right, left, above, below, diagonals), riskiest first; a label
//   that would overlap another label or circle, or leave the visible map, is hidden (the name stays in the place panel and lists);
// * a click on a place calls onSelect(place_id); a tap elsewhere calls onMapClick(latlng).
"use strict";

const TPMap = (() => {
  const COLORS = { high: "#a4161a", elevated: "#b85c00", normal: "#2b6a99" };

  function escapeText(text) {
    const div = document.createElement("div");
    div.textContent = text || "";
    return div.innerHTML;
  }

  // convex hull (Andrew's monotone chain) of [lon, lat] points
  function hull(points) {
    const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    if (pts.length < 3) return pts;
    const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
    const lower = [], upper = [];
    for (const p of pts) {
      while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
      lower.push(p);
    }
    for (const p of pts.reverse()) {
      while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
      upper.push(p);
    }
    return lower.slice(0, -1).concat(upper.slice(0, -1));
  }

  // a hull pushed out by `pad` degrees from its centre, so the places sit inside the line
  function padded(points, pad) {
    const h = hull(points);
    const cx = h.reduce((s, p) => s + p[0], 0) / h.length, cy = h.reduce((s, p) => s + p[1], 0) / h.length;
    if (h.length < 3) {
      return [[cx - pad, cy - pad], [cx + pad, cy - pad], [cx + pad, cy + pad], [cx - pad, cy + pad]];
    }
    return h.map(([x, y]) => {
      const dx = x - cx, dy = y - cy, d = Math.hypot(dx, dy) || 1;
      return [x + (dx / d) * pad, y + (dy / d) * pad];
    });
  }

  function groupBy(items, key) {
    const out = new Map();
    for (const it of items) {
      const k = key(it);
      if (!k) continue;
      if (!out.has(k)) out.set(k, []);
      out.get(k).push(it);
    }
    return out;
  }

  function radius(f) {
    const ratio = f.properties.town_ratio || 0;
    return 6 + 4 * Math.sqrt(Math.min(ratio, 4));
  }

  /**
   * A map of `features` (GeoJSON points, properties as places.geojson gives them) in `container`.
   * options: config (tile_url, tile_attribution, tile_max_zoom), onSelect(place_id), onMapClick(latlng),
   * noTilesText (shown when tiles cannot load).
   */
  function create(container, features, options) {
    const opts = options || {};
    const config = opts.config || {};
    const located = features.filter((f) => f.geometry && f.geometry.type === "Point");
    const map = L.map(container, { zoomSnap: 0.5, scrollWheelZoom: false });
    map.attributionControl.setPrefix("Leaflet");
    const latlngs = located.map((f) => [f.geometry.coordinates[1], f.geometry.coordinates[0]]);
    if (latlngs.length) map.fitBounds(L.latLngBounds(latlngs).pad(0.2), { maxZoom: 16 });
    else map.setView([62, 16], 4);

    // the plain outline: each town's and each walking area's, from the places (always drawn; the
    // tiles cover the background when they load)
    const outline = L.layerGroup().addTo(map);
    for (const [, towns] of groupBy(located, (f) => f.properties.municipality || "·")) {
      const ring = padded(towns.map((f) => f.geometry.coordinates), 0.004).map(([x, y]) => [y, x]);
      L.polygon(ring, { className: "outline-town", interactive: false, weight: 1.5, fillOpacity: 0.06 }).addTo(outline);
    }
    for (const [, area] of groupBy(located, (f) => f.properties.area)) {
      if (area.length < 2) continue;
      const ring = padded(area.map((f) => f.geometry.coordinates), 0.0015).map(([x, y]) => [y, x]);
      L.polygon(ring, { className: "outline-area", interactive: false, weight: 1, dashArray: "4 4", fill: false }).addTo(outline);
    }

    let tilesLoaded = 0;
    const noTiles = () => {
      if (tilesLoaded) return;
      container.classList.add("no-tiles");
      container.dataset.tiles = "none";
      if (opts.onNoTiles) opts.onNoTiles();
    };
    if (config.tile_url) {
      const tiles = L.tileLayer(config.tile_url, {
        maxZoom: config.tile_max_zoom || 19,
        attribution: escapeText(config.tile_attribution),
        crossOrigin: false,
      });
      tiles.on("tileload", () => { tilesLoaded += 1; container.classList.remove("no-tiles"); container.dataset.tiles = "loaded"; });
      tiles.on("tileerror", noTiles);
      tiles.addTo(map);
    } else {
      noTiles();
    }

    // places, the quietest first so the riskiest are drawn on top
    const markers = new Map();
    const order = { normal: 0, elevated: 1, high: 2 };
    const drawn = [...located].sort((a, b) => (order[a.properties.town_level] || 0) - (order[b.properties.town_level] || 0));
    for (const f of drawn) {
      const p = f.properties;
      const level = p.town_level || "normal";
      const m = L.circleMarker([f.geometry.coordinates[1], f.geometry.coordinates[0]], {
        radius: radius(f), color: "#fff", weight: 2, fillColor: COLORS[level], fillOpacity: 0.92,
        className: "place-marker level-" + level,
      }).addTo(map);
      m.on("click", (ev) => { L.DomEvent.stopPropagation(ev); if (opts.onSelect) opts.onSelect(p.place_id); });
      const path = m.getElement();
      if (path) { path.dataset.place = p.place_id; path.dataset.level = level; }
      markers.set(p.place_id, { marker: m, feature: f });
    }
    if (opts.onMapClick) map.on("click", (ev) => opts.onMapClick(ev.latlng));

    // labels in their own pane, moved with the map
    const pane = map.createPane("labels");
    pane.classList.add("label-pane");
    const labels = new Map();
    for (const f of located) {
      const span = TP.el("span", { class: "place-label", "data-place": f.properties.place_id }, f.properties.name || f.properties.place_id);
      pane.append(span);
      labels.set(f.properties.place_id, span);
    }

    function layout() {
      const boxes = [];
      const circles = [];
      for (const { marker, feature } of markers.values()) {
        const pt = map.latLngToLayerPoint(marker.getLatLng());
        circles.push({ id: feature.properties.place_id, x1: pt.x - radius(feature), y1: pt.y - radius(feature),
          x2: pt.x + radius(feature), y2: pt.y + radius(feature) });
      }
      const hit = (a, b) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
      // a label must lie inside the map's visible box (layer coordinates of its corners)
      const size = map.getSize();
      const tl = map.containerPointToLayerPoint([2, 2]), br = map.containerPointToLayerPoint([size.x - 2, size.y - 2]);
      const inside = (b) => b.x1 >= tl.x && b.y1 >= tl.y && b.x2 <= br.x && b.y2 <= br.y;
      const ranked = [...located].sort((a, b) => (b.properties.town_ratio || 0) - (a.properties.town_ratio || 0));
      for (const span of labels.values()) span.classList.remove("hidden");
      for (const f of ranked) {
        const id = f.properties.place_id;
        const span = labels.get(id);
        const w = span.offsetWidth, h = span.offsetHeight;
        const pt = map.latLngToLayerPoint([f.geometry.coordinates[1], f.geometry.coordinates[0]]);
        const r = radius(f) + 3;
        // right, left, above, below, the four diagonals, then the same a little further out
        const candidates = [];
        for (const k of [r, r + 12]) {
          const d = k * 0.75;
          candidates.push([pt.x + k, pt.y - h / 2], [pt.x - k - w, pt.y - h / 2], [pt.x - w / 2, pt.y - k - h], [pt.x - w / 2, pt.y + k],
            [pt.x + d, pt.y - d - h], [pt.x - d - w, pt.y - d - h], [pt.x + d, pt.y + d], [pt.x - d - w, pt.y + d]);
        }
        let spot = null;
        for (const [x, y] of candidates) {
          const box = { x1: x, y1: y, x2: x + w, y2: y + h };
          if (inside(box) && !boxes.some((b) => hit(b, box)) && !circles.some((c) => c.id !== id && hit(c, box))) { spot = box; break; }
        }
        if (spot === null) {
          span.classList.add("hidden");
        } else {
          boxes.push(spot);
          L.DomUtil.setPosition(span, L.point(spot.x1, spot.y1));
        }
      }
    }
    map.on("zoomend viewreset resize moveend", layout);
    layout();

    let selected = null;
    function select(id) {
      if (selected && markers.has(selected)) markers.get(selected).marker.setStyle({ color: "#fff", weight: 2 });
      selected = id;
      const hitMarker = markers.get(id);
      if (hitMarker) {
        hitMarker.marker.setStyle({ color: "#111", weight: 4 });
        hitMarker.marker.bringToFront();
      }
    }

    /** The place nearest to `latlng` (in screen pixels) and its distance [px]. */
    function nearest(latlng) {
      const at = map.latLngToLayerPoint(latlng);
      let best = null;
      for (const { marker, feature } of markers.values()) {
        const d = at.distanceTo(map.latLngToLayerPoint(marker.getLatLng()));
        if (!best || d < best.distance) best = { id: feature.properties.place_id, distance: d };
      }
      return best;
    }

    return { map, select, layout, nearest, COLORS };
  }

  return { create, COLORS };
})();
