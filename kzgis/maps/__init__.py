"""Interactive HTML maps that planners attach to town plans.

::

    from kzgis.maps import MapOptions, write_maps
    opts = MapOptions.from_mapping(recipe["outputs"]["maps"])   # True / False / a mapping
    paths = write_maps(layers, results, out_dir, opts, title="开州区", towns=None)  # index.html first

What is written
    ``index.html`` linking ``county.html`` (the whole district) and one ``town_<name>.html`` per
    township (every layer clipped to the township plus ``margin_m``; outside faded). Every result
    layer is a toggleable overlay styled by meaning (:mod:`kzgis.maps.styles`), with a Chinese
    legend, tooltips and popups (values HTML-escaped), a scale bar, full screen, measuring, mouse
    coordinates, a title block (sources, date, 示意数据 notice) and the 审图号 bottom-left.

Dense layers (a real county's ~100,000 road edges and ~5,500 settlements)
    On the county map a layer of more than 2,500 features is generalised (roads one line per class,
    village roads from zoom 12; points aggregated on a screen grid below zoom 13), compressed
    (gzip + base64, decoded in the page) and built only when first shown; see
    :mod:`kzgis.maps._dense`. Township maps keep every feature.

Offline (the default)
    One self-contained file: Leaflet 1.9.4, Leaflet.fullscreen and leaflet-measure are vendored in
    ``kzgis/maps/assets`` (licences and origin in its README) and inlined, their CSS images as
    ``data:`` URIs. No tiles: a tinted DEM hillshade (warped to Web Mercator, PNG base64), township
    boundaries and names carry the map.

Basemaps (``offline: false``)
    天地图 vector/imagery (+ labels; key from ``tianditu_key`` or ``TIANDITU_KEY``; CGCS2000 is used
    as WGS84, no shift), 高德 map/imagery (GCJ-02) and OpenStreetMap in one switcher. The data stay
    in CGCS2000 in the file; when a GCJ-02 basemap is chosen the page moves every overlay (and the
    hillshade) onto GCJ-02, interpolating an offset grid computed with :mod:`kzgis.gcj02` (within
    ~0.3 m of the exact formula), and moves it back for the other basemaps. One file serves every
    basemap and the coordinates shown under the mouse stay CGCS2000.
"""

from ._build import write_maps
from ._options import MapOptions

__all__ = ["MapOptions", "write_maps"]
