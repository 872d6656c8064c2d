/* kzgis map runtime (part of kzgis, MIT licence).
 *
 * Builds the thematic overlays from GeoJSON prepared by kzgis.maps (every attribute text in it is
 * already HTML-escaped), keeps their drawing order, shows the legend sections of the visible
 * overlays, the mouse position in CGCS2000/WGS84, and moves every overlay onto GCJ-02 while an
 * Amap (高德) basemap is shown, using the offset grid computed by kzgis.gcj02.
 */
(function (global) {
  'use strict';
  var L = global.L;
  var kz = global.kz = global.kz || {};
  kz.overlays = [];
  kz.gcjOn = false;
  kz.renderer = null;

  function renderer() {
    if (!kz.renderer) { kz.renderer = L.canvas({padding: 0.5, tolerance: 4}); }
    return kz.renderer;
  }

  function popupHtml(spec, p) {
    var rows = '';
    var vals = p._p || [];
    for (var i = 0; i < spec.fields.length; i++) {
      if (vals[i] !== undefined && vals[i] !== '') {
        rows += '<tr><th>' + spec.fields[i] + '</th><td>' + vals[i] + '</td></tr>';
      }
    }
    return '<div class="kz-pop"><div class="kz-pop-h">' + spec.name + '</div>' +
      (rows ? '<table>' + rows + '</table>' : '') + '</div>';
  }

  function styleOf(spec, p) {
    var s = spec.styles[p._s] || spec.styles[0];
    if (p._r) { s = L.extend({}, s, {radius: p._r}); }
    return s;
  }

  /* A thematic overlay: L.geoJSON with the class styles of kzgis.maps.styles. */
  kz.overlay = function (data, spec, inner) {
    var layer = L.geoJSON(data, {
      renderer: renderer(),
      interactive: spec.interactive !== false,
      style: function (f) { return styleOf(spec, f.properties); },
      pointToLayer: function (f, ll) {
        var p = f.properties, s = styleOf(spec, p);
        if (s.icon) {
          var size = s.size || 14;
          var html = s.icon + (p._l ? '<span class="kz-sym-label">' + p._l + '</span>' : '');
          return L.marker(ll, {
            icon: L.divIcon({className: 'kz-sym', html: html, iconSize: [size, size],
                             iconAnchor: [size / 2, size / 2]}),
            zIndexOffset: spec.order * 100, keyboard: false, interactive: spec.interactive !== false
          });
        }
        return L.circleMarker(ll, L.extend({renderer: renderer()}, s));
      },
      onEachFeature: function (f, l) {
        var p = f.properties;
        if (spec.interactive === false) { return; }
        if (p._t) {
          l.bindTooltip(p._t, {sticky: !(l instanceof L.Marker), direction: 'top', className: 'kz-tip',
                               offset: [0, -4]});
        }
        if (!spec.noPopup) { l.bindPopup(function () { return popupHtml(spec, p); }, {maxWidth: 360}); }
      }
    });
    layer._kzSpec = spec;
    if (!inner) { kz.overlays.push(layer); }
    return layer;
  };

  // ---------------------------------------------------------------------------- dense layers
  /* Dense layers of the county map (kzgis.maps._dense): the GeoJSON comes gzip-compressed and
     base64-encoded; it is decoded with the browser's DecompressionStream and built the first time
     the layer is shown. Points are aggregated on a screen grid below spec.cluster.detailZoom. */
  kz.pending = 0;

  function inflate(b64) {
    var bin = atob(b64), n = bin.length, u8 = new Uint8Array(n);
    for (var i = 0; i < n; i++) { u8[i] = bin.charCodeAt(i); }
    var stream = new Blob([u8]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Response(stream).text().then(function (t) { return JSON.parse(t); });
  }

  function settle() {
    kz.pending--;
    if (kz.pending === 0 && kz.finished) { kz.ready = true; }
  }

  kz.packed = function (b64, spec) {
    var group = L.featureGroup();
    group._kzSpec = spec;
    group._kzData = b64;
    var onAdd = group.onAdd, onRemove = group.onRemove;
    group.onAdd = function (map) {
      onAdd.call(this, map);
      if (!this._kzBuilt) { this._kzBuilt = true; buildPacked(this, map); }
      if (this._kzDetail) { map.on('zoomend', this._kzZoom, this); this._kzZoom(); }
    };
    group.onRemove = function (map) {
      map.off('zoomend', this._kzZoom, this);
      onRemove.call(this, map);
    };
    group._kzZoom = function () { clusterUpdate(group); };
    kz.overlays.push(group);
    return group;
  };

  function buildPacked(group, map) {
    var spec = group._kzSpec;
    kz.pending++;
    inflate(group._kzData).then(function (data) {
      group._kzData = null;
      var layer = kz.overlay(data, spec, true);
      if (kz.gcjOn) { shiftLayer(layer, true); }
      group._kzDetail = layer;
      if (spec.cluster) {
        group._kzCells = {};
        if (group._map) { group._map.on('zoomend', group._kzZoom, group); clusterUpdate(group); }
      } else {
        // features marked _z (minor roads) only from that zoom on
        var minor = [];
        layer.eachLayer(function (l) { if (l.feature.properties._z) { minor.push(l); } });
        if (minor.length) {
          minor.forEach(function (l) { layer.removeLayer(l); });
          group._kzMinor = L.featureGroup(minor);
          group._kzMinorZoom = minor[0].feature.properties._z;
          group._kzZoom = function () { minorUpdate(group); };
          if (group._map) { group._map.on('zoomend', group._kzZoom, group); minorUpdate(group); }
        }
        group.addLayer(layer);
      }
      if (group._map) { reorder(group._map); }
    }).catch(function (e) {
      if (global.console) { global.console.error('kzgis: layer ' + spec.key + ' could not be decoded: ' + e); }
    }).then(settle);
  }

  function minorUpdate(group) {
    var map = group._map;
    if (!map || !group._kzMinor) { return; }
    var on = map.getZoom() >= group._kzMinorZoom;
    if (on && !group.hasLayer(group._kzMinor)) {
      if (kz.gcjOn) { shiftLayer(group._kzMinor, true); }
      group.addLayer(group._kzMinor);
      reorder(map);
    } else if (!on && group.hasLayer(group._kzMinor)) {
      group.removeLayer(group._kzMinor);
    }
  }

  function clusterUpdate(group) {
    var map = group._map, detail = group._kzDetail, spec = group._kzSpec;
    if (!map || !detail || !spec.cluster) { return; }
    var z = map.getZoom(), cfg = spec.cluster;
    var show = z >= cfg.detailZoom ? detail : clusters(group, Math.round(z * 4) / 4);
    if (group._kzShown === show) { return; }
    if (group._kzShown) { group.removeLayer(group._kzShown); }
    group.addLayer(show);
    group._kzShown = show;
    reorder(map);
  }

  /* One circle per screen cell of cfg.cellPx at zoom z (cached per zoom; a lone point is itself). */
  function clusters(group, z) {
    var key = z + (kz.gcjOn ? 'g' : '');
    if (group._kzCells[key]) { return group._kzCells[key]; }
    var map = group._map, spec = group._kzSpec, cfg = spec.cluster, cells = {}, order = [];
    group._kzDetail.eachLayer(function (l) {
      var ll = l.getLatLng(), p = map.project(ll, z);
      var k = Math.floor(p.x / cfg.cellPx) + ':' + Math.floor(p.y / cfg.cellPx);
      var c = cells[k];
      if (!c) { c = cells[k] = {n: 0, lat: 0, lng: 0, by: {}, one: l}; order.push(k); }
      c.n++; c.lat += ll.lat; c.lng += ll.lng;
      var s = l.feature.properties._s;
      c.by[s] = (c.by[s] || 0) + 1;
    });
    var out = L.layerGroup();
    order.forEach(function (k) {
      var c = cells[k];
      if (c.n === 1) { out.addLayer(c.one); return; }
      var best = null, parts = [];
      Object.keys(c.by).sort(function (a, b) { return c.by[b] - c.by[a]; }).forEach(function (s) {
        if (best === null) { best = s; }
        parts.push((cfg.labels[s] || '') + ' ' + c.by[s]);
      });
      var st = spec.styles[best] || spec.styles[0] || {};
      var colour = st.fillColor || st.color || '#555555';
      var ll = L.latLng(c.lat / c.n, c.lng / c.n);
      var m = L.circleMarker(ll, {renderer: renderer(), radius: Math.min(4 + 2 * Math.log(c.n) / Math.LN2, 16),
        color: '#ffffff', weight: 1.2, fillColor: colour, fillOpacity: 0.75});
      m.bindTooltip(spec.name + ' ' + c.n + ' 个：' + parts.join('，') + '（点击放大）',
                    {direction: 'top', className: 'kz-tip', sticky: true});
      m.on('click', function () { map.setView(ll, Math.min(z + 2, cfg.detailZoom)); });
      out.addLayer(m);
    });
    group._kzCells[key] = out;
    return out;
  }

  /* Text labels (township names...), never interactive. */
  kz.labels = function (data, spec) {
    var layer = L.geoJSON(data, {
      pointToLayer: function (f, ll) {
        return L.marker(ll, {
          icon: L.divIcon({className: 'kz-label ' + (spec.css || ''), html: '<span>' + f.properties._l + '</span>',
                           iconSize: [0, 0]}),
          interactive: false, keyboard: false, pane: 'kzLabels'
        });
      }
    });
    layer.beforeAdd = labelPane;
    layer._kzSpec = spec;
    kz.overlays.push(layer);
    return layer;
  };

  function labelPane(map) {
    if (!map.getPane('kzLabels')) {
      var pane = map.createPane('kzLabels');
      pane.style.zIndex = 580;
      pane.style.pointerEvents = 'none';
    }
  }

  /* Other layers (the hillshade image) that must follow the GCJ-02 switch. */
  kz.register = function (layer, spec) {
    layer._kzSpec = spec;
    kz.overlays.push(layer);
    return layer;
  };

  // ---------------------------------------------------------------------------- GCJ-02
  kz.gcjDelta = function (lat, lng) {
    var g = kz.gcjGrid;
    if (!g) { return [0, 0]; }
    var fx = Math.min(Math.max((lng - g.lon0) / g.step, 0), g.nx - 1.000001);
    var fy = Math.min(Math.max((lat - g.lat0) / g.step, 0), g.ny - 1.000001);
    var ix = Math.floor(fx), iy = Math.floor(fy), tx = fx - ix, ty = fy - iy;
    var i00 = iy * g.nx + ix, i10 = i00 + 1, i01 = i00 + g.nx, i11 = i01 + 1;
    function bil(d) {
      return d[i00] * (1 - tx) * (1 - ty) + d[i10] * tx * (1 - ty) + d[i01] * (1 - tx) * ty + d[i11] * tx * ty;
    }
    return [bil(g.dlon), bil(g.dlat)];
  };

  kz.toGcj = function (ll) {
    var d = kz.gcjDelta(ll.lat, ll.lng);
    return L.latLng(ll.lat + d[1], ll.lng + d[0]);
  };

  kz.fromGcj = function (ll) {  // inverse by fixed-point iteration (the offset varies slowly)
    var w = L.latLng(ll.lat, ll.lng);
    for (var i = 0; i < 4; i++) {
      var d = kz.gcjDelta(w.lat, w.lng);
      w = L.latLng(ll.lat - d[1], ll.lng - d[0]);
    }
    return w;
  };

  function mapLatLngs(a) {
    if (Array.isArray(a)) { return a.map(mapLatLngs); }
    return kz.toGcj(a);
  }

  function shiftLayer(l, on) {
    if (l instanceof L.LayerGroup) {
      l.eachLayer(function (c) { shiftLayer(c, on); });
      return;
    }
    if (l instanceof L.ImageOverlay) {
      if (!l._kzOrig) { l._kzOrig = l.getBounds(); }
      var b = l._kzOrig;
      l.setBounds(on ? L.latLngBounds(kz.toGcj(b.getSouthWest()), kz.toGcj(b.getNorthEast())) : b);
      return;
    }
    if (l.getLatLngs) {
      if (!l._kzOrig) { l._kzOrig = l.getLatLngs(); }
      l.setLatLngs(on ? mapLatLngs(l._kzOrig) : l._kzOrig);
      return;
    }
    if (l.getLatLng) {
      if (!l._kzOrig) { l._kzOrig = l.getLatLng(); }
      l.setLatLng(on ? kz.toGcj(l._kzOrig) : l._kzOrig);
    }
  }

  kz.setGcj = function (on) {
    on = !!on;
    if (on === kz.gcjOn) { return; }
    kz.gcjOn = on;
    kz.overlays.forEach(function (o) {
      shiftLayer(o, on);
      if (o._kzMinor) { shiftLayer(o._kzMinor, on); }
      if (o._kzDetail) {  // a dense layer: its points too, and the aggregates made again
        shiftLayer(o._kzDetail, on);
        if (o._kzCells) {
          if (o._kzShown) { o.removeLayer(o._kzShown); }
          o._kzShown = null;
          o._kzCells = {};
          clusterUpdate(o);
        }
      }
    });
    var badge = document.getElementById('kz-gcj-badge');
    if (badge) { badge.style.display = on ? 'block' : 'none'; }
  };

  // ---------------------------------------------------------------------------- order, legend
  function reorder(map) {
    var shown = kz.overlays.filter(function (o) { return map.hasLayer(o) && o.bringToFront && o._kzSpec; });
    shown.sort(function (a, b) { return a._kzSpec.order - b._kzSpec.order; });
    shown.forEach(function (o) { o.bringToFront(); });
  }

  function syncLegend(map) {
    var box = document.getElementById('kz-legend');
    if (!box) { return; }
    var on = {};
    kz.overlays.forEach(function (o) { if (o._kzSpec && map.hasLayer(o)) { on[o._kzSpec.key] = true; } });
    var secs = box.querySelectorAll('[data-kz-layer]');
    var any = false;
    for (var i = 0; i < secs.length; i++) {
      var vis = !!on[secs[i].getAttribute('data-kz-layer')];
      secs[i].style.display = vis ? '' : 'none';
      any = any || vis;
    }
    var empty = box.querySelector('.kz-legend-empty');
    if (empty) { empty.style.display = any ? 'none' : ''; }
  }

  function groupHeaders(ctrl, groups) {
    var list = ctrl._overlaysList;
    if (!list) { return; }
    var labels = list.children, last = null, items = [];
    for (var i = 0; i < labels.length; i++) { items.push(labels[i]); }
    var overlays = ctrl._layers.filter(function (x) { return x.overlay; });
    items.forEach(function (el, i) {
      var o = overlays[i];
      var g = o && o.layer._kzSpec ? o.layer._kzSpec.group : null;
      if (g && g !== last && groups[g]) {
        var h = document.createElement('div');
        h.className = 'kz-lc-group';
        h.textContent = groups[g];
        list.insertBefore(h, el);
      }
      last = g;
    });
  }

  /* Transverse Mercator (Gauss-Kruger) forward, Snyder's series; mm-level within a 3-degree zone. */
  kz.gk = function (lat, lng, p) {
    var a = p.a, f = p.f, e2 = f * (2 - f), ep2 = e2 / (1 - e2);
    var e4 = e2 * e2, e6 = e4 * e2;
    var phi = lat * Math.PI / 180, dl = (lng - p.lon0) * Math.PI / 180;
    var s = Math.sin(phi), c = Math.cos(phi), t = Math.tan(phi);
    var N = a / Math.sqrt(1 - e2 * s * s), T = t * t, C = ep2 * c * c, A = dl * c;
    var M = a * ((1 - e2 / 4 - 3 * e4 / 64 - 5 * e6 / 256) * phi
      - (3 * e2 / 8 + 3 * e4 / 32 + 45 * e6 / 1024) * Math.sin(2 * phi)
      + (15 * e4 / 256 + 45 * e6 / 1024) * Math.sin(4 * phi) - (35 * e6 / 3072) * Math.sin(6 * phi));
    var x = p.k0 * N * (A + (1 - T + C) * Math.pow(A, 3) / 6
      + (5 - 18 * T + T * T + 72 * C - 58 * ep2) * Math.pow(A, 5) / 120);
    var y = p.k0 * (M + N * t * (A * A / 2 + (5 - T + 9 * C + 4 * C * C) * Math.pow(A, 4) / 24
      + (61 - 58 * T + T * T + 600 * C - 330 * ep2) * Math.pow(A, 6) / 720));
    return [x + p.x0, y + p.y0];  // [easting, northing]
  };

  function lonlatText(ll) {
    var lat = ll.lat, lng = ll.lng;
    return '经度 ' + Math.abs(lng).toFixed(5) + '°' + (lng >= 0 ? 'E' : 'W') +
      '　纬度 ' + Math.abs(lat).toFixed(5) + '°' + (lat >= 0 ? 'N' : 'S');
  }

  /* Fit the bounds into the part of the map the title, legend and layer control leave free. */
  function fit(map, bounds, ctrl) {
    var size = map.getSize();
    var title = document.getElementById('kz-title');
    var legend = document.getElementById('kz-legend');
    var top = title ? title.offsetTop + title.offsetHeight + 10 : 10;
    var left = legend && !legend.classList.contains('kz-collapsed') ? legend.offsetWidth + 20 : 10;
    var right = ctrl ? ctrl.getContainer().offsetWidth + 20 : 10;
    map.fitBounds(bounds, {
      paddingTopLeft: [Math.min(left, size.x * 0.3), Math.min(top, size.y * 0.3)],
      paddingBottomRight: [Math.min(right, size.x * 0.3), 30]
    });
  }

  /* Everything that needs the map, the layer control and the config; called once at the end. */
  kz.finish = function (map, ctrl, cfg) {
    kz.map = map;
    kz.control = ctrl;
    kz.cfg = cfg;
    kz.gcjGrid = cfg.gcj || null;
    labelPane(map);
    map.attributionControl && map.attributionControl.setPrefix('Leaflet');

    // title block and the GCJ badge live in the map container, outside Leaflet's panes
    var container = map.getContainer();
    ['kz-title'].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) {
        container.appendChild(el);
        L.DomEvent.disableClickPropagation(el);
        L.DomEvent.disableScrollPropagation(el);
      }
    });

    // bottom-left, from the corner upwards: review number, scale bar, mouse position
    var Review = L.Control.extend({
      options: {position: 'bottomleft'},
      onAdd: function () {
        var d = L.DomUtil.create('div', 'kz-review');
        d.id = 'kz-review';
        d.textContent = cfg.review;
        return d;
      }
    });
    new Review().addTo(map);
    L.control.scale({imperial: false, maxWidth: 160, position: 'bottomleft'}).addTo(map);
    var Mouse = L.Control.extend({
      options: {position: 'bottomleft'},
      onAdd: function (m) {
        var d = L.DomUtil.create('div', 'kz-mouse');
        d.id = 'kz-mouse';
        d.textContent = 'CGCS2000 / WGS84 坐标';
        m.on('mousemove', function (e) {
          var ll = kz.gcjOn ? kz.fromGcj(e.latlng) : e.latlng;
          var txt = lonlatText(ll) + '（CGCS2000）';
          if (cfg.gk) {
            var en = kz.gk(ll.lat, ll.lng, cfg.gk);
            txt += '　X ' + en[1].toFixed(1) + '　Y ' + en[0].toFixed(1) + '（' + cfg.gk.name + '）';
          }
          d.textContent = txt;
        });
        return d;
      }
    });
    new Mouse().addTo(map);

    // legend: a Leaflet control wrapping the prepared HTML element #kz-legend
    var legendEl = document.getElementById('kz-legend');
    if (legendEl) {
      var Legend = L.Control.extend({
        options: {position: 'topleft'},
        onAdd: function () { return legendEl; }
      });
      new Legend().addTo(map);
      L.DomEvent.disableClickPropagation(legendEl);
      L.DomEvent.disableScrollPropagation(legendEl);
      var head = legendEl.querySelector('.kz-legend-h');
      if (head) {
        head.addEventListener('click', function () { legendEl.classList.toggle('kz-collapsed'); });
      }
    }

    if (ctrl) {
      var upd = ctrl._update;
      ctrl._update = function () {
        var r = upd.apply(this, arguments);
        groupHeaders(this, cfg.groups || {});
        return r;
      };
      groupHeaders(ctrl, cfg.groups || {});
    }

    map.on('overlayadd overlayremove', function () { reorder(map); syncLegend(map); });
    map.on('baselayerchange', function (e) {
      kz.setGcj((cfg.gcjBases || []).indexOf(e.name) >= 0);
    });
    if (cfg.startGcj) { kz.setGcj(true); }
    reorder(map);
    syncLegend(map);
    if (cfg.bounds) { fit(map, cfg.bounds, ctrl); }
    kz.finished = true;
    kz.ready = kz.pending === 0;  // else when the dense layers shown have been decoded
  };
})(window);
