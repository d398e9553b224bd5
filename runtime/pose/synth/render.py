"""Raster primitives on a canvas that remembers who drew each pixel last.

A `Canvas` holds an RGB float image (0..255) and an owner map: every primitive gets a
new id (its draw order) and the pixels it covers take that id, so "what is on top at
this pixel" is one array lookup. `tags[id]` says what drew it: `(figure, part)` for a
body part, `(-1, 0)` for background clutter, `(-2, 0)` for an occluding object.

Pixel (row i, column j) is the point (x=j, y=i). Edges are antialiased over one pixel;
a pixel belongs to a primitive when the primitive covers at least half of it. Shading
is Lambertian with a light from the upper left: capsules and heads shade as a sphere-swept
surface, polygons as a vertical cylinder, so every part has a gradient across it.
"""

from __future__ import annotations

import numpy as np

LIGHT = np.array([-0.45, 0.55, 0.70]) / np.linalg.norm([-0.45, 0.55, 0.70])  # x, y up, z
AMBIENT, DIFFUSE = 0.45, 0.65
BACKGROUND, CLUTTER, OCCLUDER = (-1, 0), (-1, 0), (-2, 0)


class Canvas:
    def __init__(self, height: int, width: int, image: np.ndarray | None = None) -> None:
        self.h, self.w = height, width
        self.image = image if image is not None else np.zeros((height, width, 3), np.float32)
        self.owner = np.zeros((height, width), np.int32)
        self.tags: list[tuple[int, int]] = [BACKGROUND]

    def _box(self, x0: float, y0: float, x1: float, y1: float):
        """Integer pixel window covering [x0, x1] x [y0, y1], clipped; None if empty."""
        j0, j1 = max(int(np.floor(x0)), 0), min(int(np.ceil(x1)) + 1, self.w)
        i0, i1 = max(int(np.floor(y0)), 0), min(int(np.ceil(y1)) + 1, self.h)
        if j0 >= j1 or i0 >= i1:
            return None
        xs = np.arange(j0, j1, dtype=np.float32)[None, :]
        ys = np.arange(i0, i1, dtype=np.float32)[:, None]
        return (slice(i0, i1), slice(j0, j1)), xs, ys

    def _paint(self, win, alpha: np.ndarray, colour: np.ndarray, tag) -> int:
        """Blend `colour` (HxWx3 or 3) into the window with `alpha`; claim covered pixels."""
        ident = len(self.tags)
        if tag is not None:
            self.tags.append(tag)
            own = self.owner[win]
            own[alpha >= 0.5] = ident
        a = alpha[..., None]
        region = self.image[win]
        region *= 1.0 - a
        region += a * colour
        return ident

    def capsule(self, a, b, r: float, colour, tag=CLUTTER, shade: bool = True) -> int:
        """A segment a-b swept by a disc of radius r (pixels), shaded as a rounded tube."""
        r = max(float(r), 0.8)
        (ax, ay), (bx, by) = a, b
        got = self._box(
            min(ax, bx) - r - 1, min(ay, by) - r - 1, max(ax, bx) + r + 1, max(ay, by) + r + 1
        )
        if got is None:
            return -1
        win, xs, ys = got
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        px, py = xs - ax, ys - ay
        t = np.clip((px * dx + py * dy) / length2, 0.0, 1.0) if length2 > 1e-9 else 0.0
        cx, cy = px - t * dx, py - t * dy
        dist = np.sqrt(cx * cx + cy * cy)
        alpha = np.clip(r + 0.5 - dist, 0.0, 1.0)
        return self._paint(win, alpha, _shaded(colour, cx / r, cy / r, shade), tag)

    def ellipse(
        self, centre, rx: float, ry: float, angle: float, colour, tag=CLUTTER, shade: bool = True
    ) -> int:
        """An ellipse with half-axes rx, ry, its ry axis turned `angle` radians from up."""
        rx, ry = max(rx, 0.8), max(ry, 0.8)
        win, u, v = self._ellipse_coords(centre, rx, ry, angle)
        if win is None:
            return -1
        alpha, nx, ny = _ellipse_alpha(u, v, min(rx, ry), angle)
        return self._paint(win, alpha, _shaded(colour, nx, ny, shade), tag)

    def _ellipse_coords(self, centre, rx, ry, angle):
        reach = max(rx, ry) + 1
        got = self._box(centre[0] - reach, centre[1] - reach, centre[0] + reach, centre[1] + reach)
        if got is None:
            return None, None, None
        win, xs, ys = got
        c, s = np.cos(angle), np.sin(angle)
        px, py = xs - centre[0], ys - centre[1]
        # u along the ellipse's x axis, v along its "up" axis (image y grows down).
        u = (px * c + py * s) / rx
        v = (px * s - py * c) / ry
        return win, u, v

    def polygon(
        self, points: np.ndarray, colour, tag=CLUTTER, axis=None, stripes: tuple | None = None
    ) -> int:
        """A convex polygon (any vertex order), shaded as a cylinder along `axis`."""
        hull = convex_hull(np.asarray(points, np.float64))
        got = self._box(*hull.min(0) - 1, *hull.max(0) + 1)
        if got is None or len(hull) < 3:
            return -1
        win, xs, ys = got
        inside = np.full(np.broadcast_shapes(xs.shape, ys.shape), np.inf, np.float32)
        for p, q in zip(hull, np.roll(hull, -1, axis=0), strict=True):
            ex, ey = q - p
            norm = np.hypot(ex, ey) or 1.0
            # positive orientation: the inside is where cross(edge, pixel - p) > 0
            np.minimum(inside, ((xs - p[0]) * -ey + (ys - p[1]) * ex) / norm, out=inside)
        alpha = np.clip(inside + 0.5, 0.0, 1.0)
        centre = hull.mean(0)
        ax_dir = np.array([0.0, -1.0]) if axis is None else np.asarray(axis, float)
        ax_dir = ax_dir / (np.linalg.norm(ax_dir) or 1.0)
        perp = np.array([-ax_dir[1], ax_dir[0]])
        across = (xs - centre[0]) * perp[0] + (ys - centre[1]) * perp[1]
        half = max(float(np.abs((hull - centre) @ perp).max()), 1.0)
        t = np.clip(across / half, -0.98, 0.98)
        colour = np.asarray(colour, np.float32)
        if stripes is not None:
            period, second = stripes
            along = (xs - centre[0]) * ax_dir[0] + (ys - centre[1]) * ax_dir[1]
            band = (np.sin(along * (2 * np.pi / period)) > 0)[..., None]
            colour = np.where(band, colour, np.asarray(second, np.float32))
        return self._paint(win, alpha, _shaded(colour, t * perp[0], t * perp[1], True), tag)


def _ellipse_alpha(u, v, r_min, angle):
    rho = np.sqrt(u * u + v * v)
    alpha = np.clip((1.0 - rho) * r_min + 0.5, 0.0, 1.0)
    c, s = np.cos(angle), np.sin(angle)
    k = np.minimum(rho, 0.98) / np.maximum(rho, 1e-6)
    # back from ellipse axes to image axes: u -> (c, s), v (up) -> (s, -c)
    nx = (u * c + v * s) * k
    ny = (u * s - v * c) * k
    return alpha, nx, ny


def _shaded(colour, nx, ny, shade: bool):
    """Colour times Lambert shading for image-plane normal (nx, ny); y grows down."""
    colour = np.asarray(colour, np.float32)
    if not shade:
        return colour
    nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0))
    lam = np.maximum(nx * LIGHT[0] - ny * LIGHT[1] + nz * LIGHT[2], 0.0)
    factor = (AMBIENT + DIFFUSE * lam).astype(np.float32)
    return colour * factor[..., None]


def head_shading(
    canvas: Canvas, centre, r: float, angle: float, frame: np.ndarray, skin, hair, tag
) -> int:
    """A head: an ellipse whose front (seen through `frame`) is skin and back is hair.

    `frame` has the head's (left, up, forward) axes as columns in world axes; the face
    region is where the surface normal points forward and not too far up.
    """
    win, u, v = canvas._ellipse_coords(centre, r, 1.2 * r, angle)
    if win is None:
        return -1
    alpha, nx, ny = _ellipse_alpha(u, v, r, angle)
    nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0))
    normal = np.stack([nx, -ny, nz], -1)  # world axes: y up
    local = normal @ frame  # components along left, up, forward
    face = (local[..., 2] > -0.1) & (local[..., 1] < 0.45)
    colour = np.where(face[..., None], np.asarray(skin, np.float32), np.asarray(hair, np.float32))
    return canvas._paint(win, alpha, _shaded(colour, nx, ny, True), tag)


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Monotone-chain convex hull with positive orientation (cross products > 0)."""
    pts = sorted({(float(x), float(y)) for x, y in points})
    if len(pts) < 3:
        return np.array(pts, np.float64).reshape(-1, 2)

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list = []
    upper: list = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1], np.float64)
