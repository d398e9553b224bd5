"""Synthetic COCO-format pose data: rendered articulated figures with the 17 COCO keypoints.

Modules, from the body outwards:

- `figure`: proportions, joint-angle limits, poses and 3D forward kinematics;
- `render`: a canvas with an owner map and shaded primitives (capsules, ellipses, polygons);
- `body`: clothes, projection to pixels and drawing a figure back to front;
- `labels`: keypoints with visibility flags, box and area of a drawn figure;
- `scene`: backgrounds, clutter, placement, occluders and camera noise of a whole image;
- `video`: smooth motion of the figures over a short sequence;
- `writer`: JPEGs and COCO JSON on disk, rendered by a process pool.

`archc data synth` (archc/cli/data.py) is the command line; docs/data.md the manual.
Needs numpy and pillow only.
"""

from archc.runtime.pose.synth.labels import Person
from archc.runtime.pose.synth.scene import SceneSpec, render_scene, sample_scene
from archc.runtime.pose.synth.writer import (
    DEFAULT_SIZE,
    SynthError,
    SynthResult,
    render_sequence,
    render_still,
    synthesize,
)

__all__ = [
    "DEFAULT_SIZE",
    "Person",
    "SceneSpec",
    "SynthError",
    "SynthResult",
    "render_scene",
    "render_sequence",
    "render_still",
    "sample_scene",
    "synthesize",
]
